"""The solver Agent Laboratory's experiments and report are written with (mlesolver.py, papersolver.py).

The solver holds one artefact as numbered lines (a program, a report) and asks its role for one command per
step: `REPLACE` (the whole artefact) or `EDIT N M` (`commands.py`). The new version is checked first (a program
is run in the sandbox; a report needs no check here, compiling is off): one that fails is not taken, the old
one is kept, and for a program the error goes to code repair, which may answer with its own REPLACE or EDIT of
the failing version, up to `repair_attempts` times. A version that passes is scored by the reward model (a
float in [0, 1] in a `SCORE` block, asked up to `score_attempts` times) and becomes the current one; the
`max_codes` best versions are kept, best first. The solver's role sees the current version, the last
`history` outcomes and the best score so far.

Scopes (in the caller's, one per step k): `<role>#k` the command, `code-repair#k` the repairs, `reward#k` the
scores; the check's own effects (the sandbox runs, as workspace steps) go where its caller puts them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from ...errors import ConfigError, FormatError
from ...prompts import render
from ...runtime.context import Context
from . import commands
from .roles import PROMPTS, REWARD, Lab

REPAIR = "code-repair"
Check = Callable[[list[str]], Awaitable[tuple[bool, str]]]
"""Runs or checks a version: (passed, what it printed or why it failed)."""


@dataclass(frozen=True)
class Candidate:
    lines: list[str]
    score: float
    output: str


@dataclass
class SolverRun:
    """What a solve left: the best versions (best first), the current one, and each step's outcome."""

    best: list[Candidate]
    current: list[str]
    log: list[str] = field(default_factory=list)
    steps: int = 0


def listing(lines: list[str]) -> str:
    """The artefact as the role sees it: each line with its number (from 0, as EDIT counts)."""
    return "\n".join(f"{i} | {line}" for i, line in enumerate(lines))


@dataclass
class Solver:
    """One solver: `role` writes the commands with `template`; `check` tests a version; `what` names the
    artefact in the prompts ("program", "report"); `repair_attempts` 0 turns code repair off."""

    lab: Lab
    role: str
    template: str
    check: Check
    what: str
    steps: int
    repair_attempts: int
    score_attempts: int
    max_codes: int
    history: int
    context: dict[str, Any] = field(default_factory=dict)
    """What every prompt of this solver shows besides the artefact (the plan, the dataset code, ...)."""

    async def solve(self, ctx: Context, initial: list[str]) -> SolverRun:
        ok, output = await self.check(initial)
        if not ok:  # the starting version must pass: mlesolver.py generates initial code until it runs
            raise ConfigError(f"agent-laboratory: the initial {self.what} does not pass its check: {output[-500:]}")
        first = Candidate(list(initial), await self.score(ctx.child(REWARD, 0), initial, output), output)
        run = SolverRun([first], list(initial), [_outcome("initial", 0, what=self.what, score=first.score,
                                                          output=output[-400:])])
        for k in range(1, self.steps + 1):
            run.steps = k
            reply = await self.lab.ask(ctx.child(self.role, k), self.role, self.template, what=self.what,
                                       listing=listing(run.current), history=run.log[-self.history:],
                                       best=run.best[0].score, step=k, steps=self.steps, **self.context)
            command = commands.first(reply, ("REPLACE", "EDIT"))
            try:
                if command is None:
                    raise FormatError("no ```REPLACE or ```EDIT N M block in the reply")
                new = commands.apply(command, run.current)
            except FormatError as exc:
                run.log.append(_outcome("unusable", k, problem=exc.message_for_model))
                continue
            ok, output = await self.check(new)
            attempt = 0
            repairs = ctx.child(REPAIR, k)  # one scope for this step's repairs: each attempt is its next effect
            while not ok and attempt < self.repair_attempts:
                attempt += 1
                new, ok, output = await self._repair(repairs, new, output)
            if not ok:
                run.log.append(_outcome("failed", k, command=command.name, what=self.what, output=output[-800:]))
                continue
            score = await self.score(ctx.child(REWARD, k), new, output)
            run.current = new
            run.log.append(_outcome("applied", k, command=command.name, score=score, output=output[-400:]))
            self._keep(run, Candidate(list(new), score, output))
        return run

    async def _repair(self, ctx: Context, failing: list[str], error: str) -> tuple[list[str], bool, str]:
        reply = await self.lab.ask(ctx, REPAIR, "code_repair", what=self.what, listing=listing(failing),
                                   error=error[-2000:])
        command = commands.first(reply, ("REPLACE", "EDIT"))
        try:
            if command is None:
                raise FormatError("the repair held no ```REPLACE or ```EDIT N M block")
            fixed = commands.apply(command, failing)
        except FormatError as exc:
            return failing, False, error + "\n" + _outcome("repair", 0, problem=exc.message_for_model)
        ok, output = await self.check(fixed)
        return fixed, ok, output

    async def score(self, ctx: Context, lines: list[str], output: str) -> float:
        """The reward model's score, asked up to `score_attempts` times (mlesolver.py get_score: 3 tries);
        0.0 when no reply holds a valid SCORE block."""
        problems: list[str] = []
        for _ in range(self.score_attempts):
            reply = await self.lab.ask(ctx, REWARD, "reward", what=self.what, text="\n".join(lines),
                                       output=output[-2000:], problems=problems, **self.context)
            try:
                return commands.score(reply)
            except FormatError as exc:
                problems.append(str(exc))
        return 0.0

    def _keep(self, run: SolverRun, candidate: Candidate) -> None:
        """mlesolver.py: a version better than the worst kept one joins the best, the worst leaving when
        `max_codes` are kept; sorted best first (earlier first among equals)."""
        if len(run.best) < self.max_codes or candidate.score > run.best[-1].score:
            run.best = sorted([*run.best, candidate], key=lambda c: -c.score)[:self.max_codes]


def _outcome(kind: str, step: int, **values: Any) -> str:
    """One line of the solver's history, as its role reads it (`prompts/solver_outcome.j2`)."""
    return render(PROMPTS / "solver_outcome.j2", kind=kind, step=step, **values)
