"""A pipeline of roles over a publish/subscribe message pool, with typed documents between stages.

The shape is MetaGPT's (Hong et al., ICLR 2024; geekan/MetaGPT `metagpt/environment/base_env.py`
`Environment`, `metagpt/roles/role.py` `Role`, `metagpt/team.py` `Team.run`):

- every message says which action caused it (`cause_by`), who sent it and to whom (`send_to`:
  `ALL`, or role names, or nobody); publishing records it in the pool's history;
- a role *watches* action types: it receives a message sent to `ALL` whose `cause_by` it
  watches, and any message addressed to it by name (`Role._observe`: `cause_by in watch or
  name in send_to`);
- a round: every role with news acts once on all of its news, concurrently; `run` stops when
  no role has news (`Environment.is_idle`) or after `n_round` rounds (`Team.run`);
- a document a message carries (a structured output) is validated against the schema of its
  action type when it is delivered to another stage, and a model writes documents through
  `write_document`, which validates its reply and, when it does not validate, sends the model
  the validation error and asks again (upstream re-sends the same prompt: `ActionNode._aask_v1`,
  tenacity `stop_after_attempt(6)`).

Two differences from upstream, for deterministic replay: the messages a role publishes during
a round are delivered after the round, in roster order (upstream delivers them as they are
published, so a role that has not yet observed may see them in the same round, depending on
scheduling); and each role acts in its own child scope of the journal (`<role name>`), created
in roster order before the first round, so cost, tokens and calls are attributed per role and
concurrent roles replay deterministically. Roles keep no state of their own between acts:
what they need is in the pool (`Turn.pool`) and in `Turn.acts`, so an agent runs many times.

    team = Pipeline([
        DocumentRole("writer", model, watch=["UserRequirement"], action="Draft", schema=Draft, prompt=...),
        DocumentRole("critic", model, watch=["Draft"], action="Critique", schema=Critique, prompt=...),
    ], schemas={"Draft": Draft, "Critique": Critique}, n_round=5)
    result = await agentzoo.run(team, "Write about owls.")

A role is anything with `name`, `watch` and `async act(turn, ctx)` (`Role`); `DocumentRole`
(one model-written document per act) and `AgentRole` (any agent, a team too) are ready-made.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from ..agents.tool_calling import AgentResult
from .. import replies
from ..errors import ConfigError, FormatError, UnexpectedModelBehavior
from ..protocols import Agent, Model
from ..runtime.context import Context
from ..types import ModelRequest
from .parallel import gather

__all__ = ["ALL", "NOBODY", "USER", "USER_REQUIREMENT", "AgentRole", "DocumentInvalid", "DocumentRole", "Message",
           "MessagePool", "ParseError", "Pipeline", "PipelineResult", "Role", "Turn", "Written", "check_document",
           "check_python", "code_block", "default_feedback", "describe_errors", "describe_schema", "parse_json",
           "write_document"]

ALL = "<all>"
"""`send_to` value: every role that watches the message's `cause_by` (upstream `MESSAGE_ROUTE_TO_ALL`)."""
NOBODY: tuple[str, ...] = ()
"""`send_to` value: recorded in the history, delivered to no role (upstream `MESSAGE_ROUTE_TO_NONE`)."""
USER_REQUIREMENT = "UserRequirement"
"""The `cause_by` of the task the pipeline starts from (upstream `UserRequirement`)."""
USER = "user"
"""The `sent_from` of the task."""


@dataclass(frozen=True)
class Message:
    """One message of the pool. Plain JSON all through, so a run's history compares and serialises."""

    content: str
    """The text (for a document, the model's accepted reply)."""
    cause_by: str
    """The action type that produced it; roles watch these."""
    sent_from: str = ""
    """The role that published it (the pipeline sets it), or `user` for the task."""
    send_to: tuple[str, ...] = (ALL,)
    """`(ALL,)`, role names, or `()` for nobody."""
    document: dict[str, Any] | None = None
    """The structured output it carries, as JSON (field aliases as keys), validated between stages."""

    def to_chat(self) -> dict[str, Any]:
        """The message in OpenAI chat shape, named by its sender (for trajectories and viewers)."""
        return {"role": "user" if self.sent_from == USER else "assistant", "name": self.sent_from,
                "content": self.content}

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class MessagePool:
    """Everything published so far, in publication order (read-only for roles)."""

    def __init__(self) -> None:
        self._history: list[Message] = []

    @property
    def history(self) -> tuple[Message, ...]:
        return tuple(self._history)

    def find(self, cause_by: str | Sequence[str] | None = None, sent_from: str | None = None) -> list[Message]:
        """The messages caused by `cause_by` (one type or several) and/or sent from `sent_from`."""
        kinds = {cause_by} if isinstance(cause_by, str) else set(cause_by) if cause_by is not None else None
        return [m for m in self._history
                if (kinds is None or m.cause_by in kinds) and (sent_from is None or m.sent_from == sent_from)]

    def latest(self, cause_by: str | Sequence[str] | None = None, sent_from: str | None = None) -> Message | None:
        found = self.find(cause_by, sent_from)
        return found[-1] if found else None

    def _publish(self, message: Message) -> None:
        self._history.append(message)


