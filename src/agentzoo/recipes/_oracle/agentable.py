"""Oracle player for `agentable`: the model questions answered from the gold report, so the structural findings
plus the model's make the gold. A tool's description is `inconsistent` when the gold has a `tool-metadata` defect on
its line; a pair `overlap`s when the gold has a `tool-trigger` defect on the second tool's line."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ...analysis.model_checks import PROMPTS
from ...types import ModelRequest
from .gold import Gold, Marker, last_user, not_recognised

_PAIR = re.compile(r"([a-z-]+) line (\d+)")
_DESCRIBED_AT = re.compile(r"\(defined at line (\d+)\)")
_TOOL_B_AT = re.compile(r"^Tool B: .*\(line (\d+)\)$", re.MULTILINE)


def agentable(gold: Gold) -> Callable[[ModelRequest], Any]:
    describe, conflict = Marker.of(PROMPTS / "describe.j2"), Marker.of(PROMPTS / "conflict.j2")
    labels = {(kind, int(line)) for kind, line in _PAIR.findall(gold.reply)}

    def play(request: ModelRequest) -> str:
        last = last_user(request)
        if describe.found_in(last) and (at := _DESCRIBED_AT.search(last)):
            wrong = ("tool-metadata", int(at.group(1))) in labels
            return (f"Verdict: {'inconsistent' if wrong else 'consistent'}\n"
                    f"Reason: {'the code does something else' if wrong else 'the code does what it says'}")
        if conflict.found_in(last) and (at := _TOOL_B_AT.search(last)):
            overlap = ("tool-trigger", int(at.group(1))) in labels
            return (f"Verdict: {'overlap' if overlap else 'distinct'}\n"
                    f"Reason: {'both describe the same job' if overlap else 'they do different jobs'}")
        raise not_recognised("agentable", request)

    return play
