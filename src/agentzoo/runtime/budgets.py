"""Budgets: limits on tokens, dollars, model calls, steps and wall time, per run or per scope.

The gateway checks them before every model call (and the agent loop before every step), so
a run stops *before* spending past a limit, with an error naming which budget ran out and
where. Wall time is also enforced *during* an effect: a model call to an endpoint that hangs,
or a tool that never returns, is cut when the budget's time is up. A budget set on scope
`team/coder` counts everything below that scope.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

from ..errors import BudgetExceeded, ConfigError
from ..types import Usage
from .scope import is_within


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits; None means no limit."""

    tokens: int | None = None
    """Input plus output tokens."""
    usd: float | None = None
    """Cost in US dollars (calls to models with unknown prices count as 0)."""
    model_calls: int | None = None
    steps: int | None = None
    """Agent loop iterations."""
    wall_seconds: float | None = None
    """Time since the run (or, for a scope budget, that scope's first effect) started."""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Budget:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown budget field(s) {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


class _Tally:
    __slots__ = ("tokens", "usd", "model_calls", "steps", "started")

    def __init__(self) -> None:
        self.tokens = 0
        self.usd = 0.0
        self.model_calls = 0
        self.steps = 0
        self.started: float | None = None


class BudgetTracker:
    """Keeps a tally per budgeted scope and raises `BudgetExceeded` before an effect would overrun."""

    def __init__(self, budgets: dict[str, Budget] | Budget | None = None) -> None:
        if isinstance(budgets, Budget):
            budgets = {"": budgets}
        self.budgets = dict(budgets or {})
        self._tallies = {scope: _Tally() for scope in self.budgets}
        self._run_started = time.monotonic()

    def add(self, scope: str, budget: Budget) -> None:
        """Limit `scope` (and what is below it) from now on: a tree search's own budget, set when it starts.
        Effects already recorded under the scope do not count against it."""
        self.budgets[scope] = budget
        self._tallies[scope] = _Tally()

    def used(self, scope: str) -> dict[str, float] | None:
        """What the budget set on exactly `scope` has counted so far (None when it has none)."""
        t = self._tallies.get(scope)
        return None if t is None else {"tokens": t.tokens, "usd": t.usd, "model_calls": t.model_calls, "steps": t.steps}

    def _matching(self, scope: str):
        if not self.budgets:  # the common case, checked at every step and effect: no generator to run
            return ()
        return self._matching_budgets(scope)

    def _matching_budgets(self, scope: str):
        for budget_scope, budget in self.budgets.items():
            if is_within(scope, budget_scope):
                tally = self._tallies[budget_scope]
                if tally.started is None:
                    tally.started = self._run_started if budget_scope == "" else time.monotonic()
                yield budget_scope, budget, tally

    def check_model_call(self, scope: str) -> None:
        """Raise if any budget covering `scope` has no room for one more model call."""
        for budget_scope, b, t in self._matching(scope):
            self._over("model_calls", b.model_calls, t.model_calls, budget_scope, scope, at_least_one=True)
            self._over("tokens", b.tokens, t.tokens, budget_scope, scope)
            self._over("usd", b.usd, t.usd, budget_scope, scope)
            self._check_wall(b, t, budget_scope, scope)

    def check_spend(self, scope: str) -> None:
        """Raise if a budget covering `scope` has no tokens, dollars or time left: before an effect that spends
        without being a model call here (a remote agent's task)."""
        for budget_scope, b, t in self._matching(scope):
            self._over("tokens", b.tokens, t.tokens, budget_scope, scope)
            self._over("usd", b.usd, t.usd, budget_scope, scope)
            self._check_wall(b, t, budget_scope, scope)

    def check_step(self, scope: str) -> None:
        for budget_scope, b, t in self._matching(scope):
            self._over("steps", b.steps, t.steps, budget_scope, scope, at_least_one=True)
            self._check_wall(b, t, budget_scope, scope)
            t.steps += 1

    def record_model_call(self, scope: str, usage: Usage, cost_usd: float | None) -> None:
        for _, _, t in self._matching(scope):
            t.model_calls += 1
            t.tokens += usage.total_tokens
            t.usd += cost_usd or 0.0

    def record_spend(self, scope: str, usage: Usage, cost_usd: float | None) -> None:
        """Count tokens and dollars spent elsewhere on this run's behalf (a remote agent's), not as a model call."""
        for _, _, t in self._matching(scope):
            t.tokens += usage.total_tokens
            t.usd += cost_usd or 0.0

    def wall_deadline(self, scope: str) -> tuple[float, str, float, float] | None:
        """The earliest wall-clock end of the budgets covering `scope`, as `(deadline, budget_scope,
        limit, started)` in `time.monotonic()` seconds, or None when none of them limits wall time.
        The gateway cuts an effect still in flight at that moment (see `wall_exceeded`)."""
        best: tuple[float, str, float, float] | None = None
        for budget_scope, b, t in self._matching(scope):
            if b.wall_seconds is not None and t.started is not None:
                deadline = t.started + b.wall_seconds
                if best is None or deadline < best[0]:
                    best = (deadline, budget_scope, b.wall_seconds, t.started)
        return best

    @staticmethod
    def wall_exceeded(deadline: tuple[float, str, float, float], at: str, during: str | None = None) -> BudgetExceeded:
        """The error for a wall budget (from `wall_deadline`) that ran out before an effect in scope
        `at`, or `during` one (e.g. `model 'gpt-4o'`) that was cut in flight."""
        _, budget_scope, limit, started = deadline
        return BudgetExceeded(budget="wall_seconds", limit=limit, used=round(time.monotonic() - started, 3),
                              budget_scope=budget_scope, at_scope=at, during=during)

    @staticmethod
    def _over(name: str, limit: float | None, used: float, budget_scope: str, at: str,
              at_least_one: bool = False) -> None:
        # Counting budgets (calls, steps) stop when one more would exceed; spending budgets
        # (tokens, dollars) stop once used up, since the next call's size is unknown.
        if limit is not None and (used + 1 > limit if at_least_one else used >= limit):
            raise BudgetExceeded(budget=name, limit=limit, used=used, budget_scope=budget_scope, at_scope=at)

    @staticmethod
    def _check_wall(b: Budget, t: _Tally, budget_scope: str, at: str) -> None:
        if b.wall_seconds is not None and t.started is not None:
            elapsed = time.monotonic() - t.started
            if elapsed >= b.wall_seconds:
                raise BudgetExceeded(budget="wall_seconds", limit=b.wall_seconds, used=round(elapsed, 3),
                                     budget_scope=budget_scope, at_scope=at)
