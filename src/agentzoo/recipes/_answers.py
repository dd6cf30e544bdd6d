"""Final answers: pull the answer out of a reasoning text, normalise it, and vote.

Shared by the recipes that compare or vote over several answers (CoT-SC, LLM debate, …).
Nothing here knows a benchmark; it recognises the forms final answers usually take:

1. `#### 42` (GSM8K's marker);
2. `\\boxed{42}` (MATH and the debate paper's prompts);
3. a fenced code block (the last ```python block, else the last fenced block): the answer is the
   program, compared by its syntax tree without docstrings or comments, so two solutions that differ
   only in layout or commentary are the same answer;
4. `The answer is 42` / `Answer: 42` (the last such phrase);
5. otherwise the last non-empty line.

Numbers are compared as numbers (`1,000` = `1000` = `1000.0`); other text is compared lower-cased
with runs of white space collapsed and surrounding punctuation dropped.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from .. import replies

_PHRASES = ("the answer is", "the final answer is", "final answer:", "answer:")
_CODE = (replies.PYTHON, ("",), (replies.ANY,))  # the last python block, else unlabelled, else any
_NUMBER = re.compile(r"^[-+]?\$?\s*[-+]?(\d[\d,]*(\.\d*)?|\.\d+)%?$")
_TRIM = " \t\n.,;:!?*`'\"()"


def final_answer(text: str | None) -> str | None:
    """The normalised final answer of `text` (a key to compare and vote on), or None if it has none."""
    text = (text or "").replace("\r\n", "\n")
    if not text.strip():
        return None
    for markers in (("####",), ("\\boxed",)):
        found = replies.final_answer(text, markers)
        if found is not None:
            return normalize(found)
    code = replies.find_code(text, _CODE)
    if code is not None:
        return "code:" + canonical_code(code)
    phrase = replies.final_answer(text, _PHRASES)
    if phrase is not None:
        return normalize(phrase)
    lines = [line for line in text.split("\n") if line.strip()]
    return normalize(lines[-1]) if lines else None


def normalize(answer: str) -> str | None:
    """A number as its canonical decimal (`1,000.50` → `1000.5`); other text lower-cased and tidied."""
    text = answer.strip().strip(_TRIM).strip()
    if _NUMBER.match(text):
        digits = text.replace(",", "").replace("$", "").replace("%", "").replace(" ", "")
        try:
            value = Decimal(digits)
        except InvalidOperation:
            pass
        else:
            value = value.normalize()
            return format(value, "f") if value != 0 else "0"
    text = " ".join(text.lower().split())
    return text or None


def canonical_code(code: str) -> str:
    """The program's syntax tree without docstrings (comments and layout are gone already), or its
    whitespace-collapsed text if it does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return " ".join(code.split())
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and body
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, annotate_fields=False)


@dataclass(frozen=True)
class Vote:
    """The outcome of a majority vote over answers."""

    winner: int
    """Index of the first answer that carries the winning key (its full text is the one to return)."""
    key: str | None
    """The winning normalised answer; None only when no answer had one."""
    count: int
    """How many answers carry the winning key."""
    tally: dict[str, int] = field(default_factory=dict)
    """Every key and its count, in order of first appearance."""


def majority(keys: Sequence[str | None]) -> Vote:
    """Plurality vote over normalised answers; answers without a key do not vote.

    Ties go to the key that appeared first, as in the debate paper's `most_frequent`
    (composable-models/llm_multiagent_debate gsm/eval_gsm.py); with no key at all, the first answer wins.
    """
    if not keys:
        raise ValueError("majority() needs at least one answer")
    tally: dict[str, int] = {}
    for key in keys:
        if key is not None:
            tally[key] = tally.get(key, 0) + 1
    if not tally:
        return Vote(0, None, 0, {})
    best = max(tally.values())
    key = next(k for k, n in tally.items() if n == best)  # dicts keep first-appearance order
    return Vote(keys.index(key), key, best, tally)
