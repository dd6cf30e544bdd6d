"""The agent that follows a protocol: the model writes segments, the automaton says which may come next.

One run is a trace of segments. The model writes one or more segments per reply; after a reply
that holds actions, the runtime calls the tools (one journaled effect each, in order) and writes one
observation per action; the run ends at the final segment. How the protocol is kept (`mode`):

- `grammar`: the request carries a GBNF grammar (`extra["grammar"]`, llama.cpp) that admits only
  the replies the automaton allows from here, so the model cannot write anything else;
- `json`: the request carries a JSON schema (`response_format`) that admits one allowed segment;
- `validate`: the request carries stop sequences at the observation header, and the reply is checked.

Every reply is checked against the automaton in every mode (a server may ignore a constraint). A
reply that breaks the protocol is never used: the model is told what was wrong and which segments
may begin its reply, and asked again, at most `max_retries` times per reply; then the run fails with
`ProtocolBroken`. Retries are ordinary model calls, so the journal holds every attempt and replay
serves them all.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import _json
from ...errors import ConfigError, FormatError, StepLimitExceeded, UnexpectedModelBehavior
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...tools import ToolSet
from ...tools.calling import call_tool
from ...types import AgentResult, ModelRequest, ModelResponse, ToolCall
from . import constrain
from .automaton import Automaton
from .protocol import Example, Protocol
from .segments import Segment, action_call, read

PROMPTS = Path(__file__).parent / "prompts"
MODES = ("grammar", "json", "validate")


class SegmentError(FormatError):
    """One reply broke the protocol; `message_for_model` says how and what may begin the reply."""


class ProtocolBroken(UnexpectedModelBehavior):
    """The model broke the protocol in every attempt at one reply (the first and `max_retries` more)."""


def decoding_support(model: Any) -> frozenset[str]:
    """What constrained decoding a model's server does: its `constrained_decoding` attribute (a set of
    `grammar`, `json`), else the local llama.cpp provider's (both), else none."""
    declared = getattr(model, "constrained_decoding", None)
    if declared is not None:
        return frozenset(declared)
    local = sys.modules.get("agentzoo.models.local")  # only a model made from it can be one of its
    if local is not None and isinstance(model, getattr(local, "LocalModel", ())):
        return frozenset({"grammar", "json"})
    return frozenset()


def choose_mode(constrain_option: str, model: Any) -> str:
    if constrain_option != "auto":
        return constrain_option
    supported = decoding_support(model)
    return next((mode for mode in ("grammar", "json") if mode in supported), "validate")


@dataclass
class _Reply:
    """An accepted reply: what goes in the conversation and the segments it adds to the trace."""

    message: dict[str, Any]
    segments: list[Segment]
    yields: bool
    """The model hands over to the runtime (json mode: it chose the observation label)."""