@dataclass(frozen=True)
class Turn:
    """What a role acts on: its news, the pool, and where the run is."""

    news: list[Message]
    """The messages delivered to this role since it last acted, in publication order."""
    pool: MessagePool
    """Everything published so far."""
    round: int
    """This round's number, from 1."""
    acts: int
    """How many times this role acted before, in this run."""
    task: str
    """The task the pipeline was given."""


class Role(Protocol):
    """A member of a pipeline: a name (its address and its journal scope) and the actions it watches."""

    name: str
    watch: frozenset[str]

    async def act(self, turn: Turn, ctx: Context) -> Message | Sequence[Message] | None:
        """Act on `turn.news`; return the messages to publish (their `sent_from` is set for you)."""
        ...


@dataclass
class PipelineResult(AgentResult):
    """An `AgentResult` (`messages` is the history in chat shape; `steps` the rounds) plus the history."""

    history: list[Message] = field(default_factory=list)
    rounds: int = 0
    idle: bool = True
    """True when the run ended because no role had news; False when it hit `n_round`."""


class DocumentInvalid(UnexpectedModelBehavior):
    """A document did not validate against its schema (after every attempt the model was given)."""


class Pipeline:
    """Roles over a publish/subscribe message pool; itself an agent, so pipelines nest.

    `run(task)` publishes the task as a `UserRequirement` message from `user`, then plays rounds
    until no role has news or `n_round` rounds have run. `schemas` maps an action type to the
    pydantic model its messages' documents must validate against whenever they are delivered;
    a document that does not is a `DocumentInvalid` (write documents with `write_document`,
    which lets the model correct itself first). `answer(pool)` makes the run's answer; by
    default, the content of the last message published.
    """

    def __init__(self, roles: Sequence[Role], *, n_round: int = 5,
                 schemas: Mapping[str, type[BaseModel]] | None = None,
                 answer: Callable[[MessagePool], str | None] | None = None, name: str = "pipeline") -> None:
        names = [role.name for role in roles]
        if not roles:
            raise ConfigError("a pipeline needs at least one role")
        if len(set(names)) != len(names):
            raise ConfigError(f"role names must be unique (they are addresses and journal scopes): {names}")
        if USER in names or ALL in names:
            raise ConfigError(f"{USER!r} and {ALL!r} are reserved and cannot name a role")
        if n_round < 1:
            raise ConfigError(f"n_round must be at least 1, not {n_round}")
        self.roles, self.n_round, self.name = list(roles), n_round, name
        self.schemas = dict(schemas or {})
        self.answer = answer or _last_content

    async def run(self, task: str, ctx: Context) -> PipelineResult:
        contexts = [ctx.child(role.name) for role in self.roles]  # roster order: deterministic scopes
        pool = MessagePool()
        inboxes: dict[str, list[Message]] = {role.name: [] for role in self.roles}
        acts = dict.fromkeys(inboxes, 0)
        self._publish(pool, inboxes, Message(task, USER_REQUIREMENT, USER))
        rounds = 0
        while rounds < self.n_round and any(inboxes.values()):
            rounds += 1
            active = [(role, rctx, inboxes[role.name]) for role, rctx in zip(self.roles, contexts)
                      if inboxes[role.name]]
            for role, _, _ in active:
                inboxes[role.name] = []
            turns = [Turn(news, pool, rounds, acts[role.name], task) for role, _, news in active]
            outputs = await gather([self._act(role, turn, rctx) for (role, rctx, _), turn in zip(active, turns)])
            for (role, _, _), out in zip(active, outputs):
                acts[role.name] += 1
                for message in out:
                    self._publish(pool, inboxes, message)
        history = list(pool.history)
        return PipelineResult(answer=self.answer(pool), messages=[m.to_chat() for m in history], steps=rounds,
                              history=history, rounds=rounds, idle=not any(inboxes.values()))

    async def _act(self, role: Role, turn: Turn, ctx: Context) -> list[Message]:
        ctx.step()
        out = await role.act(turn, ctx)
        messages = [] if out is None else [out] if isinstance(out, Message) else list(out)
        return [dataclasses.replace(m, sent_from=role.name, send_to=tuple(m.send_to)) for m in messages]

    def _publish(self, pool: MessagePool, inboxes: dict[str, list[Message]], message: Message) -> None:
        recipients = [role for role in self.roles
                      if role.name in message.send_to or (ALL in message.send_to and message.cause_by in role.watch)]
        if recipients and message.cause_by in self.schemas:
            check_document(message, self.schemas[message.cause_by])
        pool._publish(message)
        for role in recipients:
            inboxes[role.name].append(message)


