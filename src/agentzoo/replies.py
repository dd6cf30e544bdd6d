"""Reading model replies: fenced code, JSON, diffs and final answers.

Every place that pulls something out of what a model wrote uses these functions, so a reply
is read the same way everywhere and the edge cases are handled (and tested) once:

- `code_blocks(text)`: every fenced block with its label. A fence is three or more backticks or
  tildes at the start of a line (indented or not); the label is the first word after it,
  lower-cased (```` ```Python ```` → `python`; `PYTHON` lists the labels that mean Python). A
  block ends at a fence line of the same character, at least as long; also, because models write
  it, at a line that ends with that fence (```` print(1)``` ````); a reply cut off inside a block
  still gives the block (`closed=False`). CRLF is read as LF. When every line of a block carries
  the opening fence's indentation (a block in a list item), that indentation is removed.
- `find_code(text, prefer)`: the code of the last (or first) block of the first label group that
  has one, e.g. Python, else unlabelled; `unfence(text)`: a text without its surrounding fence.
- `json_object(text)`: the first JSON object in a reply (the whole text, a ```json block, or
  the first balanced `{...}` in prose); `json_value(text)`: a text that must be one JSON value.
  Both are strict JSON (no NaN, no comments) and raise `FormatError` saying what was wrong, in
  words a model can act on (a caller may frame them in its own feedback template).
- `unified_diff(text)`: the diff in a reply (a ```diff block, a block holding one, or bare).
- `final_answer(text, markers)`: the text after the last `Answer:`-like marker, or the content
  of the last `\\boxed{...}`.
- `numbers(text)`, `lone_number(text)`, `final_number(text)`: the numbers of a text, a text that
  is one number, and a reasoning text's final number (`\\boxed{}`, then an answer marker, then
  the last number), each number in one canonical form (`1,234.50` → `1234.5`).
- `json_format(schema)`, `object_schema(**properties)`: the other side, a request's `response_format` asking
  for a JSON object (of a strict schema when given: servers that constrain decoding, as llama.cpp's does, then
  make even a small model write exactly the keys asked for).
- `regex_blocks(text, label)`: blocks as a plain pattern `` ```label\\n(.*?)\\n``` `` finds them,
  for recipes that follow a paper's own parser exactly (Agentless); prefer `code_blocks`.

Nothing here runs, renders or evaluates what it reads.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import orjson

from .errors import FormatError

PYTHON = ("python", "py", "python3")
"""The labels that mean a Python block."""
ANY = "*"
"""In a label group of `find_code`: a block with any label (or none)."""
DIFF = ("diff", "patch", "udiff")
ANSWER_MARKERS = ("Final Answer:", "Answer:", "The answer is", "\\boxed")
"""`final_answer`'s default markers."""

__all__ = ["ANSWER_MARKERS", "ANY", "CodeBlock", "DIFF", "NUMBER_MARKERS", "PYTHON", "canonical_number", "code_blocks",
           "final_answer", "final_number", "find_code", "json_object", "json_value", "lone_number", "numbers",
           "regex_blocks", "unfence", "unified_diff"]


# --- fenced code --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """One fenced block of a reply."""

    language: str
    """The label after the opening fence, lower-cased; "" when there is none."""
    code: str
    """The lines between the fences, each ending in `\\n` as written (the last one of a reply
    cut off inside the block may have none)."""
    closed: bool
    """False when the reply ended before the closing fence."""
    start: int
    """Offset of the opening fence's line in the text."""
    end: int
    """Offset just after the closing fence's line (the end of the text when not closed)."""


_LINE = re.compile(r"[^\n]*\n|[^\n]+\Z")
_OPENING = re.compile(r"([ \t]*)(`{3,}|~{3,})(.*)")


