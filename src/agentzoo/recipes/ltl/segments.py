"""Segments in text: a reply is read as `Label: content` lines, one segment per header.

A header is a line that starts (at its first column) with one of the protocol's labels and a
colon; the lines after it, up to the next header, belong to the same segment, so an answer may
span lines. Lines inside a fenced block (```) are never headers: a code answer that prints
`Thought: x` stays part of the answer. Text before the first header belongs to no segment; the
runtime decides what that means (for a reply, a protocol violation).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ...replies import unfence

_FENCE = re.compile(r"^\s*(```|~~~)")
_ACTION = re.compile(r"^\s*([A-Za-z_][\w.\-]*)(.*)\Z", re.S)


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment of a trace."""

    label: str
    content: str

    def text(self) -> str:
        """As it is written in a reply or a prompt."""
        return f"{self.label}: {self.content}" if self.content else f"{self.label}:"


@lru_cache(maxsize=64)
def _header(labels: tuple[str, ...]) -> re.Pattern[str]:
    names = "|".join(re.escape(label) for label in sorted(labels, key=len, reverse=True))
    return re.compile(rf"^({names})[ \t]*:[ \t]?(.*)$", re.I)


def read(text: str, labels: Iterable[str]) -> tuple[str, list[Segment]]:
    """(text before the first header, the segments) of `text`; labels are matched in any case and
    given back as the protocol spells them."""
    labels = tuple(labels)
    spelled = {label.lower(): label for label in labels}
    header = _header(labels)
    preamble: list[str] = []
    segments: list[tuple[str, list[str]]] = []
    fenced = False
    for line in text.replace("\r\n", "\n").split("\n"):
        match = None if fenced else header.match(line)
        if _FENCE.match(line):
            fenced = not fenced
        if match:
            segments.append((spelled[match.group(1).lower()], [match.group(2)]))
        elif segments:
            segments[-1][1].append(line)
        else:
            preamble.append(line)
    return "\n".join(preamble).strip(), [Segment(label, "\n".join(lines).strip()) for label, lines in segments]


def action_call(content: str) -> tuple[str, str] | None:
    """(tool name, arguments as JSON text) of an action's content `name {"arg": 1}`; None without a name.
    The arguments are not checked here: the tool layer parses and validates them, and says what is wrong."""
    match = _ACTION.match(content)
    if match is None:
        return None
    arguments = unfence(match.group(2).strip()).strip()
    return match.group(1), arguments or "{}"
