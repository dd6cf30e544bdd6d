"""`SimClock`: the simulated time of a simulation, steps ↔ game time, every move a journaled effect.

Simulations (Generative Agents' town, Concordia's game master, population models) advance in steps,
and each step stands for some span of game time (Generative Agents: 10 game seconds a step in the
released code, its plans in 5–15 minute actions; Concordia: a clock whose step is set per scene).
The clock is plain data — a start, a step length and the current step — so a simulation's state is
JSON; each move (`tick`, `jump_to`) goes through the gateway as a `clock/sim` effect whose request
names where it moves from and to. A replay is served the same times, a resumed run catches up to the
step it was killed at, and a fork whose clock moves differently (a scene made longer) diverges at
the first move that differs, named by scope and seq like any divergence.

Times given to memory (`agentzoo.memory`) are `seconds`: simulated POSIX seconds (UTC), so a record's
age in game hours is a subtraction.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import ConfigError
from ..runtime.context import Context

DEFAULT_START = "2023-02-13T06:00:00"
"""Generative Agents' first simulated morning (its Smallville runs begin on February 13, 2023)."""
DEFAULT_STEP_SECONDS = 600.0
"""Ten game minutes a step: the middle of the paper's 5–15 minute action granularity (§4.3). The released
code's `sec_per_step` is 10 s; a recipe states its own."""


def parse_time(value: str | datetime, *, what: str = "time") -> datetime:
    """An ISO 8601 time as a UTC datetime (a naive one is read as UTC); a `ConfigError` naming `what`."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ConfigError(f"simulation {what} {value!r} is not an ISO 8601 time (e.g. 2023-02-13T06:00)") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


@dataclass(frozen=True)
class SimClock:
    """Where a simulation is in game time. Immutable: a move returns a new clock (and journals it)."""

    start: datetime
    """Game time at step 0 (UTC)."""
    step_seconds: float = DEFAULT_STEP_SECONDS
    """Game seconds one step stands for."""
    step: int = 0
    """Steps taken so far."""

    def __post_init__(self) -> None:
        if isinstance(self.step_seconds, bool) or not isinstance(self.step_seconds, (int, float)) \
                or not self.step_seconds > 0:
            raise ConfigError(f"a simulation step must last more than 0 game seconds, got {self.step_seconds!r}")
        if isinstance(self.step, bool) or not isinstance(self.step, int) or self.step < 0:
            raise ConfigError(f"a simulation clock's step must be a whole number ≥ 0, got {self.step!r}")

    @classmethod
    def starting(cls, start: str | datetime = DEFAULT_START, step_seconds: float = DEFAULT_STEP_SECONDS) -> SimClock:
        return cls(parse_time(start, what="start"), float(step_seconds))

    # --- reading --------------------------------------------------------------------------------

    def time_at(self, step: int) -> datetime:
        return self.start + timedelta(seconds=step * self.step_seconds)

    @property
    def now(self) -> datetime:
        return self.time_at(self.step)

    @property
    def seconds(self) -> float:
        """Now as simulated POSIX seconds: the `time` memory records are stamped with."""
        return self.now.timestamp()

    @property
    def hours_elapsed(self) -> float:
        """Game hours since step 0 (what "time per simulated hour" divides by)."""
        return self.step * self.step_seconds / 3600.0

    def steps_until(self, moment: str | datetime) -> int:
        """Whole steps from now until `moment` is reached or passed (0 if it is not in the future)."""
        delta = (parse_time(moment) - self.now).total_seconds()
        return max(0, -int(-delta // self.step_seconds))

    def describe(self) -> str:
        """How a prompt states the time: `Monday February 13, 2023, 06:00`."""
        now = self.now
        return f"{now:%A %B} {now.day}, {now:%Y, %H:%M}"

    # --- moving (journaled) -----------------------------------------------------------------------

    async def tick(self, ctx: Context, steps: int = 1) -> SimClock:
        """The clock `steps` later, recorded as one `clock/sim` effect in `ctx`'s scope."""
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ConfigError(f"a simulation clock moves forward by a whole number of steps ≥ 0, got {steps!r}")
        return await self._move(ctx, self.step + steps)

    async def jump_to(self, ctx: Context, moment: str | datetime) -> SimClock:
        """The clock at the first step at or after `moment` (sleeping through the night), journaled."""
        return await self._move(ctx, self.step + self.steps_until(moment))

    async def _move(self, ctx: Context, step: int) -> SimClock:
        target = replace(self, step=step)
        request = {"from": self.state(), "to_step": step}

        async def perform() -> dict[str, Any]:
            return target.state()

        recorded = await ctx.effect("clock", "sim", request, perform, local=True)
        return SimClock.from_state(recorded)

    # --- JSON ----------------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "step_seconds": self.step_seconds, "step": self.step,
                "time": self.now.isoformat()}

    @classmethod
    def from_state(cls, state: Any) -> SimClock:
        if not isinstance(state, dict) or not {"start", "step_seconds", "step"} <= set(state):
            raise ConfigError(f"a simulation clock state needs start, step_seconds and step, got {state!r}")
        return cls(parse_time(state["start"], what="start"), float(state["step_seconds"]), state["step"])