def code_blocks(text: str | None, languages: Iterable[str] | None = None) -> list[CodeBlock]:
    """The fenced blocks of `text` in order; with `languages`, only those with one of these labels
    ("" for unlabelled)."""
    text = text or ""
    wanted = None if languages is None else {label.lower() for label in languages}
    lines = [(m.start(), m.end(), m.group().rstrip("\n").removesuffix("\r"), m.group().endswith("\n"))
             for m in _LINE.finditer(text)]
    blocks: list[CodeBlock] = []
    i = 0
    while i < len(lines):
        opening = _OPENING.fullmatch(lines[i][2])
        # A backtick fence's label cannot hold a backtick (CommonMark): ```x``` is inline code.
        if not opening or (opening[2][0] == "`" and "`" in opening[3]):
            i += 1
            continue
        indent, fence, info = opening.groups()
        body: list[tuple[str, bool]] = []
        closed, j = False, i + 1
        while j < len(lines) and not closed:
            _, _, line, newline = lines[j]
            before = _closing(line, fence)
            if before is None:
                body.append((line, newline))
            else:
                closed = True
                if before.strip():  # the fence ended a line of code
                    body.append((before, True))
            j += 1
        label = info.split()[0].lower() if info.strip() else ""
        if wanted is None or label in wanted:
            end = lines[j - 1][1] if closed else len(text)
            blocks.append(CodeBlock(label, _join(body, indent), closed, lines[i][0], end))
        i = j
    return blocks


def _closing(line: str, fence: str) -> str | None:
    """None if `line` does not close a block opened by `fence`, else the text before the fence."""
    found = re.fullmatch(rf"(.*?){re.escape(fence[0])}{{{len(fence)},}}[ \t]*", line)
    return None if found is None else found[1]


def _join(body: list[tuple[str, bool]], indent: str) -> str:
    if indent and all(line.startswith(indent) for line, _ in body if line.strip()):
        body = [(line[len(indent):] if line.startswith(indent) else line.lstrip(" \t"), nl) for line, nl in body]
    return "".join(line + ("\n" if newline else "") for line, newline in body)


def find_code(text: str | None, prefer: Sequence[Sequence[str]] = (PYTHON, ("",)), *,
              last: bool = True, closed_only: bool = False) -> str | None:
    """The code of the last (`last=False`: first) block of the first group in `prefer` that has
    blocks; None if none has. A group is a tuple of labels ("" unlabelled, `ANY` any).
    `closed_only`: a block the reply was cut off in does not count (where a part is worse than none)."""
    blocks = [b for b in code_blocks(text) if b.closed or not closed_only]
    for group in prefer:
        labels = {label.lower() for label in group}
        chosen = [b for b in blocks if ANY in labels or b.language in labels]
        if chosen:
            return chosen[-1 if last else 0].code
    return None


def unfence(text: str) -> str:
    """The code of `text`'s first block if `text` starts with a fence (white space aside), else
    `text` as it is. For a part of a reply that should be bare but may come fenced."""
    blocks = code_blocks(text.lstrip())
    return blocks[0].code if blocks and blocks[0].start == 0 else text


def regex_blocks(text: str, label: str = "", *, newlines: bool = True) -> list[str]:
    """Blocks as the plain pattern `` ```{label}\\n(.*?)\\n``` `` finds them (`newlines=False`:
    `` ```{label}(.*?)``` ``): a fence anywhere in a line, exactly that label, and the first
    later fence closes the block whatever follows it. Some papers read replies this way
    (Agentless); a recipe that follows one uses this to keep its behaviour. Prefer `code_blocks`."""
    pattern = rf"```{re.escape(label)}\n(.*?)\n```" if newlines else rf"```{re.escape(label)}(.*?)```"
    return re.findall(pattern, text, re.S)


# --- JSON ---------------------------------------------------------------------------------


def json_format(schema: dict[str, Any] | None, name: str = "reply") -> dict[str, Any]:
    """A request's `response_format` for a JSON reply: of `schema` (strict) when given, else any object."""
    if schema is None:
        return {"type": "json_object"}
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True, "schema": schema}}


def object_schema(properties: dict[str, Any] | None = None, **more: Any) -> dict[str, Any]:
    """A JSON schema: an object with exactly these properties, all required, in this order."""
    properties = {**(properties or {}), **more}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # stdlib: raw_decode finds an object inside prose


