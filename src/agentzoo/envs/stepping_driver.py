"""The driver behind `agentzoo.envs.stepping` (read that module's docstring): one episode's resets and steps
as journaled effects, the records they leave, and the episode rules."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .. import _json
from ..errors import CorruptJournalError, UserError
from ..runtime.gateway import Gateway, current_effect, current_gateway
from ..runtime.scope import Scope
from .base import Task
from .step import EpisodeRules, Observation, StepEnvironment, StepEpisode, StepOutcome

if TYPE_CHECKING:
    from ..runtime.context import Context

KIND = "env"
NESTED = "env"
"""The name of the scope of a step made inside another effect: `<scope>/env#<seq of that effect>`."""
_SPACES = re.compile(r"\s+")


# --- what one record holds --------------------------------------------------------------------------


@dataclass(frozen=True)
class Progress:
    """Where an episode stands: what the rules count and a scorer reads. Plain JSON."""

    steps: int = 0
    """Actions taken (the reset is not one)."""
    reward: float = 0.0
    """The environment's rewards, summed."""
    done: bool = False
    stopped: str | None = None
    """Why the rules ended the episode (`"3 identical actions"`); None when the environment ended it or it goes on."""
    parse_failures: int = 0
    """Unparsable actions in a row, up to the last."""
    repeats: int = 0
    """The last action's count in a row (0 after an unparsable one)."""
    last_action: str | None = None
    """The last parsable action, as the rules compare it."""
    history: str = ""
    root: str = ""
    """`history` at the reset: the hash of the environment, the task and the seed (which episode this is)."""
    """Hash of the task, seed and every action so far: the identity of the state (given a deterministic episode)."""

    def to_json(self) -> dict[str, Any]:
        return {"steps": self.steps, "reward": self.reward, "done": self.done, "stopped": self.stopped,
                "parse_failures": self.parse_failures, "repeats": self.repeats, "last_action": self.last_action,
                "history": self.history, "root": self.root}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Progress:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def after(self, action: str, outcome: StepOutcome, rules: EpisodeRules) -> tuple[Progress, StepOutcome]:
        """The progress after `action` gave `outcome`, and the outcome with the rules applied (an
        episode the rules end is `done`, with the reason in `info["stopped"]`)."""
        unparsable = "parse_error" in outcome.info
        failures = self.parse_failures + 1 if unparsable else 0
        key = None if unparsable else _action_key(action, outcome)
        repeats = 0 if key is None else (self.repeats + 1 if key == self.last_action else 1)
        steps = self.steps + 1
        stopped = None
        if not outcome.done:  # the order of WebArena's early_stop: the step limit first
            if steps >= rules.max_steps:
                stopped = f"{steps} steps (the limit)"
            elif failures >= rules.max_parse_failures:
                stopped = f"{failures} unparsable actions in a row"
            elif repeats >= rules.max_repeated_actions:
                stopped = f"{repeats} identical actions"
        if stopped is not None:
            outcome = replace(outcome, done=True, info={**outcome.info, "stopped": stopped})
        progress = Progress(steps, self.reward + float(outcome.reward), outcome.done, stopped, failures, repeats,
                            key if key is not None else self.last_action, chain(self.history, action), self.root)
        return progress, outcome


def _action_key(action: str, outcome: StepOutcome) -> str:
    understood = outcome.info.get("action")
    return understood if isinstance(understood, str) else _SPACES.sub(" ", action.strip())


def chain(history: str, action: str) -> str:
    return hashlib.sha256(f"{history}\n{action}".encode()).hexdigest()


@dataclass(frozen=True)
class Record:
    """The result of one `env` effect: what the step did, the state after it, the progress after it."""

    outcome: StepOutcome
    snapshot: dict[str, Any]
    progress: Progress
    start: dict[str, Any] | None = None
    """The reset's record only: what an agent is told at the start and a replay cannot ask the environment
    (it has none): `{"actions": the action space's description, "rules": the episode rules}`."""

    def to_json(self) -> dict[str, Any]:
        data = {"outcome": self.outcome.to_json(), "snapshot": self.snapshot, "progress": self.progress.to_json()}
        if self.start is not None:
            data["start"] = self.start
        return data

    @classmethod
    def from_json(cls, data: Any) -> Record:
        return cls(StepOutcome.from_json(data["outcome"]), data["snapshot"], Progress.from_json(data["progress"]),
                   data.get("start"))


