"""Group chat: members take turns on one shared thread; who speaks next is picked by a rule, a
function, a model, or by the last speaker handing the conversation over.

A member is any agent (`async run(task, ctx)`), named and described. Members are stateless
between turns: each turn, the member runs once on a prompt that shows the task, the team and the
thread so far, in its own child scope of the journal (`coder`, `coder#2`, …), so cost, tokens and
calls are reported per member and a replay serves every turn from the journal.

Speaker selection (`selector`):
- `round_robin()` (the default): members in order, starting with the first;
- any function `(SelectionState) -> name` (sync or async): a rule of your own;
- `ModelSelector(model)`: a model reads the thread and names the next member; a reply that names
  no member (or several) is sent back with the reason, up to `max_attempts` times (3, as AutoGen's
  `SelectorGroupChat` `max_selector_attempts`; microsoft/autogen
  python/packages/autogen-agentchat/src/autogen_agentchat/teams/_group_chat/_selector_group_chat.py).

Hand-off, by reply marker (chosen over a `handoff_to(name)` tool because it works with every
member, including ones that have no tools, such as a CodeAct agent or a nested team): a reply
with a line `HANDOFF: <name>` makes `<name>` the next speaker, overriding the selector. A marker
naming no member is ignored (the selector picks). The marker line stays in the thread (others see
who handed over) and is removed from the team's final answer.

Ending: a reply with a line `TERMINATE` (AutoGen's convention) ends the chat, as does a
`termination(thread)` function returning true, or `max_turns` turns. The answer is the last
reply, without marker lines.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..agents.tool_calling import AgentResult
from ..errors import ConfigError, StepLimitExceeded, UnexpectedModelBehavior
from ..prompts import render
from ..protocols import Agent, Model
from ..runtime.context import Context
from ..types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts" / "group_chat"
HANDOFF = "HANDOFF"
TERMINATE = "TERMINATE"
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # a journal scope name and an OpenAI message `name`


@dataclass(frozen=True)
class Participant:
    """A team member: an agent with a name (its journal scope) and a description others read."""

    name: str
    """Unique in the team; letters, digits, `_` and `-` (at most 64)."""
    agent: Agent
    description: str = ""
    """One or two lines: what this member is good at (shown to the selector and the other members)."""


def check_participants(participants: Sequence[Participant], reserved: Sequence[str] = ()) -> list[Participant]:
    """The participants as a list; raises ConfigError on an empty team, a bad or repeated name."""
    members = list(participants)
    if not members:
        raise ConfigError("a team needs at least one participant")
    seen: set[str] = set()
    for p in members:
        if not _NAME.match(p.name):
            raise ConfigError(f"participant name {p.name!r} must match {_NAME.pattern}")
        if p.name in seen or p.name in reserved:
            raise ConfigError(f"participant name {p.name!r} is used twice (or reserved: {list(reserved)})")
        seen.add(p.name)
    return members


def team_description(participants: Sequence[Participant]) -> str:
    """One line per member, `name: description`, whitespace collapsed (as Magentic-One's team text)."""
    return "\n".join(re.sub(r"\s+", " ", f"{p.name}: {p.description}").strip() for p in participants)


def answer_text(outcome: Any) -> str:
    """A member's reply: its answer (an `AgentResult`'s or a plain string), never None."""
    if outcome is None:
        return ""
    if isinstance(outcome, str):
        return outcome
    return outcome.answer or ""


async def take_turn(participant: Participant, prompt: str, ctx: Context) -> str:
    """Run one member's turn in its own child scope; a member that fails in a way that is the
    model's doing (no answer within its step limit, unusable output) replies with what happened,
    so the team can react, instead of ending the team's run."""
    scope = ctx.child(participant.name)
    try:
        return answer_text(await participant.agent.run(prompt, scope))
    except (StepLimitExceeded, UnexpectedModelBehavior) as exc:
        return f"({participant.name} gave no answer: {type(exc).__name__}: {exc})"


def message(name: str, content: str, role: str = "assistant") -> dict[str, Any]:
    """A thread entry: who said it (`name`) and what."""
    return {"role": role, "name": name, "content": content}


def marker_target(text: str, marker: str) -> str | None:
    """The argument of the last `MARKER: value` line of `text`, if any."""
    found = re.findall(rf"^[ \t]*{re.escape(marker)}[ \t]*:[ \t]*(\S+)[ \t]*$", text, re.M)
    return found[-1].strip("`'\".,") if found else None


def has_marker_line(text: str, marker: str) -> bool:
    return re.search(rf"^[ \t]*{re.escape(marker)}[ \t]*$", text, re.M) is not None


def strip_markers(text: str, markers: Sequence[str] = (HANDOFF, TERMINATE)) -> str:
    """`text` without its marker lines (`TERMINATE`, `HANDOFF: name`)."""
    pattern = "|".join(re.escape(m) for m in markers)
    return re.sub(rf"^[ \t]*(?:{pattern})(?:[ \t]*:[ \t]*\S+)?[ \t]*$\n?", "", text, flags=re.M).strip()


# --- speaker selection ----------------------------------------------------------------------


@dataclass
class SelectionState:
    """What a selector sees when it picks the next speaker."""

    task: str
    participants: list[Participant]
    thread: list[dict[str, Any]]
    """Every message so far (the task first), each `{"role", "name", "content"}`."""
    last_speaker: str | None
    turn: int
    """How many member turns have been taken (0 before the first)."""

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.participants]