def _last_content(pool: MessagePool) -> str | None:
    history = pool.history
    return history[-1].content if len(history) > 1 else None


def check_document(message: Message, schema: type[BaseModel]) -> None:
    """Raise `DocumentInvalid` unless `message.document` validates against `schema`."""
    if message.document is None:
        raise DocumentInvalid(f"{message.sent_from or 'a role'} published a {message.cause_by} message without "
                              f"the {schema.__name__} document it must carry")
    try:
        schema.model_validate(message.document)
    except ValidationError as exc:
        raise DocumentInvalid(f"{message.sent_from or 'a role'} published a {message.cause_by} document that is "
                              f"not a valid {schema.__name__}: {describe_errors(exc)}") from None


# --- structured outputs: validate the model's reply, feed the error back, ask again ------------


class ParseError(ValueError):
    """The reply holds no document to validate; the message says what is missing."""


@dataclass(frozen=True)
class Written:
    """A document a model wrote and the schema accepted."""

    document: BaseModel
    text: str
    """The accepted reply."""
    attempts: int
    messages: list[dict[str, Any]]
    """The conversation: the prompt, every reply, and the feedback after each rejected one."""

    def to_json(self) -> dict[str, Any]:
        return self.document.model_dump(mode="json", by_alias=True)


Parser = Callable[[str], Any]
Feedback = Callable[[str], str]


def default_feedback(error: str) -> str:
    return (f"Your reply was rejected: {error}\n"
            "Write the whole reply again in the required format, with these problems fixed.")


async def write_document(ctx: Context, model: Model, messages: list[dict[str, Any]], schema: type[BaseModel], *,
                         parse: Parser | None = None, max_attempts: int = 6, feedback: Feedback = default_feedback,
                         sampling: Mapping[str, Any] | None = None) -> Written:
    """Ask `model` for a document of `schema`; on a reply that does not parse or validate, send
    the error back (`feedback(error)`) and ask again, at most `max_attempts` times in all.

    `parse` turns the reply into the data to validate (default `parse_json`: a JSON object,
    within `[CONTENT]...[/CONTENT]`, a ```json block, or bare); it raises `ParseError`. Raises
    `DocumentInvalid` when no attempt validates.
    """
    if max_attempts < 1:
        raise ConfigError(f"max_attempts must be at least 1, not {max_attempts}")
    parse = parse or parse_json
    convo = list(messages)
    error = ""
    for attempt in range(1, max_attempts + 1):
        response = await ctx.model(model, ModelRequest(messages=list(convo), **dict(sampling or {})))
        convo.append({"role": "assistant", "content": response.text})
        try:
            document = schema.model_validate(parse(response.text))
        except ParseError as exc:
            error = str(exc)
        except ValidationError as exc:
            error = describe_errors(exc)
        else:
            return Written(document, response.text, attempt, convo)
        convo.append({"role": "user", "content": feedback(error)})
    raise DocumentInvalid(f"no valid {schema.__name__} after {max_attempts} attempts (scope "
                          f"{ctx.scope.path or '<root>'!r}); the last error: {error}")


_TAGGED = re.compile(r"\[CONTENT\](.*?)\[/CONTENT\]", re.S)


def parse_json(text: str) -> dict[str, Any]:
    """The JSON object in a reply, inside `[CONTENT]...[/CONTENT]` (MetaGPT's tag) if it has one:
    bare, in a ```json block, or the first object in prose (`replies.json_object`)."""
    tagged = _TAGGED.search(text)
    try:
        return replies.json_object(tagged.group(1) if tagged else text)
    except FormatError as exc:
        raise ParseError(str(exc)) from None