def is_record(data: Any) -> bool:
    return isinstance(data, dict) and {"outcome", "snapshot", "progress"} <= data.keys()


# --- the driver ------------------------------------------------------------------------------------


class StepDriver:
    """One task's episode behind journaled effects: `reset`, `step`, and the state it has reached.

    The `StepEpisode` is made only when a step is performed live (a replay makes none), and is brought
    to the last record's state by `restore` before its first live step when records were served.
    """

    def __init__(self, env: StepEnvironment | None, task: Task | None, *, seed: int | None = None,
                 rules: EpisodeRules | None = None, name: str | None = None) -> None:
        self.env = env
        self.task = task
        self.name = name or (env.name if env is not None else "env")
        """The environment's name: the name of its `env` entries."""
        self.seed = seed
        self.rules = rules or getattr(env, "rules", None) or EpisodeRules()
        self.side_effects = bool(getattr(env, "side_effects", False))
        self.record: Record | None = None
        """The last record this driver knows: performed, served, or read from the journal."""
        self.performed = 0
        """Resets and steps performed live by this driver (not served)."""
        self.restores = 0
        """Times a live episode was brought to a record's state with `restore`."""
        self._episode: StepEpisode | None = None
        self._in_sync = False
        """The live episode is in `record`'s state."""
        self._caught_up = False
        self._nested: tuple[Gateway, tuple[str, int], Scope] | None = None
        """The scope of the steps made inside the current enclosing effect (its gateway and key, then the scope)."""
        self._listeners: list[Any] = []
        self.start: dict[str, Any] | None = None
        """The reset record's `start` (action space description, rules), once the reset is known."""

    # --- what it has reached ---

    @property
    def started(self) -> bool:
        return self.record is not None

    @property
    def progress(self) -> Progress:
        return self.record.progress if self.record is not None else Progress()

    @property
    def observation(self) -> Observation | None:
        return self.record.outcome.observation if self.record is not None else None

    def on_record(self, listener: Any) -> None:
        """Call `listener(record)` whenever the driver learns a new record (to mirror it in an episode's state)."""
        self._listeners.append(listener)

    def follow(self, journal: Any, run_id: str) -> Record | None:
        """Learn the last record of this episode that run `run_id` holds (its parents' too, for a fork): to
        score a run that was resumed with no step left to take, whose steps were all served."""
        record = latest_record(journal, run_id, self.name, root=self.root)
        if record is not None and record != self.record:
            self._in_sync = False
            self._learn(record)
        return self.record

    def twin(self) -> StepDriver:
        """A driver of the same episode (environment, task, seed, rules) with no record and no live episode of
        its own: a tree search steps from many states at once, one twin per concurrent branch."""
        twin = StepDriver(self.env, self.task, seed=self.seed, rules=self.rules, name=self.name)
        twin.start, twin._caught_up = self.start, True
        return twin

    def goto(self, record: Record) -> None:
        """Stand at `record` (a state reached elsewhere: a search node): the next live step restores the live
        episode from its snapshot first, and a scorer's `live()` sees that state."""
        if record is not self.record:
            self._in_sync = False
            self._caught_up = True
            self._learn(record)

    # --- the effects ---

    @classmethod
    def replaying(cls, name: str = "env") -> StepDriver:
        """A driver with no environment, for an agent built to replay a run: every record is served from
        the journal (the requests do not name the environment or the task), and performing one is an error."""
        return cls(None, None, name=name)

    def reset_request(self) -> dict[str, Any]:
        # The environment and the task are not in it (the state's hash, `history`, holds them), so that
        # an agent rebuilt for replay without its environment asks the same.
        return {"op": "reset", "seed": self.seed}

    @property
    def root(self) -> str:
        """The hash of the environment, the task and the seed: the first `history` of this episode."""
        if self.task is None:
            return ""
        identity = {"env": self.name, "task": self.task.id, "seed": self.seed}
        return hashlib.sha256(_json.dumps(identity, sort_keys=True)).hexdigest()

    @property
    def label(self) -> str:
        return self.name if self.task is None else f"{self.name} task {self.task.id}"

    async def reset(self, ctx: Context | None = None) -> Observation:
        """Start the episode (one `env` effect); its first observation. Effects go in `ctx.scope`, or, with
        no context, in a scope named after the effect this is called inside (a tool call)."""
        where = self._where(ctx)
        await self._reset_at(where)
        assert self.record is not None
        return self.record.outcome.observation

    async def step(self, action: str, ctx: Context | None = None) -> StepOutcome:
        """Take one action (one `env` effect), with the rules applied; the reset first if there was none.
        A step after the end is a `UserError` (check `progress.done`)."""
        if not isinstance(action, str):
            raise UserError(f"an action is text, got {type(action).__name__}")
        where = self._where(ctx)
        if self.record is None:
            await self._reset_at(where)
        assert self.record is not None
        before = self.record.progress
        if before.done:
            raise UserError(f"{self.label}: the episode has ended "
                            f"({before.stopped or 'the environment ended it'}); no step after the end")
        request = {"op": "step", "action": action, "after": before.history}

        async def perform(in_sync: bool) -> Record:
            episode = self._live_episode()
            if not in_sync:
                assert self.record is not None
                episode.restore(self.record.snapshot)
                self.restores += 1
            outcome = await episode.step(action)
            progress, outcome = before.after(action, outcome, self.rules)
            return Record(outcome, episode.snapshot(), progress)

        return (await self._effect(where, request, perform)).outcome

    async def observe(self, ctx: Context | None = None) -> Observation:
        """The current observation, after the reset if the episode has not started (one `env` effect then)."""
        where = self._where(ctx)
        if self.record is None:
            await self._reset_at(where)
        assert self.record is not None
        return self.record.outcome.observation

    async def live(self) -> StepEpisode:
        """The live episode in the state of the last record (made and restored if need be): for a scorer
        that inspects it (a database, a page)."""
        if self.record is None:
            raise UserError(f"{self.label}: the episode never started")
        episode = self._live_episode()
        if not self._in_sync:
            episode.restore(self.record.snapshot)
            self.restores += 1
            self._in_sync = True
        return episode

    async def close(self) -> None:
        episode, self._episode, self._in_sync = self._episode, None, False
        if episode is not None:
            await episode.close()

    # --- inside ---

    def _where(self, ctx: Context | None) -> _Where:
        """Where this call's effects go: the caller's context; else a scope named after the effect the call
        is made inside (a tool call), whose entry commits with that effect's; else nowhere (no run)."""
        if ctx is not None:
            return _Where(ctx.gateway, ctx.scope, nested=False)
        gateway = current_gateway()
        if gateway is None:
            return _Where(None, None, nested=False)
        inside = current_effect()
        if inside is None:
            raise UserError(f"{self.name}: in a run, a step is made through a context (`driver.step(action, ctx)`) "
                            "or inside a journaled effect (a tool call); this one is neither")
        path, seq = inside
        nested = self._nested
        if nested is None or nested[0] is not gateway or nested[1] != inside:
            # One scope per enclosing effect: a tool that steps twice puts both steps in it, one after the other
            # (a new Scope of the same path would start again at seq 0, over the first step's entry).
            nested = self._nested = (gateway, inside, Scope(f"{path}/{NESTED}#{seq}" if path else f"{NESTED}#{seq}"))
        where = _Where(gateway, nested[2], nested=True)
        if not self._caught_up:
            self._catch_up(where)
        return where

    async def _reset_at(self, where: _Where) -> None:
        request = self.reset_request()

        async def perform(in_sync: bool) -> Record:
            episode = self._live_episode()
            observation = await episode.reset(self.seed)
            history = self.root
            rules = self.rules
            start = {"actions": episode.action_space.description.strip(),
                     "rules": {"max_steps": rules.max_steps, "max_parse_failures": rules.max_parse_failures,
                               "max_repeated_actions": rules.max_repeated_actions}}
            return Record(StepOutcome(observation), episode.snapshot(), Progress(history=history, root=history), start)

        await self._effect(where, request, perform)

    async def _effect(self, where: _Where, request: dict[str, Any],
                      perform: Callable[[bool], Awaitable[Record]]) -> Record:
        live = False

        async def performed() -> dict[str, Any]:
            nonlocal live
            live = True
            # Until the step is done the live episode's state is unknown (a failure leaves it half-way).
            in_sync, self._in_sync = self._in_sync, False
            data = (await perform(in_sync)).to_json()
            self.performed += 1
            self._in_sync = True
            return data

        gateway, scope = where.gateway, where.scope
        if gateway is None or scope is None:
            record = Record.from_json(await performed())
        else:
            # Nested in a tool call: local, so its entry is committed in one transaction with the call's.
            data = await gateway.effect(scope, KIND, self.name, request, performed,
                                        side_effects=self.side_effects, local=where.nested)
            if not is_record(data):
                raise CorruptJournalError(f"run {gateway.source_run_id}: the {KIND} entry at scope {scope.path!r} "
                                          "holds no step record (outcome, snapshot, progress)",
                                          run_id=gateway.source_run_id, scope=scope.path, seq=scope._seq - 1)
            record = Record.from_json(data)
        if not live:
            self._in_sync = False  # served: a live episode, if any, is not in this state
        self._learn(record)
        return record

    def _learn(self, record: Record) -> None:
        self.record = record
        if record.start is not None:
            self.start = record.start
        for listener in self._listeners:
            listener(record)

    def _live_episode(self) -> StepEpisode:
        if self._episode is None:
            if self.env is None or self.task is None:
                raise UserError(f"{self.name}: this agent was built to replay a run and has no environment; the "
                                "run asked for a step the journal does not hold")
            self._episode = self.env.step_episode(self.task)
        return self._episode

    def _catch_up(self, where: _Where) -> None:
        """Learn the last record of this episode that the run already holds: in a resumed or forked run the
        tool calls served from the journal did not reach the driver."""
        self._caught_up = True
        gateway = where.gateway
        if gateway is None or gateway.mode == "live" or gateway.journal is None:
            return
        record = latest_record(gateway.journal, gateway.run_id, self.name, root=self.root,
                               exclude=where.scope.path if where.scope else None)
        if record is not None:
            self._in_sync = False
            self._learn(record)