class SpeakerSelector(Protocol):
    async def select(self, state: SelectionState, ctx: Context) -> str: ...


Selector = SpeakerSelector | Callable[[SelectionState], str | Awaitable[str]]


def round_robin() -> Callable[[SelectionState], str]:
    """Members in their order, starting with the first; after a hand-off, the one after the speaker."""

    def select(state: SelectionState) -> str:
        names = state.names
        if state.last_speaker not in names:
            return names[0]
        return names[(names.index(state.last_speaker) + 1) % len(names)]

    return select


class ModelSelector:
    """A model names the next speaker from the thread (in scope `selector` of the team)."""

    def __init__(self, model: Model, *, template: str | Path = PROMPTS / "select_speaker.j2", max_attempts: int = 3,
                 sampling: dict[str, Any] | None = None) -> None:
        if max_attempts < 1:
            raise ConfigError("ModelSelector max_attempts must be at least 1")
        self.model, self.template, self.max_attempts = model, template, max_attempts
        self.sampling = dict(sampling or {})

    async def select(self, state: SelectionState, ctx: Context) -> str:
        prompt = render(self.template, task=state.task, team=team_description(state.participants), names=state.names,
                        thread=state.thread[1:], last_speaker=state.last_speaker)
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        problem = ""
        for _ in range(self.max_attempts):
            response = await ctx.model(self.model, ModelRequest(messages=list(messages), **self.sampling))
            name, problem = pick_name(response.text, state.names)
            if name is not None:
                return name
            messages += [{"role": "assistant", "content": response.text},
                         {"role": "user", "content": render(PROMPTS / "select_retry.j2", problem=problem,
                                                            names=state.names)}]
        raise UnexpectedModelBehavior(f"the speaker selector named no team member in {self.max_attempts} "
                                      f"attempts: {problem}")


def pick_name(text: str, names: Sequence[str]) -> tuple[str | None, str]:
    """The one member `text` names: the whole reply, or else the only member mentioned in it."""
    bare = text.strip().strip("`'\".*: \n")
    if bare in names:
        return bare, ""
    mentioned = [n for n in names if re.search(rf"(?<![A-Za-z0-9_-]){re.escape(n)}(?![A-Za-z0-9_-])", text)]
    if len(mentioned) == 1:
        return mentioned[0], ""
    if not mentioned:
        return None, f"the reply {text.strip()[:200]!r} names no member"
    return None, f"the reply names several members ({', '.join(mentioned)})"


async def _select(selector: Selector, state: SelectionState, ctx: Context) -> str:
    if hasattr(selector, "select"):
        return await selector.select(state, ctx)  # type: ignore[union-attr]
    name = selector(state)  # type: ignore[operator]
    return await name if inspect.isawaitable(name) else name


# --- the team ---------------------------------------------------------------------------------


@dataclass
class GroupChatResult(AgentResult):
    speakers: list[str] = field(default_factory=list)
    """Who spoke, turn by turn."""
    stop_reason: str = ""
    """`terminate` (a member's marker), `termination` (the function), or `max_turns`."""


class GroupChat:
    """Members take turns on one thread until one says `TERMINATE`, `termination(thread)` holds,
    or `max_turns` turns have been taken. Itself an agent, so group chats nest."""

    def __init__(self, participants: Sequence[Participant], *, selector: Selector | None = None, max_turns: int = 10,
                 handoffs: bool = True, terminate_marker: str | None = TERMINATE,
                 termination: Callable[[list[dict[str, Any]]], bool] | None = None,
                 turn_template: str | Path = PROMPTS / "turn.j2", name: str = "group_chat") -> None:
        self.participants = check_participants(participants, reserved=("selector",))
        if max_turns < 1:
            raise ConfigError("GroupChat max_turns must be at least 1")
        self.selector: Selector = selector or round_robin()
        self.max_turns, self.handoffs, self.terminate_marker = max_turns, handoffs, terminate_marker
        self.termination, self.turn_template, self.name = termination, turn_template, name
        self._by_name = {p.name: p for p in self.participants}

    async def run(self, task: str, ctx: Context) -> GroupChatResult:
        thread = [message("user", task, role="user")]
        selector_ctx = ctx.child("selector")
        speakers: list[str] = []
        handoff: str | None = None
        stop = "max_turns"
        for turn in range(self.max_turns):
            ctx.step()
            state = SelectionState(task, self.participants, thread, speakers[-1] if speakers else None, turn)
            speaker = handoff or await _select(self.selector, state, selector_ctx)
            if speaker not in self._by_name:
                raise ConfigError(f"the selector chose {speaker!r}, who is not in the team {state.names}")
            member = self._by_name[speaker]
            prompt = render(self.turn_template, task=task, name=speaker, description=member.description,
                            team=team_description(self.participants), thread=thread[1:],
                            handoff=HANDOFF if self.handoffs else None, terminate=self.terminate_marker)
            reply = await take_turn(member, prompt, ctx)
            thread.append(message(speaker, reply))
            speakers.append(speaker)
            target = marker_target(reply, HANDOFF) if self.handoffs else None
            handoff = target if target in self._by_name else None
            if self.terminate_marker and has_marker_line(reply, self.terminate_marker):
                stop = "terminate"
                break
            if self.termination is not None and self.termination(thread):
                stop = "termination"
                break
        answer = strip_markers(thread[-1]["content"], [HANDOFF] + ([self.terminate_marker] if self.terminate_marker else []))
        return GroupChatResult(answer, thread, len(speakers), speakers, stop)
