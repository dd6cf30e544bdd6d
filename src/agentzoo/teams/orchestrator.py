"""An orchestrator with a task ledger and a progress ledger: Magentic-One's control loop (#34).

Fourney et al., "Magentic-One: A Generalist Multi-Agent System for Solving Complex Tasks" (2024);
code: microsoft/autogen@027ecf0a37 python/packages/autogen-agentchat/src/autogen_agentchat/teams/
_group_chat/_magentic_one/_magentic_one_orchestrator.py (`MagenticOneOrchestrator`), and the legacy
package microsoft/autogen@cd9dca4740 python/packages/autogen-magentic-one/src/autogen_magentic_one/
agents/orchestrator.py (`LedgerOrchestrator`, removed in 088a50faa).

The loop (the same in both sources; where they differ it is an option here):

- Outer loop. The orchestrator writes the **task ledger**: a fact sheet (facts given, to look
  up, to derive, educated guesses), then a plan, as two model calls in one conversation. It
  resets the members, clears the thread and broadcasts the ledger (task, team, facts, plan).
- Inner loop, each round: unless a limit is reached, the orchestrator asks for the **progress
  ledger**, a JSON object with five `{reason, answer}` fields: `is_request_satisfied`,
  `is_in_loop`, `is_progress_being_made`, `next_speaker`, `instruction_or_question`. A reply
  that is not that JSON, or names a `next_speaker` outside the team (while the request is not
  satisfied), is asked again, up to `max_json_retries` (10 in both sources) times in all. A
  one-member team gets its only member as `next_speaker`, as agentchat does.
  Satisfied → the final answer. Otherwise the stall policy counts the round and says: continue
  (broadcast the instruction; the named member takes a turn, its reply is broadcast), re-plan
  (ask for an updated fact sheet, then a new plan that says what went wrong; re-enter the outer
  loop) or stop.
- The final answer: one model call on the thread, whatever ended the loop.

Stall policies (the two published variants):
- `DecayingStalls` (agentchat): +1 when not progressing or in a loop, else `max(0, n - 1)`;
  re-plan when `n >= max_stalls` (3); the count is NOT reset by a re-plan (only at the start), so
  after a first re-plan each further stalled round re-plans again; no limit on re-plans; the run
  ends with the final answer when `rounds > max_turns` (20) is seen before a round, i.e. after
  `max_turns + 1` progress ledgers.
- `BoundedReplans` (legacy): +1 when stalled, no decrement; re-plan when `n > 3`
  (`max_stalls_before_replan`), which resets the count to 0; a re-plan beyond `max_replans` (3)
  stops the run; `max_rounds` (20) limits member turns (`turns >= max_rounds` stops).

Members are agents (`async run(task, ctx)`), each turn in its own child scope. A member is
stateless between turns here: what it knows is the thread since the last reset, which is what
the broadcasts gave it in the sources. Resetting a member clears that thread (and calls its
`reset()`, if it has one).

Where this differs from the code, on purpose:
- A `next_speaker` outside the team is asked again, counting against the retries. agentchat's
  loop means to (it sets the error flag) but `break`s out and raises at once; the legacy
  package ends the run ("No agent selected").
- Answers are checked for type (JSON booleans, strings); agentchat only checks the keys, so
  `"answer": "false"` would count as true there.
- The final answer is always produced. The legacy orchestrator produces it only when the request
  is satisfied and `return_final_answer=True` (its default is False); its benchmark scenarios
  ask a separate answer-preparing prompt over the transcript after any ending.
- agentchat sends the progress request with JSON output (or a structured-output schema when the
  client supports one); here `response_format` is `{"type": "json_object"}` unless changed, and a
  fenced ```json block is also accepted (agentchat's `extract_json_from_str` does the same).
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal, Protocol

from ..agents.tool_calling import AgentResult
from .. import replies
from ..errors import ConfigError, FormatError, UnexpectedModelBehavior
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest
from .group_chat import Participant, check_participants, message, take_turn, team_description

Decision = Literal["continue", "replan", "stop"]
JSON_OBJECT: dict[str, Any] = {"type": "json_object"}
"""The progress ledger's default `response_format` (agentchat asks for JSON output)."""
BOOL_FIELDS = ("is_request_satisfied", "is_in_loop", "is_progress_being_made")
TEXT_FIELDS = ("next_speaker", "instruction_or_question")


