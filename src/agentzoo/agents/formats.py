"""Action formats: how a model's reply becomes an action, and a tool result an observation.

- `NativeToolCalls`: the provider's tool-calling API (OpenAI `tool_calls`); a reply without
  tool calls is the final answer.
- `ReActText`: for models without tool calling; the model writes
  `Thought / Action / Action Input` or `Thought / Final Answer` (Yao et al., ReAct, 2023) and
  observations come back as `Observation: ...` user messages.

A reply that does not parse raises `FormatError` whose `message_for_model` tells the model
what was wrong; the loop sends it back and goes on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from .. import _json
from ..errors import FormatError
from ..prompts import render
from ..types import ModelResponse, ToolCall


@dataclass(frozen=True, slots=True)
class Final:
    answer: str
    message: dict[str, Any]
    """The assistant message to keep in the history."""


@dataclass(frozen=True, slots=True)
class Calls:
    calls: list[ToolCall]
    message: dict[str, Any]


Action = Final | Calls


class ActionFormat(Protocol):
    name: str
    uses_native_tools: bool

    def system_prompt(self, system: str | None, tool_specs: list[dict[str, Any]]) -> str | None: ...
    def parse(self, response: ModelResponse, step: int) -> Action: ...
    def observation(self, call: ToolCall, content: str) -> dict[str, Any]: ...
    def format_feedback(self, error: FormatError) -> dict[str, Any]: ...
    @property
    def stop(self) -> list[str] | None: ...


class NativeToolCalls:
    name = "tool_calls"
    uses_native_tools = True
    stop = None

    def system_prompt(self, system: str | None, tool_specs: list[dict[str, Any]]) -> str | None:
        return system

    def parse(self, response: ModelResponse, step: int) -> Action:
        calls = response.tool_calls
        if calls:
            return Calls(calls, response.message)
        text = response.text.strip()
        if not text:
            raise FormatError(f"empty reply at step {step} (finish_reason={response.finish_reason!r})",
                              message_for_model="Your reply was empty. Call a tool, or reply with your final answer.")
        return Final(text, {"role": "assistant", "content": response.text})

    def observation(self, call: ToolCall, content: str) -> dict[str, Any]:
        return {"role": "tool", "tool_call_id": call.id, "content": content}

    def format_feedback(self, error: FormatError) -> dict[str, Any]:
        return {"role": "user", "content": error.message_for_model}


_FINAL = re.compile(r"^\s*Final Answer\s*:\s*(.*)\Z", re.S | re.M | re.I)
_ACTION = re.compile(r"^\s*Action\s*:\s*(.*?)\s*$", re.M | re.I)
_INPUT = re.compile(r"^\s*Action Input\s*:\s*(.*?)(?:^\s*Observation\s*:|\Z)", re.S | re.M | re.I)


class ReActText:
    name = "react"
    uses_native_tools = False
    stop = ["\nObservation:"]

    def system_prompt(self, system: str | None, tool_specs: list[dict[str, Any]]) -> str | None:
        tools = [{"name": s["function"]["name"], "description": s["function"].get("description", ""),
                  "parameters_json": _json.dumps_str(s["function"].get("parameters", {}))} for s in tool_specs]
        return render(Path(__file__).parent / "prompts" / "react_system.j2", system=system, tools=tools)

    def parse(self, response: ModelResponse, step: int) -> Action:
        text = response.text
        final = _FINAL.search(text)
        action = _ACTION.search(text)
        if final and action:
            raise FormatError("reply has both an Action and a Final Answer",
                              message_for_model="Your reply has both an Action and a Final Answer. Reply with "
                              "exactly one: either an Action with its Action Input, or a Final Answer.")
        message = {"role": "assistant", "content": text}
        if final:
            return Final(final.group(1).strip(), message)
        if not action:
            raise FormatError("reply has neither Action nor Final Answer",
                              message_for_model="Your reply did not follow the format. Write `Action:` with a "
                              "tool name and `Action Input:` with a JSON object, or `Final Answer:` with the answer.")
        raw_input = _INPUT.search(text)
        if not raw_input:
            raise FormatError("Action without Action Input",
                              message_for_model=f"You wrote `Action: {action.group(1)}` but no `Action Input:` "
                              "line. Give the arguments as one JSON object after `Action Input:`.")
        arguments = _strip_fence(raw_input.group(1))
        try:
            orjson.loads(arguments or "{}")
        except orjson.JSONDecodeError as exc:
            raise FormatError(f"Action Input is not JSON: {exc}",
                              message_for_model=f"The Action Input is not valid JSON ({exc}). Give the "
                              "arguments as one JSON object, e.g. {\"a\": 1}.") from exc
        return Calls([ToolCall(id=f"react_{step}", name=action.group(1).strip(), arguments=arguments or "{}")], message)

    def observation(self, call: ToolCall, content: str) -> dict[str, Any]:
        return {"role": "user", "content": f"Observation: {content}"}

    def format_feedback(self, error: FormatError) -> dict[str, Any]:
        return {"role": "user", "content": f"Observation: format error. {error.message_for_model}"}


def _strip_fence(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text.strip()


FORMATS: dict[str, type[NativeToolCalls] | type[ReActText]] = {"tool_calls": NativeToolCalls, "react": ReActText}