@dataclass(frozen=True)
class _Where:
    gateway: Gateway | None
    scope: Scope | None
    nested: bool


def latest_record(journal: Any, run: str, env_name: str, exclude: str | None = None, root: str = "") -> Record | None:
    """The last `env` record of `env_name` in run `run` (but not in scope `exclude`; with `root`, of that
    episode only: another task's episode in the same run is not this one's past): in the run itself,
    else (a fork that has not stepped yet) in its parents, among the steps made inside the calls the fork
    reused (the tool calls served into it)."""
    run_id: str | None = run
    depth = 0
    while run_id is not None and depth < 64:
        latest = None
        for entry in journal.entries(run_id):
            if (entry.kind != KIND or entry.name != env_name or entry.status != "ok" or entry.scope == exclude
                    or not is_record(entry.result)):
                continue
            if root and entry.result["progress"].get("root") != root:
                continue
            if depth and not _reused(journal, run, entry.scope):
                continue
            latest = entry
        if latest is not None:
            return Record.from_json(latest.result)
        run_id = journal.get_run(run_id).parent_id
        depth += 1
    return None


def _reused(journal: Any, run_id: str, scope: str) -> bool:
    """Whether the tool call a nested step scope (`…/env#N`) is named after is in `run_id` (served into a fork)."""
    parent, _, last = scope.rpartition("/")
    name, _, seq = last.partition("#")
    if name != NESTED or not seq.isdigit():
        return False
    entry = journal.get(run_id, parent, int(seq))
    return entry is not None and entry.status == "ok"
