"""Action formats: how a model's reply becomes an action, and what an action did a message.

The agent loop (`tool_calling.ToolCallingAgent`) is the same for every format; a format says
what the model is told (`system_prompt`), how its reply is read (`parse`: an `Act` to perform or
a `Final` answer), what goes back after a reply that does not parse (`rejected`) and after an
action (`observation`). The formats:

- `NativeToolCalls`: the provider's tool-calling API (OpenAI `tool_calls`), or a tool mode
  (`models.tool_modes`: constrained JSON, ReAct text) that gives the same shape; a reply without
  tool calls is the final answer, unless it is a tool call written as JSON text (sent back as a
  format error: it was not run, and it is no answer) or a tool mode found it broken.
- `ReActText`: for models without tool calling; the model writes
  `Thought / Action / Action Input` or `Thought / Final Answer` (Yao et al., ReAct, 2023) and
  observations come back as `Observation: ...` user messages. Its grammar and prompts are the
  ReAct tool mode's (`models.tool_modes`); this format keeps the text in the conversation.
- `action_modes.TextMode`, `JsonMode`, `CodeMode`: M3ToolEval's three action modes (CodeAct);
  code mode runs Python in the sandbox.

A reply that does not parse raises `FormatError` whose `message_for_model` tells the model
what was wrong; the loop sends it back and goes on. Those messages are templates in
`prompts/feedback/`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..errors import FormatError
from ..models.tool_modes import read_react, react_system_prompt
from ..prompts import render
from ..replies import json_object, json_value
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
        if response.format_error is not None:  # a tool mode read the reply and found it broken
            raise FormatError(f"the reply at step {step} broke the tool mode's format",
                              message_for_model=response.format_error)
        calls = response.tool_calls
        if calls:
            return Act(tuple(calls), response.message)
        text = response.text.strip()
        if not text:
            raise FormatError(f"empty reply at step {step} (finish_reason={response.finish_reason!r})",
                              message_for_model=feedback("empty_reply"))
        if (name := self._call_in_text(text)) is not None:
            raise FormatError(f"the reply at step {step} wrote a call of {name!r} as text instead of calling it",
                              message_for_model=feedback("tool_call_as_text", tool=name))
        return Final(text, {"role": "assistant", "content": response.text})

    def _call_in_text(self, text: str) -> str | None:
        """The tool named by a call the model wrote as JSON in its text (`{"name": ..., "arguments":
        ...}`, bare, fenced or in prose, or OpenAI's `{"function": {...}}`), if the agent has tools:
        a tool it has, or any name when the JSON is the whole reply."""
        if self.tools is None or not self.tools.names or "{" not in text:  # no brace, no JSON object
            return None
        try:
            found = json_object(text)
        except FormatError:
            return None
        call = found.get("function") if isinstance(found.get("function"), dict) else found
        name = call.get("name")
        if not isinstance(name, str) or not ({"arguments", "parameters"} & set(call)):
            return None
        if name in self.tools.names:
            return name
        try:
            return name if isinstance(json_value(text), dict) else None  # the reply is that JSON and nothing else
        except FormatError:
            return None

    def rejected(self, response: ModelResponse, error: FormatError) -> list[dict[str, Any]]:
        return _kept(response) + [{"role": "user", "content": error.message_for_model}]

    def observation(self, item: ToolCall | Code, seen: Observed, note: str | None) -> list[dict[str, Any]]:
        assert isinstance(item, ToolCall)
        return [{"role": "tool", "tool_call_id": item.id, "content": _error_prefixed(seen)}]


def _error_prefixed(seen: Observed) -> str:
    return f"Error: {seen.content}" if seen.is_error else seen.content


class ReActText:
    name = "react"
    uses_native_tools, runs_code, stop = False, False, ["\nObservation:"]

    def __init__(self, tools: ToolSet) -> None:
        self.tools = tools

    def system_prompt(self, system: str | None, max_steps: int) -> str | None:
        return react_system_prompt(system, self.tools.specs())

    def parse(self, response: ModelResponse, step: int) -> Action:
        reply = read_react(response.text)
        message = {"role": "assistant", "content": response.text}
        if reply.answer is not None:
            return Final(reply.answer, message)
        assert reply.tool is not None
        return Act((ToolCall(id=f"react_{step}", name=reply.tool, arguments=reply.arguments),), message)

    def rejected(self, response: ModelResponse, error: FormatError) -> list[dict[str, Any]]:
        return _kept(response) + [{"role": "user", "content": f"Observation: format error. {error.message_for_model}"}]

    def observation(self, item: ToolCall | Code, seen: Observed, note: str | None) -> list[dict[str, Any]]:
        return [{"role": "user", "content": f"Observation: {_error_prefixed(seen)}"}]
