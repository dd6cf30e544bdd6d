"""agentzoo.replies: the edge cases of reading model replies, one table per reader."""

import pytest

from agentzoo import replies
from agentzoo.errors import FormatError
from agentzoo.replies import ANY, PYTHON, CodeBlock

F = "```"


# --- code_blocks: (label, code, closed) of every block -------------------------------------


@pytest.mark.parametrize("text,blocks", [
    (f"{F}python\nx = 1\n{F}", [("python", "x = 1\n", True)]),
    (f"{F}py\nx = 1\n{F}", [("py", "x = 1\n", True)]),
    (f"{F}Python3 title=a.py\nx = 1\n{F}", [("python3", "x = 1\n", True)]),        # label: first word, lower case
    (f"{F}\nx = 1\n{F}", [("", "x = 1\n", True)]),                                 # no label
    (f"{F} python \nx = 1\n{F}  ", [("python", "x = 1\n", True)]),                  # spaces around label and fence
    (f"cut off:\n{F}python\ndef f():\n    return 5\n", [("python", "def f():\n    return 5\n", False)]),
    (f"{F}python\nprint(1)", [("python", "print(1)", False)]),                      # cut off mid-line
    (f"{F}python\nprint(1){F}\nafter", [("python", "print(1)\n", True)]),           # the fence ends a code line
    (f"{F}python\r\nz = 4\r\n{F}\r\n", [("python", "z = 4\n", True)]),              # CRLF
    ("~~~python\nx = '```'\n~~~", [("python", "x = '```'\n", True)]),               # tildes; backticks inside
    (f"````md\n{F}python\nx\n{F}\n````", [("md", f"{F}python\nx\n{F}\n", True)]),    # a longer fence nests a shorter
    (f"1. step\n   {F}python\n   def f():\n       return 1\n   {F}",
     [("python", "def f():\n    return 1\n", True)]),                              # an indented fence: indent removed
    (f"  {F}python\ndef f():\n    return 1\n  {F}",
     [("python", "def f():\n    return 1\n", True)]),                              # ... unless a line lacks it
    (f"{F}python\n{F}", [("python", "", True)]),                                   # empty block
    (f"{F}\n\n{F}", [("", "\n", True)]),
    (f"a {F}python x = 1{F} b", []),                                               # inline code is no block
    (f"{F}python{F}", []),                                                         # a label cannot hold a backtick
    (f"{F}a\n1\n{F}\ntext\n{F}b\n2\n{F}\n{F}\n3\n{F}", [("a", "1\n", True), ("b", "2\n", True), ("", "3\n", True)]),
    ("no code at all", []),
    ("", []),
])
def test_code_blocks(text, blocks):
    assert [(b.language, b.code, b.closed) for b in replies.code_blocks(text)] == blocks


def test_code_blocks_give_their_place_and_filter_by_label():
    text = f"a\n{F}py\n1\n{F}\nb\n{F}js\n2\n{F}\n"
    first, second = replies.code_blocks(text)
    assert first == CodeBlock("py", "1\n", True, 2, 14) and text[first.start:first.end] == f"{F}py\n1\n{F}\n"
    assert text[second.start:second.end] == f"{F}js\n2\n{F}\n"
    assert replies.code_blocks(text, PYTHON) == [first] and replies.code_blocks(text, ["JS"]) == [second]
    assert replies.code_blocks(None) == []


@pytest.mark.parametrize("text,prefer,last,code", [
    (f"{F}python\nx = 1\n{F}\nor:\n{F}python\nx = 2\n{F}", (PYTHON,), True, "x = 2\n"),
    (f"{F}python\nx = 1\n{F}\nor:\n{F}python\nx = 2\n{F}", (PYTHON,), False, "x = 1\n"),
    (f"{F}text\nnot code\n{F}\n{F}\ny = 3\n{F}", (PYTHON, ("",)), True, "y = 3\n"),  # python, else unlabelled
    (f"{F}\ny = 3\n{F}\n{F}py\nz\n{F}", (PYTHON, ("",)), True, "z\n"),               # the group's order, not the text's
    (f"{F}text\nnot code\n{F}", (PYTHON, ("",)), True, None),
    (f"{F}text\nnot code\n{F}", (PYTHON, ("",), (ANY,)), True, "not code\n"),
    ("def f(): return 6", (PYTHON,), True, None),
])
def test_find_code(text, prefer, last, code):
    assert replies.find_code(text, prefer, last=last) == code


@pytest.mark.parametrize("text,out", [
    (f"{F}json\n{{\"a\": 1}}\n{F}", '{"a": 1}\n'),
    (f"  \n{F}\nx\n{F} not a fence\n", f"x\n{F} not a fence\n"),  # unclosed: text after a fence is no fence
    (f"  \n{F}\nx\n{F}\nprose", "x\n"),
    ('{"a": 1}', '{"a": 1}'),                                   # not fenced: as it is
    (f"see {F}x{F}", f"see {F}x{F}"),
])
def test_unfence(text, out):
    assert replies.unfence(text) == out


def test_regex_blocks_read_a_reply_as_a_plain_pattern_does():
    # As `re.findall(r"```python\n(.*?)\n```", text, re.S)` does: the label must be exact, the
    # fence may sit mid-line, and the next fence closes the block, whatever follows it.
    text = f"{F}python\na\n{F}\n{F}py\nb\n{F}\n{F}\nc\n{F}python\nd"
    assert replies.regex_blocks(text, "python") == ["a"]
    assert replies.regex_blocks(text) == [f"{F}py\nb", "c"]  # a closing fence read as an opening one
    assert [b.code for b in replies.code_blocks(text)] == ["a\n", "b\n", f"c\n{F}python\nd"]  # as Markdown does
    assert replies.regex_blocks(f"see {F}python\na\n{F}", "python") == ["a"]  # a fence mid-line counts
    assert replies.regex_blocks(f"{F}python x = 1{F}", "python", newlines=False) == [" x = 1"]