class ProtocolAgent:
    """Solves a task in the segments of `protocol`, kept by `constrain` (`auto`, or one of `MODES`)."""

    name = "ltl"

    def __init__(self, model: Model, tools: Sequence[Any] | ToolSet, protocol: Protocol, *,
                 system: str | None = None, sampling: dict[str, Any] | None = None, constrain: str = "auto",
                 examples: Sequence[Example] = (), max_steps: int = 20, max_retries: int = 3) -> None:
        if constrain != "auto" and constrain not in MODES:
            raise ConfigError(f"ltl: constrain must be 'auto' or one of {', '.join(MODES)}, not {constrain!r}")
        if max_steps < 1 or max_retries < 0:
            raise ConfigError(f"ltl: max_steps must be at least 1 and max_retries at least 0 "
                              f"(got {max_steps}, {max_retries})")
        self.model, self.protocol, self.constrain = model, protocol, constrain
        self.toolset = tools if isinstance(tools, ToolSet) else ToolSet(tools)
        self.max_steps, self.max_retries = max_steps, max_retries
        self.sampling = dict(sampling or {})
        self.user_system = system
        self.actions = protocol.of_kind("action")
        self.observation = protocol.observation
        # Without tools an action could never be carried out: its segments leave the alphabet.
        self.automaton: Automaton = (protocol.automaton if self.toolset.names
                                     else protocol.automaton.restricted(protocol.of_kind("text", "final")))
        if self.automaton.start not in self.automaton.live:
            raise ConfigError(f"ltl: protocol {protocol.name!r} cannot end without actions, and this agent has no "
                              "tools")
        self.examples = [e for e in examples if self.toolset.names or not e.uses_actions(protocol)]

    # --- the loop ---------------------------------------------------------------------------------

    async def run(self, task: str, ctx: Context) -> AgentResult:
        model = getattr(self.model, "for_scope", lambda _: self.model)(ctx.scope.path)
        mode = choose_mode(self.constrain, model)
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system_prompt(mode)},
                                          {"role": "user", "content": task}]
        state, pending, calls = self.automaton.start, [], 0
        for _ in range(self.max_steps):
            reply, used = await self._reply(ctx, mode, messages, state, bool(pending))
            calls += used
            messages.append(reply.message)
            for segment in reply.segments:
                state = self.automaton.step(state, segment.label)
                if segment.label in self.protocol.of_kind("final"):
                    return AgentResult(segment.content, messages, calls)
                if segment.label in self.actions:
                    pending.append(segment)
            if pending and (mode != "json" or reply.yields or not self._model_may_write(state)):
                state, observations = await self._observe(ctx, state, pending)
                messages.append({"role": "user", "content": "\n".join(o.text() for o in observations)})
                pending = []
        finals = " or ".join(self.protocol.of_kind("final"))
        raise StepLimitExceeded(f"ltl ({self.protocol.name}) took {self.max_steps} replies without a final segment "
                                f"({finals}) (scope {ctx.scope.path or '<root>'!r}); raise max_steps or check the model")

    async def _reply(self, ctx: Context, mode: str, messages: list[dict[str, Any]], state: int,
                     pending: bool) -> tuple[_Reply, int]:
        """One accepted reply, asking again after each violation; (the reply, model calls made)."""
        request = self.request(mode, state, pending)
        tries: list[dict[str, Any]] = []
        last: SegmentError | None = None
        for attempt in range(self.max_retries + 1):
            ctx.step()
            response = await ctx.model(self.model, ModelRequest(messages=[*messages, *tries], **request))
            try:
                return self.check(mode, response, state, pending), attempt + 1
            except SegmentError as error:
                tries += [{"role": "assistant", "content": response.text},
                          {"role": "user", "content": error.message_for_model}]
                last = error
        raise ProtocolBroken(f"ltl: the model broke protocol {self.protocol.name!r} in all {self.max_retries + 1} "
                             f"attempts at one reply (scope {ctx.scope.path or '<root>'!r}); the last: {last}",
                             message_for_model=last.message_for_model if last else None)

    async def _observe(self, ctx: Context, state: int, pending: list[Segment]) -> tuple[int, list[Segment]]:
        """Run the waiting actions in order, one journaled tool call each: an observation per action."""
        assert self.observation is not None
        observations = []
        for i, action in enumerate(pending):
            name, arguments = action_call(action.content) or ("", "{}")
            outcome = await call_tool(ctx, self.toolset, ToolCall(f"ltl_{i}", name, arguments))
            observations.append(Segment(self.observation, f"Error: {outcome.content}" if outcome.is_error
                                        else outcome.content))
            state = self.automaton.step(state, self.observation)
        return state, observations

    def _model_may_write(self, state: int) -> bool:
        return any(label != self.observation for label in self.automaton.allowed(state))

    # --- what the model is sent -------------------------------------------------------------------

    def system_prompt(self, mode: str) -> str:
        tools = [{"name": s["function"]["name"], "description": s["function"].get("description", ""),
                  "parameters_json": _json.dumps_str(s["function"].get("parameters", {}))}
                 for s in self.toolset.specs()]
        p = self.protocol
        return render(PROMPTS / "system.j2", system=self.user_system, protocol=p, segments=p.segments,
                      rules=p.rules, tools=tools, actions=list(self.actions), observation=self.observation,
                      finals=list(p.of_kind("final")), first=self.automaton.allowed(self.automaton.start)[0],
                      mode="json" if mode == "json" else "text", examples=self.examples)

    def request(self, mode: str, state: int, pending: bool) -> dict[str, Any]:
        """The request fields that carry the constraint in `mode` (with the caller's sampling)."""
        fields = dict(self.sampling)
        if mode == "json":
            fields["response_format"] = constrain.json_schema(self.protocol, self.automaton, state,
                                                              self.toolset.names, pending)
            return fields
        if self.observation is not None:  # a model that writes its own observation is cut off there
            fields["stop"] = [f"\n{self.observation}:"]
        if mode == "grammar":
            fields["extra"] = {**fields.get("extra", {}),
                               "grammar": constrain.grammar(self.protocol, self.automaton, state, self.toolset.names)}
        return fields

    # --- reading a reply --------------------------------------------------------------------------

    def check(self, mode: str, response: ModelResponse, state: int, pending: bool) -> _Reply:
        """The reply's segments, each allowed where it stands; `SegmentError` at the first that is not."""
        message = {"role": "assistant", "content": response.text}
        if mode == "json":
            segment, yields = self._json_segment(response.text, state, pending)
            return _Reply(message, [] if yields else self._checked([segment], state, whole=False), yields)
        preamble, segments = read(response.text, self.protocol.labels)
        if not segments:
            raise self._error("empty" if not preamble else "preamble", state)
        if preamble:
            raise self._error("preamble", state)
        return _Reply(message, self._checked(segments, state, whole=True), False)

    def _checked(self, segments: list[Segment], state: int, *, whole: bool) -> list[Segment]:
        """`whole`: the reply ends the model's turn, so actions in it must be answerable by observations."""
        here, waiting = state, False
        for index, segment in enumerate(segments, 1):
            kind = self.protocol.kind(segment.label)
            facts = {"index": index, "label": segment.label}
            if kind == "observation":
                raise self._error("runtime", state, **facts)
            allowed = self.automaton.allowed(here)
            if segment.label not in allowed:
                where = f"after {segments[index - 2].label}" if index > 1 else "at the start of your reply"
                raise self._error("order", state, where=where, allowed=allowed, **facts)
            if kind == "action":
                if action_call(segment.content) is None:
                    raise self._error("no_tool", state, **facts)
                waiting = True
            here = self.automaton.step(here, segment.label)
            if kind == "final":
                if index < len(segments):
                    raise self._error("after_final", state, **facts)
                return segments
        if whole and waiting and self.observation not in self.automaton.allowed(here):
            raise self._error("unfinished", state, label=segments[-1].label, allowed=self.automaton.allowed(here),
                              observation=self.observation)
        return segments

    def _json_segment(self, text: str, state: int, pending: bool) -> tuple[Segment, bool]:
        """The one segment of a json-mode reply, and whether it hands over to the runtime."""
        try:
            value = _json.loads(text)
        except Exception as exc:  # noqa: BLE001 - any parse failure is the reply's
            raise self._error("json", state, detail=f"not JSON: {str(exc)[:120]}") from None
        chosen = value.get("next") if isinstance(value, dict) else None
        label = chosen.get("segment") if isinstance(chosen, dict) else None
        if not isinstance(label, str) or label not in self.protocol.labels:
            raise self._error("json", state, detail=f"'next.segment' must be one of {', '.join(self.protocol.labels)}")
        if label == self.observation:
            if not pending:
                raise self._error("runtime", state, index=1, label=label)
            return Segment(label, ""), True
        if label in self.actions:
            tool, arguments = chosen.get("tool"), chosen.get("arguments", "{}")
            if not isinstance(tool, str) or not tool:
                raise self._error("no_tool", state, index=1, label=label)
            arguments = arguments if isinstance(arguments, str) else _json.dumps_str(arguments)
            return Segment(label, f"{tool} {arguments}".strip()), False
        content = chosen.get("content", "")
        return Segment(label, content if isinstance(content, str) else _json.dumps_str(content)), False

    def _error(self, problem: str, state: int, **facts: Any) -> SegmentError:
        first = self.automaton.allowed(state)
        text = render(PROMPTS / "violation.j2", protocol=self.protocol.name, problem=problem, first=list(first),
                      **{"index": None, "label": None, "where": None, "allowed": (), "observation": self.observation,
                         "detail": None, **facts})
        return SegmentError(text.split("\n")[0], message_for_model=text)


__all__ = ["MODES", "ProtocolAgent", "ProtocolBroken", "SegmentError", "choose_mode", "decoding_support"]
