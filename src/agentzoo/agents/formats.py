"""Action formats: how a model's reply becomes an action, and what an action did a message.

The agent loop (`tool_calling.ToolCallingAgent`) is the same for every format; a format says
what the model is told (`system_prompt`), how its reply is read (`parse`: an `Act` to perform or
a `Final` answer), what goes back after a reply that does not parse (`rejected`) and after an
action (`observation`). The formats:

- `NativeToolCalls`: the provider's tool-calling API (OpenAI `tool_calls`); a reply without
  tool calls is the final answer.
- `ReActText`: for models without tool calling; the model writes
  `Thought / Action / Action Input` or `Thought / Final Answer` (Yao et al., ReAct, 2023) and
  observations come back as `Observation: ...` user messages.
- `action_modes.TextMode`, `JsonMode`, `CodeMode`: M3ToolEval's three action modes (CodeAct);
  code mode runs Python in the sandbox.

A reply that does not parse raises `FormatError` whose `message_for_model` tells the model
what was wrong; the loop sends it back and goes on. Those messages are templates in
`prompts/feedback/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .. import _json
from ..errors import FormatError
from ..prompts import render
from ..replies import json_value, unfence
from ..tools import ToolSet
from ..types import ModelResponse, ToolCall

PROMPTS = Path(__file__).parent / "prompts"


def feedback(name: str, **variables: Any) -> str:
    """The message for the model in `prompts/feedback/<name>.j2`."""
    return render(PROMPTS / "feedback" / f"{name}.j2", **variables)


@dataclass(frozen=True, slots=True)
class Code:
    """Python source to run in the run's sandbox."""

    source: str


@dataclass(frozen=True, slots=True)
class Final:
    """The model's final answer."""

    answer: str
    message: dict[str, Any]
    """The assistant message to keep in the history."""


@dataclass(frozen=True, slots=True)
class Act:
    """What the model asked to do: tool calls, or code, performed in order."""

    items: tuple[ToolCall | Code, ...]
    message: dict[str, Any]
    """The assistant message to keep in the history."""
    note: str | None = None
    """Added to the observation, e.g. that only the first of several actions was run."""


Action = Final | Act


@dataclass(frozen=True, slots=True)
class Observed:
    """What performing one item of an `Act` gave."""

    content: str
    """The tool's result text, or the code's output as the model reads it."""
    is_error: bool = False
    answer: str | None = None
    """Set when the item itself ended the task (code that called `final_answer`)."""


class ActionFormat(Protocol):
    name: str
    uses_native_tools: bool
    """Send the tools' schemas with each request (the provider's tool calling)."""
    runs_code: bool
    """Its actions include `Code`: the run needs a sandbox."""
    stop: list[str] | None

    def system_prompt(self, system: str | None, max_steps: int) -> str | None: ...
    def parse(self, response: ModelResponse, step: int) -> Action: ...
    def rejected(self, response: ModelResponse, error: FormatError) -> list[dict[str, Any]]: ...
    def observation(self, item: ToolCall | Code, seen: Observed, note: str | None) -> list[dict[str, Any]]: ...


def _kept(response: ModelResponse) -> list[dict[str, Any]]:
    """The reply as it came, if it holds anything, to keep before the feedback on it."""
    return [response.message] if response.text or response.message.get("tool_calls") else []


class NativeToolCalls:
    name = "tool_calls"
    uses_native_tools, runs_code, stop = True, False, None

    def __init__(self, tools: ToolSet | None = None) -> None:
        self.tools = tools

    def system_prompt(self, system: str | None, max_steps: int) -> str | None:
        return system

    def parse(self, response: ModelResponse, step: int) -> Action:
        calls = response.tool_calls
        if calls:
            return Act(tuple(calls), response.message)
        text = response.text.strip()
        if not text:
            raise FormatError(f"empty reply at step {step} (finish_reason={response.finish_reason!r})",
                              message_for_model=feedback("empty_reply"))
        return Final(text, {"role": "assistant", "content": response.text})

    def rejected(self, response: ModelResponse, error: FormatError) -> list[dict[str, Any]]:
        return _kept(response) + [{"role": "user", "content": error.message_for_model}]

    def observation(self, item: ToolCall | Code, seen: Observed, note: str | None) -> list[dict[str, Any]]:
        assert isinstance(item, ToolCall)
        return [{"role": "tool", "tool_call_id": item.id, "content": _error_prefixed(seen)}]


def _error_prefixed(seen: Observed) -> str:
    return f"Error: {seen.content}" if seen.is_error else seen.content


# The ReAct grammar; what it carries (the Action Input's JSON) is read by `replies`.
_FINAL = re.compile(r"^\s*Final Answer\s*:\s*(.*)\Z", re.S | re.M | re.I)
_ACTION = re.compile(r"^\s*Action\s*:\s*(.*?)\s*$", re.M | re.I)
_INPUT = re.compile(r"^\s*Action Input\s*:\s*(.*?)(?:^\s*Observation\s*:|\Z)", re.S | re.M | re.I)


class ReActText:
    name = "react"
    uses_native_tools, runs_code, stop = False, False, ["\nObservation:"]

    def __init__(self, tools: ToolSet) -> None:
        self.tools = tools

    def system_prompt(self, system: str | None, max_steps: int) -> str | None:
        tools = [{"name": s["function"]["name"], "description": s["function"].get("description", ""),
                  "parameters_json": _json.dumps_str(s["function"].get("parameters", {}))} for s in self.tools.specs()]
        return render(PROMPTS / "react_system.j2", system=system, tools=tools)

    def parse(self, response: ModelResponse, step: int) -> Action:
        text = response.text
        final, action = _FINAL.search(text), _ACTION.search(text)
        if final and action:
            raise FormatError("reply has both an Action and a Final Answer", message_for_model=feedback("react_both"))
        message = {"role": "assistant", "content": text}
        if final:
            return Final(final.group(1).strip(), message)
        if not action:
            raise FormatError("reply has neither Action nor Final Answer", message_for_model=feedback("react_neither"))
        raw_input = _INPUT.search(text)
        if not raw_input:
            raise FormatError("Action without Action Input",
                              message_for_model=feedback("react_no_input", tool=action.group(1)))
        arguments = unfence(raw_input.group(1).strip()).strip() or "{}"
        try:
            json_value(arguments)  # only checked here: the tool layer parses and validates the arguments
        except FormatError as exc:
            raise FormatError(f"Action Input is not JSON: {exc}",
                              message_for_model=feedback("react_bad_json", problem=str(exc))) from None
        return Act((ToolCall(id=f"react_{step}", name=action.group(1).strip(), arguments=arguments),), message)

    def rejected(self, response: ModelResponse, error: FormatError) -> list[dict[str, Any]]:
        return _kept(response) + [{"role": "user", "content": f"Observation: format error. {error.message_for_model}"}]

    def observation(self, item: ToolCall | Code, seen: Observed, note: str | None) -> list[dict[str, Any]]:
        return [{"role": "user", "content": f"Observation: {_error_prefixed(seen)}"}]