# --- JSON ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,value", [
    ('{"a": 1}', {"a": 1}),
    ('  {"a": 1}\n', {"a": 1}),
    (f'Here it is:\n{F}json\n{{"a": 1}}\n{F}\nDone.', {"a": 1}),                # in a fence, prose around
    (f'{F}\n{{"a": 1}}\n{F}', {"a": 1}),                                       # an unlabelled fence
    ('Sure: {"role": "Chef", "d": "cooks"} -- hope that helps', {"role": "Chef", "d": "cooks"}),  # prose around
    ('{"a": {"b": [1, {"c": 2}]}} and then {"x": 1}', {"a": {"b": [1, {"c": 2}]}}),  # nested; the first one
    ('x {"s": "a } b { c", "t": "\\"}"} y', {"s": "a } b { c", "t": '"}'}),     # braces and quotes in strings
    ('{"a": 1}\r\n', {"a": 1}),                                               # CRLF
    ('Use {braces} like {this}, then {"ok": true}', {"ok": True}),            # brace-y prose before the object
    ('[1, 2] then {"a": 1}', {"a": 1}),                                       # a list first: skipped
])
def test_json_object(text, value):
    assert replies.json_object(text) == value


@pytest.mark.parametrize("text,problem", [
    ("Sure! The team should go on.", "the reply holds no JSON object"),
    ("", "the reply holds no JSON object"),
    ('{"a": 1,}', "the JSON is not valid: Expecting property name enclosed in double quotes"),
    ('{"a": NaN}', "the JSON is not valid: NaN is not JSON"),
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"a": 1', "the JSON is not valid: Expecting ',' delimiter"),          # cut off
])
def test_json_object_errors_say_what_was_wrong(text, problem):
    with pytest.raises(FormatError) as caught:
        replies.json_object(text)
    assert str(caught.value).startswith(problem) and caught.value.message_for_model == str(caught.value)


def test_json_object_outside_prose_takes_the_whole_reply_or_a_fence_only():
    assert replies.json_object(f'ok\n{F}json\n{{"a": 1}}\n{F}', in_prose=False) == {"a": 1}
    with pytest.raises(FormatError, match="no JSON object"):
        replies.json_object('Sure: {"a": 1}', in_prose=False)


@pytest.mark.parametrize("text,value", [
    ('{"tool": "add", "args": [1, 2]}', {"tool": "add", "args": [1, 2]}),
    (f' {F}json\n[1, 2]\n{F} ', [1, 2]),
    ("3", 3),
])
def test_json_value(text, value):
    assert replies.json_value(text) == value


@pytest.mark.parametrize("text", ["{tool: add}", '{"a": NaN}', "", f"{F}{{}}{F}", '{"a": 1} extra'])
def test_json_value_is_strict(text):
    with pytest.raises(FormatError, match=r"^not valid JSON \(.+\)$"):
        replies.json_value(text)


# --- diffs ---------------------------------------------------------------------------------

DIFF = "--- a/x.py\n+++ b/x.py\n@@ -1 +1 @@\n-a\n+b\n"


@pytest.mark.parametrize("text,diff", [
    (f"Here:\n{F}diff\n{DIFF}{F}\nDone.", DIFF),
    (f"{F}patch\n{DIFF}{F}", DIFF),
    (f"{F}\nintro\n{DIFF}{F}", DIFF),                                  # a block holding a diff, from its start
    (f"{F}python\nprint(1)\n{F}\nand the fix:\ndiff --git a/x.py b/x.py\n{DIFF}", f"diff --git a/x.py b/x.py\n{DIFF}"),
    (f"{F}diff\r\n{DIFF.replace(chr(10), chr(13) + chr(10))}{F}", DIFF),  # CRLF
    (f"{F}diff\n{DIFF}", DIFF),                                       # cut off before the closing fence
    ("no diff here\n--- just a rule\n", None),
    (None, None),
])
def test_unified_diff(text, diff):
    assert replies.unified_diff(text) == diff


# --- final answers -------------------------------------------------------------------------


@pytest.mark.parametrize("text,markers,until,answer", [
    ("Thought: easy.\nFinal Answer: 42", replies.ANSWER_MARKERS, "line", "42"),
    ("answer : 7\nmore text", replies.ANSWER_MARKERS, "line", "7"),
    ("The  answer\nis 12.", replies.ANSWER_MARKERS, "line", "12."),            # any white space inside a marker
    ("Answer: 1\nlater... Answer: 2", replies.ANSWER_MARKERS, "line", "2"),    # the last one
    ("Answer: 3\nAnswer:", replies.ANSWER_MARKERS, "line", "3"),               # an empty one is skipped
    ("the answer isn't clear; Answer: 5", replies.ANSWER_MARKERS, "line", "5"),  # not inside a word
    ("so \\boxed{\\frac{1}{2}} ok", replies.ANSWER_MARKERS, "line", "\\frac{1}{2}"),
    ("\\boxed{1} then \\boxed{2", ("\\boxed",), "line", "1"),                  # an unclosed box: the one before
    ("#### 1,000\n", ("####",), "line", "1,000"),
    ("####\n42", ("####",), "line", "42"),                                     # white space after the marker
    ("Final Solution:\nline 1\nline 2\n", ("Final Solution:",), "end", "line 1\nline 2"),
    ("nothing to see", replies.ANSWER_MARKERS, "line", None),
    ("Answer: 9", (), "line", None),
])
def test_final_answer(text, markers, until, answer):
    assert replies.final_answer(text, markers, until=until) == answer