def json_value(text: str) -> Any:
    """`text` (without a surrounding fence) as one strict JSON value; `FormatError` naming the
    parser's complaint when it is not one."""
    try:
        return orjson.loads(unfence(text).strip())
    except orjson.JSONDecodeError as exc:
        raise FormatError(f"not valid JSON ({exc})") from None


def json_object(text: str | None, *, in_prose: bool = True) -> dict[str, Any]:
    """The first JSON object in `text`: the whole text, else a ```json (or unlabelled) block, else
    (with `in_prose`) the first `{...}` in the text that is a JSON object, nested braces and
    braces inside strings included. `in_prose=False` accepts only the first two, as agentchat's
    `extract_json_from_str` does.

    Raises `FormatError`: "the reply holds no JSON object", "the JSON is not valid: …" (the
    parser's message for the first candidate that looked like an object), or "expected a JSON
    object, got list".
    """
    text = (text or "").replace("\r\n", "\n")
    whole = text.strip()
    candidates = [whole] + [b.code.strip() for b in code_blocks(text, ("json", ""))]
    invalid: str | None = None
    other: str | None = None
    for candidate in candidates:
        try:
            value = _DECODER.decode(candidate)
        except (ValueError, RecursionError) as exc:
            if invalid is None and candidate.startswith("{"):
                invalid = str(exc)
            continue
        if isinstance(value, dict):
            return value
        other = other or type(value).__name__
    if in_prose:
        at = text.find("{")
        while at >= 0:
            try:
                value, _ = _DECODER.raw_decode(text, at)
            except (ValueError, RecursionError) as exc:
                invalid = invalid or str(exc)
            else:
                if isinstance(value, dict):
                    return value
            at = text.find("{", at + 1)
    if invalid is not None:
        problem = f"the JSON is not valid: {invalid}"
    elif other is not None:
        problem = f"expected a JSON object, got {other}"
    else:
        problem = "the reply holds no JSON object"
    raise FormatError(problem)  # the problem is also what the model is told; a caller may say more


# --- diffs --------------------------------------------------------------------------------


def unified_diff(text: str | None) -> str | None:
    """The unified diff in `text`: its last ```diff (```patch, ```udiff) block, else the last
    fenced block that holds a diff (from its first `diff --git` or `--- ` line), else the text
    from its first such line; None when there is no diff (a `--- ` line needs a `+++ ` line too)."""
    text = (text or "").replace("\r\n", "\n")
    blocks = code_blocks(text)
    labelled = [b.code for b in blocks if b.language in DIFF]
    if labelled:
        return labelled[-1]
    for block in reversed(blocks):
        start = _diff_start(block.code)
        if start is not None:
            return block.code[start:]
    start = _diff_start(text)
    return text[start:] if start is not None else None


def _diff_start(text: str) -> int | None:
    found = re.search(r"^(diff --git |--- )", text, re.M)
    return found.start() if found and re.search(r"^\+\+\+ ", text, re.M) else None


# --- final answers ------------------------------------------------------------------------


def final_answer(text: str | None, markers: Sequence[str] = ANSWER_MARKERS, *,
                 until: Literal["line", "end"] = "line") -> str | None:
    """The answer after the last marker of `markers` in `text`, stripped; None if there is none.

    A marker matches in any case, a space in it matching any run of white space and a colon any
    white space before it; a marker that starts (ends) with a letter does not match inside a word.
    The answer runs from the marker, white space skipped, to the end of that line (`until="end"`:
    of the text). The marker `\\boxed` takes the content of its braces, nested braces included.
    An occurrence with nothing after it is skipped for the one before.
    """
    text = (text or "").replace("\r\n", "\n")
    if not markers:
        return None
    pattern = "|".join(_marker_pattern(m) for m in sorted(markers, key=len, reverse=True))
    for found in reversed(list(re.finditer(pattern, text, re.I))):
        if found.group().lower().startswith("\\boxed"):
            answer = _braced(text, found.end())
        else:
            rest = text[found.end():].lstrip()
            answer = rest if until == "end" else rest.split("\n", 1)[0]
        if answer and answer.strip():
            return answer.strip()
    return None


