"""AEGIS's state machine over the code agent's actions (PAPERS.md #9; the paper names its FSM but not its states,
so these are ours): the agent explores the repository, writes and runs a reproduction script until it fails on
the unfixed code, then proposes patches until the script's F→P check passes. Only execution feedback (a run of
the script, a fix check) moves it: reading and searching never change the state.

`Reproduction` wraps `ActionFSM` to keep the script that reproduced the bug and the patch that passed the check;
both are read from the actions and their journaled results, so a replay keeps the same.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ...agents.controllers import ActionFSM, Transition
from ...agents.formats import Code, Observed
from ...runtime.context import Context
from ...types import ToolCall

EXPLORE, REPRODUCED, VERIFIED = "explore", "reproduced", "verified"
SEARCH, READ, RUN, CHECK = "search_code", "read_file", "run_reproduction", "check_fix"
STATES: dict[str, tuple[str, ...]] = {
    EXPLORE: (SEARCH, READ, RUN),
    REPRODUCED: (SEARCH, READ, RUN, CHECK),
    VERIFIED: (),  # the agent's next reply is its answer
}


def result_of(observed: Observed) -> dict[str, Any]:
    """A tool's result as the JSON object it returned; {} for anything else (an error, a refusal)."""
    if observed.is_error:
        return {}
    try:
        value = json.loads(observed.content)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def reproduced(observed: Observed) -> bool:
    return result_of(observed).get("reproduced") is True


def fixed(observed: Observed) -> bool:
    return result_of(observed).get("fail_to_pass") is True


def machine() -> ActionFSM:
    return ActionFSM(dict(STATES), EXPLORE, [
        Transition(EXPLORE, RUN, REPRODUCED, when=reproduced),
        Transition(REPRODUCED, RUN, EXPLORE, when=lambda seen: not reproduced(seen)),
        Transition(REPRODUCED, CHECK, VERIFIED, when=fixed),
    ], final=[VERIFIED], name="aegis")


class Reproduction:
    """The FSM, plus what the agent established on the way: the reproduction script (the last run that failed
    on the unfixed repository) and the verified patch (the last that passed the script's F→P check)."""

    def __init__(self) -> None:
        self.fsm = machine()
        self.script: str | None = None
        self.patch: str | None = None

    def reset(self) -> None:
        self.fsm.reset()
        self.script = self.patch = None

    @property
    def state(self) -> str:
        return self.fsm.state

    async def tools(self, ctx: Context, messages: list[dict[str, Any]]) -> Sequence[str] | None:
        return await self.fsm.tools(ctx, messages)

    async def note(self, ctx: Context) -> str | None:
        return await self.fsm.note(ctx)

    async def check(self, ctx: Context, item: ToolCall | Code) -> str | None:
        return await self.fsm.check(ctx, item)

    async def after(self, ctx: Context, item: ToolCall | Code, observed: Observed) -> None:
        if isinstance(item, ToolCall) and await self.fsm.check(ctx, item) is None:
            arguments = _arguments(item)
            if item.name == RUN and reproduced(observed):
                self.script = str(arguments.get("script", ""))
            elif item.name == CHECK and fixed(observed):
                self.patch = str(arguments.get("patch", ""))
        await self.fsm.after(ctx, item, observed)


def _arguments(item: ToolCall) -> dict[str, Any]:
    try:
        value = json.loads(item.arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