def code_block(text: str, language: str | None = "python") -> str:
    """The last ```python (`py`, `python3`) block of a reply, else its last unlabelled block; with
    `language=None`, its last fenced block of any language. A block the reply was cut off in does
    not count: the role is asked again. `ParseError` if there is none."""
    labels = replies.PYTHON if language in replies.PYTHON else (language,)
    prefer = ((replies.ANY,),) if language is None else (labels, ("",))
    code = replies.find_code(text, prefer, closed_only=True)
    if code is None:
        raise ParseError(f"the reply has no ```{language or ''} code block")
    return code.rstrip() + "\n"


def check_python(code: str, filename: str = "<code>") -> str:
    """`code` if it parses as Python, else a `ValueError` naming the line (for pydantic validators)."""
    try:
        ast.parse(code, filename)
    except SyntaxError as exc:
        raise ValueError(f"{filename} does not parse: {exc.msg} (line {exc.lineno})") from None
    return code


def describe_errors(error: ValidationError) -> str:
    """A validation error as the model should read it: one `key: problem` per error."""
    parts = []
    for item in error.errors(include_url=False):
        where = ".".join(str(p) for p in item["loc"]) or "(the document)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def describe_schema(schema: type[BaseModel], descriptions: Mapping[str, str] | None = None) -> str:
    """The keys of a document schema, one per line, with their JSON type and what each asks for
    (`descriptions[key]`, else the field's own description), for a prompt's reply format."""
    lines = []
    for name, info in schema.model_fields.items():
        key = info.alias or name
        optional = "" if info.is_required() else ", optional"
        description = (descriptions or {}).get(key) or info.description or ""
        line = f'- "{key}" ({_type_name(info.annotation)}{optional})'
        lines.append(f"{line}: {description}" if description else line)
    return "\n".join(lines)


def _type_name(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        names = [_type_name(a) for a in args if a is not type(None)]
        return " or ".join(names) + (" or null" if type(None) in args else "")
    if origin is typing.Literal:
        return "one of " + ", ".join(json.dumps(a) for a in args)
    if origin in (list, tuple, set):
        return f"list of {_plural(_type_name(args[0]))}" if args else "list"
    if origin is dict:
        return f"object of {_plural(_type_name(args[1]))}" if len(args) == 2 else "object"
    return {str: "string", int: "integer", float: "number", bool: "boolean"}.get(annotation, "object")


def _plural(name: str) -> str:
    if name.startswith(("list", "object")):
        head, _, rest = name.partition(" ")
        return f"{head}s {rest}".rstrip()
    return name if name.startswith("one of") else name + "s"


# --- roles -------------------------------------------------------------------------------


class DocumentRole:
    """A role whose one action is a document a model writes: on news it watches, it asks the
    model (`prompt(turn)` gives the messages), validates the reply against `schema` (with
    `write_document`'s retries) and publishes it as a `cause_by=action` message."""

    def __init__(self, name: str, model: Model, *, watch: Sequence[str], action: str, schema: type[BaseModel],
                 prompt: Callable[[Turn], list[dict[str, Any]]], send_to: Sequence[str] = (ALL,),
                 parse: Parser | None = None, max_attempts: int = 6, feedback: Feedback = default_feedback,
                 sampling: Mapping[str, Any] | None = None) -> None:
        self.name, self.model, self.watch = name, model, frozenset(watch)
        self.action, self.schema, self.prompt, self.send_to = action, schema, prompt, tuple(send_to)
        self.parse, self.max_attempts, self.feedback = parse, max_attempts, feedback
        self.sampling = dict(sampling or {})

    async def act(self, turn: Turn, ctx: Context) -> Message:
        written = await write_document(ctx, self.model, self.prompt(turn), self.schema, parse=self.parse,
                                       max_attempts=self.max_attempts, feedback=self.feedback,
                                       sampling=self.sampling)
        return Message(written.text, self.action, send_to=self.send_to, document=written.to_json())


class AgentRole:
    """Any agent (a team too) as a role: on news it watches, it runs the agent on a task made
    of the news (`task(turn)`, by default their contents) and publishes its answer as a
    `cause_by=action` message. The agent runs in the role's scope, so nested teams nest scopes."""

    def __init__(self, name: str, agent: Agent, *, watch: Sequence[str], action: str,
                 send_to: Sequence[str] = (ALL,), task: Callable[[Turn], str] | None = None) -> None:
        self.name, self.agent, self.watch, self.action = name, agent, frozenset(watch), action
        self.send_to, self.task = tuple(send_to), task or (lambda turn: "\n\n".join(m.content for m in turn.news))

    async def act(self, turn: Turn, ctx: Context) -> Message:
        outcome = await self.agent.run(self.task(turn), ctx)
        answer = outcome if isinstance(outcome, str) or outcome is None else outcome.answer
        return Message(answer or "", self.action, send_to=self.send_to)