@dataclass(frozen=True)
class LedgerPrompts:
    """The orchestrator's templates (Jinja, StrictUndefined) and the variables each gets."""

    facts: Path
    """The fact-sheet survey. Variables: `task`."""
    plan: Path
    """The first plan, after the fact sheet. Variables: `team`."""
    ledger: Path
    """The task ledger broadcast to the team. Variables: `task`, `team`, `facts`, `plan`."""
    progress: Path
    """The progress-ledger questions and JSON schema. Variables: `task`, `team`, `names`."""
    facts_update: Path
    """Rewrite the fact sheet after a stall. Variables: `task`, `facts`."""
    plan_update: Path
    """What went wrong, and a new plan. Variables: `team`."""
    final_answer: Path
    """The answer to the user. Variables: `task`, `reason`."""
    turn: Path
    """A member's turn. Variables: `task`, `name`, `description`, `team`, `thread`, `instruction`."""
    retry: Path
    """Sent back after an invalid progress ledger (with `retry_feedback`). Variables: `problem`, `names`."""

    @classmethod
    def from_dir(cls, folder: str | Path) -> LedgerPrompts:
        """`<field>.j2` for every field, from one folder."""
        return cls(**{f.name: Path(folder) / f"{f.name}.j2" for f in fields(cls)})


# --- the progress ledger ---------------------------------------------------------------------


@dataclass(frozen=True)
class ProgressLedger:
    """One validated progress ledger."""

    is_request_satisfied: bool
    is_in_loop: bool
    is_progress_being_made: bool
    next_speaker: str
    instruction_or_question: str
    reasons: dict[str, str] = field(default_factory=dict)

    @property
    def stalled(self) -> bool:
        """A stalled round: in a loop, or not making progress (both sources)."""
        return self.is_in_loop or not self.is_progress_being_made

    def to_json(self) -> dict[str, Any]:
        return {key: {"reason": self.reasons.get(key, ""), "answer": getattr(self, key)}
                for key in BOOL_FIELDS + TEXT_FIELDS}


class InvalidLedger(ValueError):
    """A progress-ledger reply that cannot be used; `problem` says why (it can go back to the model)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def parse_progress_ledger(text: str, names: Sequence[str]) -> ProgressLedger:
    """Validate a progress-ledger reply against the schema and the team; raises `InvalidLedger`."""
    data = _json_object(text)
    if len(names) == 1:  # a one-member team: the speaker is not the model's choice (agentchat)
        data["next_speaker"] = {"reason": "The team has one member.", "answer": names[0]}
    for key in BOOL_FIELDS + TEXT_FIELDS:
        item = data.get(key)
        if not isinstance(item, dict) or "answer" not in item or "reason" not in item:
            raise InvalidLedger(f"field {key!r} must be an object with 'reason' and 'answer'")
        kind = bool if key in BOOL_FIELDS else str
        if not isinstance(item["answer"], kind):
            raise InvalidLedger(f"{key}.answer must be a JSON {'boolean' if kind is bool else 'string'}, "
                                f"not {item['answer']!r}")
    if not data["is_request_satisfied"]["answer"] and data["next_speaker"]["answer"] not in names:
        raise InvalidLedger(f"next_speaker {data['next_speaker']['answer']!r} is not on the team "
                            f"(choose from {', '.join(names)})")
    reasons = {key: str(data[key]["reason"]) for key in BOOL_FIELDS + TEXT_FIELDS}
    return ProgressLedger(*(data[key]["answer"] for key in BOOL_FIELDS + TEXT_FIELDS), reasons=reasons)


def _json_object(text: str) -> dict[str, Any]:
    """The JSON object of `text`: the whole reply, or a fenced block; not one within prose, as
    agentchat's `extract_json_from_str`."""
    try:
        return replies.json_object(text, in_prose=False)
    except FormatError:
        raise InvalidLedger("the reply is not one JSON object") from None


