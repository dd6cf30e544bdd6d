import pytest

from iniparse import ParseError, parse


def test_sections_and_keys():
    text = "name = demo\n[server]\nhost = example.org\nport=8080\n"
    assert parse(text) == {"": {"name": "demo"}, "server": {"host": "example.org", "port": "8080"}}


def test_comments_and_blank_lines_are_skipped():
    text = "# a comment\n\n; another\n[a]\nk = v\n"
    assert parse(text) == {"": {}, "a": {"k": "v"}}


def test_a_repeated_section_is_merged():
    assert parse("[a]\nx = 1\n[b]\n[a]\ny = 2\n")["a"] == {"x": "1", "y": "2"}


def test_garbage_line_is_an_error():
    with pytest.raises(ParseError, match="line 2"):
        parse("[a]\nnot an assignment\n")
