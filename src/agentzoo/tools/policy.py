"""What a tool touches, and the policy that decides whether a call may run.

A tool declares what calling it touches (`read`, `write`, `network`, `money`). The runtime
gateway asks an `ApprovalPolicy` before each call and journals the decision, so approval is
enforced by code rather than by the prompt. This module imports no pydantic on purpose.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, get_args

from ..errors import ConfigError
from ..protocols import Tool

Touches = Literal["read", "write", "network", "money"]
"""One thing a tool call may touch."""

TOUCHES: frozenset[str] = frozenset(get_args(Touches))
"""Every value `Touches` may take."""

Approver = Callable[[str, dict[str, Any], frozenset[str]], bool | Awaitable[bool]]
"""Asked `(tool_name, arguments, touches)`; answers True to let the call run (sync or async)."""

DENIED_BY_USER = "the user denied this call"
NO_APPROVER = "this call needs approval and no approver is configured"


def unknown_touches(touches: Iterable[str]) -> list[str]:
    """The entries of `touches` that are not one of `TOUCHES`, sorted (empty when all are valid)."""
    return sorted(str(t) for t in touches if t not in TOUCHES)


class ApprovalPolicy:
    """Decides per call whether a tool may run.

    A call needs approval when its tool touches anything in `require_approval_for`. Such a
    call runs only if `approver` answers exactly True; with no approver it is denied, so a
    forgotten approver fails closed. An approver that raises propagates: a broken approval
    channel is the program's fault, and the run should stop rather than guess.
    """

    def __init__(self, require_approval_for: Iterable[Touches] = ("write", "money"),
                 approver: Approver | None = None) -> None:
        required = frozenset({require_approval_for} if isinstance(require_approval_for, str)
                             else require_approval_for)
        bad = unknown_touches(required)
        if bad:
            raise ConfigError(f"ApprovalPolicy(require_approval_for=...): unknown touches {bad}; "
                              f"use a subset of {sorted(TOUCHES)}")
        self.require_approval_for: frozenset[str] = required
        self.approver = approver

    def needs_approval(self, tool: Tool) -> bool:
        """Whether calls of `tool` must be approved before they run."""
        return not self.require_approval_for.isdisjoint(tool.touches)

    async def check(self, tool: Tool, arguments: dict[str, Any]) -> tuple[bool, str | None]:
        """`(allowed, reason)`; `reason` is the text the model sees when the call is denied."""
        if not self.needs_approval(tool):
            return True, None
        if self.approver is None:
            return False, NO_APPROVER
        answer = self.approver(tool.name, arguments, frozenset(tool.touches))
        if inspect.isawaitable(answer):
            answer = await answer
        # Only a real bool counts: a stray truthy value ("no", a Mock) must not approve a payment.
        if not isinstance(answer, bool):
            raise ConfigError(f"the approver returned {type(answer).__name__}, expected bool "
                              f"(asked about tool {tool.name!r})")
        return (True, None) if answer else (False, DENIED_BY_USER)

    def __repr__(self) -> str:
        return (f"ApprovalPolicy(require_approval_for={sorted(self.require_approval_for)}, "
                f"approver={self.approver!r})")