# --- stall policies --------------------------------------------------------------------------


@dataclass
class LedgerState:
    """The orchestrator's counters and task ledger, as the stall policy sees them."""

    task: str
    facts: str = ""
    plan: str = ""
    rounds: int = 0
    """Progress ledgers asked so far (each round asks one, whatever it decides)."""
    turns: int = 0
    """Member turns taken so far."""
    stalls: int = 0
    replans: int = 0
    """Re-plans done so far (the first plan is not one)."""


class StallPolicy(Protocol):
    def limit_reached(self, state: LedgerState) -> str | None:
        """Checked before each round: a reason to stop (and answer), or None."""
        ...

    def judge(self, ledger: ProgressLedger, state: LedgerState) -> Decision:
        """After a ledger that is not satisfied: count the stall, then continue, re-plan or stop."""
        ...


@dataclass(frozen=True)
class DecayingStalls:
    """agentchat's `MagenticOneOrchestrator._orchestrate_step` (defaults of `MagenticOneGroupChat`:
    `max_turns=20`, `max_stalls=3`)."""

    max_stalls: int = 3
    max_turns: int | None = 20

    def limit_reached(self, state: LedgerState) -> str | None:
        if self.max_turns is not None and state.rounds > self.max_turns:
            return f"max_turns: {state.rounds} rounds > {self.max_turns}"
        return None

    def judge(self, ledger: ProgressLedger, state: LedgerState) -> Decision:
        state.stalls = state.stalls + 1 if ledger.stalled else max(0, state.stalls - 1)
        return "replan" if state.stalls >= self.max_stalls else "continue"


@dataclass(frozen=True)
class BoundedReplans:
    """The legacy `LedgerOrchestrator._select_next_agent` (defaults `max_rounds=20`,
    `max_stalls_before_replan=3`, `max_replans=3`; `max_time=inf` is not modelled)."""

    max_rounds: int = 20
    max_stalls_before_replan: int = 3
    max_replans: int = 3

    def limit_reached(self, state: LedgerState) -> str | None:
        if state.turns >= self.max_rounds:
            return f"max_rounds: {state.turns} turns >= {self.max_rounds}"
        return None

    def judge(self, ledger: ProgressLedger, state: LedgerState) -> Decision:
        if not ledger.stalled:
            return "continue"
        state.stalls += 1
        if state.stalls <= self.max_stalls_before_replan:
            return "continue"
        state.stalls = 0
        return "stop" if state.replans + 1 > self.max_replans else "replan"


# --- the orchestrator ------------------------------------------------------------------------


@dataclass
class OrchestratorResult(AgentResult):
    """`messages` is every message broadcast to the team, in order (each `{"role", "name",
    "content"}`: task ledgers, instructions, replies), then the final answer."""

    facts: str = ""
    plan: str = ""
    replans: int = 0
    turns: int = 0
    stop_reason: str = ""
    """`satisfied: <reason>`, a limit's reason, or `stopped: …` (the policy's stop)."""
    ledgers: list[dict[str, Any]] = field(default_factory=list)
    """Each round's accepted progress ledger, with `round`, `decision` and `stalls` after it."""
    rejected: list[dict[str, Any]] = field(default_factory=list)
    """Progress-ledger replies that were asked again: `{"round", "reply", "problem"}`."""


