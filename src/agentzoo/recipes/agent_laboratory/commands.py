"""Fenced commands: how every Agent Laboratory role acts, a block of three back-quotes opened by a command word.

A command is ```` ```NAME args ```` on its opening line, a body, and a closing ```` ``` ````. The mle-solver
and the report solver take `REPLACE` (the whole program or report is the body) and `EDIT N M` (lines N to M,
inclusive and counted from 0 as the numbered listing shows them, are replaced by the body; an empty body deletes
them); the reward model answers in a `SCORE` block; the other phases end on their own words (`PLAN`,
`SUBMIT_CODE`, `INTERPRETATION`, `SUMMARY`, `FULL_TEXT`, `ADD_PAPER`). A reply is read for the first block whose
word the caller accepts; prose around it is ignored. Parsing is pure: nothing in a block is run here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import FormatError

_BLOCK = re.compile(r"```[ \t]*([A-Za-z_]+)[ \t]*([^\n`]*)\n(.*?)(?:```|\Z)", re.DOTALL)
"""A fenced block: its word, the rest of its opening line, its body (an unclosed last block runs to the end)."""


@dataclass(frozen=True)
class Command:
    """One fenced command: its word (upper case), the arguments on its opening line, its body."""

    name: str
    args: tuple[str, ...]
    body: str


def commands(reply: str) -> list[Command]:
    """Every fenced block of `reply`, in order (words upper-cased, so ```` ```python ```` reads as PYTHON)."""
    return [Command(m.group(1).upper(), tuple(m.group(2).split()), m.group(3).rstrip("\n"))
            for m in _BLOCK.finditer(reply or "")]


def first(reply: str, accepted: tuple[str, ...]) -> Command | None:
    """The first block of `reply` whose word is one of `accepted`; None when there is none."""
    return next((c for c in commands(reply) if c.name in accepted), None)


def edit_range(command: Command, length: int) -> tuple[int, int]:
    """The lines `EDIT N M` replaces, checked against a program of `length` lines; a `FormatError` the model
    reads when they are not two whole numbers with 0 <= N <= M < length (M may be N - 1 to insert before N)."""
    if len(command.args) != 2 or not all(re.fullmatch(r"\d+", a) for a in command.args):
        raise FormatError(f"EDIT takes two line numbers, `EDIT N M`; got `EDIT {' '.join(command.args)}`")
    start, end = int(command.args[0]), int(command.args[1])
    if not (0 <= start <= length and start - 1 <= end < max(length, start)):
        raise FormatError(f"EDIT {start} {end}: the lines run from 0 to {length - 1}; N <= M are needed")
    return start, end


def apply(command: Command, lines: list[str]) -> list[str]:
    """The lines after a `REPLACE` or `EDIT N M`; a `FormatError` for any other command or a bad range."""
    new = command.body.split("\n") if command.body else []
    if command.name == "REPLACE":
        return new
    if command.name == "EDIT":
        start, end = edit_range(command, len(lines))
        return lines[:start] + new + lines[end + 1:]
    raise FormatError(f"expected a REPLACE or EDIT N M block, got {command.name}")


SCORE_WORD = "SCORE"


def score(reply: str) -> float:
    """The float of the reply's `SCORE` block, which must lie in [0, 1]; a `FormatError` otherwise."""
    block = first(reply, (SCORE_WORD,))
    if block is None:
        raise FormatError("no ```SCORE block in the reply")
    text = block.body.strip() or " ".join(block.args)
    try:
        value = float(text.split()[0]) if text else float("nan")
    except ValueError:
        raise FormatError(f"the SCORE block holds {text[:40]!r}, not a number") from None
    if not 0.0 <= value <= 1.0:
        raise FormatError(f"the score must lie between 0 and 1, got {text[:40]!r}")
    return value
