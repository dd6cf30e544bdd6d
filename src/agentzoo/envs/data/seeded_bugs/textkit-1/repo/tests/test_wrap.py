import pytest

from textkit import shorten, wrap


def test_wrap_breaks_at_spaces():
    assert wrap("the quick brown fox", width=9) == ["the quick", "brown fox"]


def test_wrap_keeps_long_words_whole():
    assert wrap("a extraordinarily b", width=5) == ["a", "extraordinarily", "b"]


def test_wrap_rejects_zero_width():
    with pytest.raises(ValueError):
        wrap("text", width=0)


def test_shorten_adds_placeholder():
    assert shorten("Hello   there world", 10) == "Hello t..."


def test_shorten_leaves_short_text():
    assert shorten("short", 10) == "short"