class Orchestrator:
    """A team led by a ledger-keeping orchestrator. Itself an agent, so it nests.

    `retry_feedback`: after an invalid progress ledger, send the reply back with what is wrong
    (the legacy package) instead of asking the same request again (agentchat).
    `thread_starts_with_task`: the task stays the first message of the thread across resets (the
    legacy package keeps `chat_history[0]`); otherwise the thread starts at the task ledger.
    `response_format` goes with each progress-ledger request (None for servers without JSON mode).
    """

    def __init__(self, model: Model, participants: Sequence[Participant], prompts: LedgerPrompts, *,
                 policy: StallPolicy | None = None, max_json_retries: int = 10, retry_feedback: bool = False,
                 thread_starts_with_task: bool = False, system: str | None = None,
                 sampling: dict[str, Any] | None = None,
                 response_format: dict[str, Any] | None = JSON_OBJECT,
                 name: str = "orchestrator") -> None:
        self.participants = check_participants(participants, reserved=(name,))
        if max_json_retries < 1:
            raise ConfigError("max_json_retries must be at least 1")
        self.model, self.prompts, self.policy = model, prompts, policy or DecayingStalls()
        self.max_json_retries, self.retry_feedback = max_json_retries, retry_feedback
        self.thread_starts_with_task, self.system, self.name = thread_starts_with_task, system, name
        self.sampling, self.response_format = dict(sampling or {}), response_format
        self.team = team_description(self.participants)
        self.names = [p.name for p in self.participants]

    async def run(self, task: str, ctx: Context) -> OrchestratorResult:
        return await _Session(self, task, ctx).run()