@functools.lru_cache(maxsize=64)
def _markers_regex(markers: tuple[str, ...]) -> re.Pattern[str]:
    """Any of `markers`, the longest first (built once per set: a scorer reads every answer with the same)."""
    return re.compile("|".join(_marker_pattern(m) for m in sorted(markers, key=len, reverse=True)), re.I)


def _marker_pattern(marker: str) -> str:
    if marker.lower() == "\\boxed":
        return r"\\boxed\{"
    words = [re.escape(word) for word in marker.replace(":", " :").split()]
    body = r"\s+".join(words).replace(r"\s+:", r"\s*:")
    head = r"(?<![A-Za-z])" if marker[:1].isalpha() else ""
    tail = r"(?![A-Za-z])" if marker[-1:].isalpha() else ""
    return f"{head}{body}{tail}"


def _braced(text: str, start: int) -> str | None:
    """The text from `start` to the brace that closes the one just before it; None if unclosed."""
    depth = 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i]
    return None


# --- numbers ------------------------------------------------------------------------------

# A number as replies write it: digits with thousands commas (only in groups of three, so a list
# "1,2,3" is three numbers) or without, a decimal part, a leading `-` or `$`. A `-` right after a
# letter, a digit or `)` is a minus between two terms ("10-4"), not a sign.
_NUMBER_TOKEN = re.compile(r"(-?)(\$?)((?:\d{1,3}(?:,\d{3})+(?![\d,]*\d)|\d+)(?:\.\d+)?)")
_LONE_NUMBER = re.compile(r"\s*\$?\s*(-?)\s*\$?\s*((?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?)\s*\.?\s*")
NUMBER_MARKERS = ("####", "Final Answer:", "Answer:", "The final answer is", "The answer is")
"""`final_number`'s answer markers: GSM8K's `#### n` and the final-answer phrases agents write."""


def canonical_number(digits: str) -> str:
    """A number's plain decimal form: commas and `$` dropped, no exponent, no trailing zeros
    (`1,234.50` → `1234.5`, `18.0` → `18`, `-0` → `0`)."""
    value = Decimal(digits.replace(",", "").replace("$", ""))
    return "0" if value == 0 else format(value.normalize(), "f")


def numbers(text: str | None) -> list[str]:
    """Every number in `text`, in order, each in its `canonical_number` form."""
    text = text or ""
    found = []
    for m in _NUMBER_TOKEN.finditer(text):
        signed = m.group(1) and not (m.start() > 0 and (text[m.start() - 1].isalnum() or text[m.start() - 1] == ")"))
        found.append(canonical_number(("-" if signed else "") + m.group(3)))
    return found


def lone_number(text: str | None) -> str | None:
    """`text` as one number when it holds nothing else (white space, a `$` and a final period
    aside), in its `canonical_number` form; else None. `"$1,234."` → `1234`; `"18 apples"` → None."""
    found = _LONE_NUMBER.fullmatch(text or "")
    return canonical_number(found.group(1) + found.group(2)) if found else None


def final_number(text: str | None, markers: Sequence[str] = NUMBER_MARKERS) -> tuple[str | None, str | None]:
    """The final number of a reasoning text, and where it was found, by the first rule that finds one:

    1. `"boxed"`: the last number inside the last `\\boxed{...}` that holds one;
    2. `"marker"`: the first number on the line after the last of `markers` (`#### n`, `Answer: n`, …)
       that has one;
    3. `"last"`: the last number in the text (the "flexible-extract" rule of EleutherAI's
       lm-evaluation-harness gsm8k task: the last match of its number pattern);
    (None, None) when the text holds no number at all. Numbers are in `canonical_number` form.
    """
    text = (text or "").replace("\r\n", "\n")
    for start in reversed([m.end() for m in re.finditer(r"\\boxed\{", text)]):
        inside = numbers(_braced(text, start))
        if inside:
            return inside[-1], "boxed"
    if markers:
        for found in reversed(list(_markers_regex(tuple(markers)).finditer(text))):
            after = numbers(text[found.end():].split("\n", 1)[0])
            if after:
                return after[0], "marker"
    every = numbers(text)
    return (every[-1], "last") if every else (None, None)