class _Session:
    """One run of an orchestrator: its thread, transcript and counters."""

    def __init__(self, team: Orchestrator, task: str, ctx: Context) -> None:
        self.team, self.ctx = team, ctx
        self.me = ctx.child(team.name)  # the orchestrator's own calls, before any member's scope
        self.state = LedgerState(task)
        self.thread: list[dict[str, Any]] = self._fresh_thread()
        self.transcript: list[dict[str, Any]] = []
        self.result = OrchestratorResult(None)

    async def run(self) -> OrchestratorResult:
        team, state = self.team, self.state
        await self._task_ledger(team.prompts.facts, dict(task=state.task), team.prompts.plan)
        await self._enter_outer_loop()
        while True:
            reason = team.policy.limit_reached(state)
            if reason is not None:
                break
            self.me.step()
            state.rounds += 1
            ledger = await self._progress_ledger()
            if ledger.is_request_satisfied:
                self._note(ledger, "satisfied")
                reason = f"satisfied: {ledger.reasons.get('is_request_satisfied', '')}"
                break
            decision = team.policy.judge(ledger, state)
            self._note(ledger, decision)
            if decision == "stop":
                reason = f"stopped: {state.replans} re-plans done, stalled again"
                break
            if decision == "replan":
                await self._task_ledger(team.prompts.facts_update, dict(task=state.task, facts=state.facts),
                                        team.prompts.plan_update)
                state.replans += 1
                await self._enter_outer_loop()
                continue
            await self._turn(ledger)
        return await self._finish(reason)

    # --- the outer loop ----------------------------------------------------------------------

    async def _task_ledger(self, facts_template: Path, facts_vars: dict[str, Any], plan_template: Path) -> None:
        """Facts, then plan, in one conversation that starts from the current thread."""
        convo = self._context() + [{"role": "user", "content": render(facts_template, **facts_vars)}]
        self.state.facts = await self._ask(convo)
        convo += [{"role": "assistant", "content": self.state.facts},
                  {"role": "user", "content": render(plan_template, team=self.team.team)}]
        self.state.plan = await self._ask(convo)

    async def _enter_outer_loop(self) -> None:
        """Reset the members, clear the thread, broadcast the task ledger."""
        for p in self.team.participants:
            reset = getattr(p.agent, "reset", None)
            if callable(reset) and inspect.isawaitable(outcome := reset()):
                await outcome
        self.thread = self._fresh_thread()
        self._broadcast(self.team.name, render(self.team.prompts.ledger, task=self.state.task, team=self.team.team,
                                               facts=self.state.facts, plan=self.state.plan))

    # --- the inner loop ----------------------------------------------------------------------

    async def _progress_ledger(self) -> ProgressLedger:
        team = self.team
        prompt = render(team.prompts.progress, task=self.state.task, team=team.team, names=team.names)
        convo = self._context() + [{"role": "user", "content": prompt}]
        problem = ""
        for _ in range(team.max_json_retries):
            reply = await self._ask(convo, json_output=True)
            try:
                return parse_progress_ledger(reply, team.names)
            except InvalidLedger as exc:
                problem = exc.problem
                self.result.rejected.append({"round": self.state.rounds, "reply": reply, "problem": problem})
                if team.retry_feedback:
                    convo += [{"role": "assistant", "content": reply},
                              {"role": "user", "content": render(team.prompts.retry, problem=problem,
                                                                 names=team.names)}]
        raise UnexpectedModelBehavior(f"{team.name}: no valid progress ledger in {team.max_json_retries} "
                                      f"attempts (round {self.state.rounds}); last problem: {problem}")

    async def _turn(self, ledger: ProgressLedger) -> None:
        member = next(p for p in self.team.participants if p.name == ledger.next_speaker)
        self._broadcast(self.team.name, ledger.instruction_or_question)
        prompt = render(self.team.prompts.turn, task=self.state.task, name=member.name,
                        description=member.description, team=self.team.team, thread=list(self.thread),
                        instruction=ledger.instruction_or_question)
        reply = await take_turn(member, prompt, self.ctx)
        self.state.turns += 1
        self._broadcast(member.name, reply)

    async def _finish(self, reason: str) -> OrchestratorResult:
        prompt = render(self.team.prompts.final_answer, task=self.state.task, reason=reason)
        answer = await self._ask(self._context() + [{"role": "user", "content": prompt}])
        self._broadcast(self.team.name, answer)
        r, s = self.result, self.state
        r.answer, r.messages, r.steps, r.stop_reason = answer, self.transcript, s.rounds, reason
        r.facts, r.plan, r.replans, r.turns = s.facts, s.plan, s.replans, s.turns
        return r

    # --- helpers -----------------------------------------------------------------------------

    def _fresh_thread(self) -> list[dict[str, Any]]:
        if self.team.thread_starts_with_task:
            return [message("user", self.state.task, role="user")]
        return []

    def _broadcast(self, name: str, content: str) -> None:
        entry = message(name, content)
        self.thread.append(entry)
        self.transcript.append(entry)

    def _context(self) -> list[dict[str, Any]]:
        """The thread as the orchestrator's conversation: its own messages as `assistant`, the
        others' as `user` messages carrying the speaker's `name` (agentchat `_thread_to_context`)."""
        out: list[dict[str, Any]] = [{"role": "system", "content": self.team.system}] if self.team.system else []
        for m in self.thread:
            if m["name"] == self.team.name:
                out.append({"role": "assistant", "content": m["content"]})
            elif m["role"] == "user":
                out.append({"role": "user", "content": m["content"]})
            else:
                out.append({"role": "user", "name": m["name"], "content": m["content"]})
        return out

    async def _ask(self, messages: list[dict[str, Any]], json_output: bool = False) -> str:
        extra = {"response_format": self.team.response_format} if json_output and self.team.response_format else {}
        response = await self.me.model(self.team.model, ModelRequest(messages=list(messages),
                                                                      **{**self.team.sampling, **extra}))
        return response.text

    def _note(self, ledger: ProgressLedger, decision: str) -> None:
        self.result.ledgers.append({"round": self.state.rounds, **ledger.to_json(), "decision": decision,
                                    "stalls": self.state.stalls})
