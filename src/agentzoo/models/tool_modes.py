"""Tool modes: how a model calls tools, natively or as constrained JSON or ReAct text.

- `native`: OpenAI `tools`; the server parses the model's calls (nothing to do here).
- `json`: the request carries a JSON schema (`response_format: {"type": "json_schema", ...}`) that
  is a choice between each tool's call object `{"name": <tool>, "arguments": {...}}` and a final
  answer `{"final_answer": "..."}`. A server that constrains decoding to a schema (llama.cpp,
  vLLM, Ollama) can then only write one of those; the reply is validated whatever the server
  did (the arguments against the tool's own schema), since a server may ignore the schema.
- `react`: the ReAct text format (Yao et al., 2023: `Thought / Action / Action Input` or
  `Final Answer`), for servers that constrain nothing.

A mode works on both sides of one model call: `prepare` turns the request into what is sent
(tools described in the system message, earlier tool calls and results written back the way the
mode has the model write and read them), `interpret` turns the reply into ordinary tool calls or
an ordinary answer. So the agent loop is the same in every mode, and the journal's model entry,
replay and export see the shapes native tool calling gives. A reply that breaks the format comes
back with `format_error` set (what to tell the model): an agent sends that back, and the reply
never reaches a tool nor becomes the answer.

A request without tools passes through every mode untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, Protocol

from .. import _json
from ..errors import ConfigError, FormatError
from ..prompts import render
from ..replies import json_object, json_value, unfence
from ..types import ModelRequest, ModelResponse

ToolModeName = Literal["native", "json", "react"]
TOOL_MODES: tuple[ToolModeName, ...] = ("native", "json", "react")
PROMPTS = Path(__file__).parent / "prompts" / "tool_modes"
FINAL_KEY = "final_answer"

__all__ = ["FINAL_KEY", "TOOL_MODES", "JsonMode", "NativeMode", "ReactMode", "ReactReply", "ToolMode",
           "ToolModeModel", "ToolModeName", "action_schema", "default_tool_mode", "read_react",
           "react_system_prompt", "tool_mode", "with_tool_mode"]


def _prompt(template: str, /, **variables: Any) -> str:
    return render(PROMPTS / f"{template}.j2", **variables)


class ToolMode(Protocol):
    name: ToolModeName

    def prepare(self, request: ModelRequest) -> ModelRequest:
        """The request to send in place of `request`."""
        ...

    def interpret(self, response: ModelResponse, request: ModelRequest) -> ModelResponse:
        """The reply to the prepared request as the reply to `request` (tool calls, an answer, or a
        `format_error`)."""
        ...


def tool_mode(name: str) -> ToolMode:
    """The mode by name; a `ConfigError` names the modes for any other."""
    mode = _MODES.get(name)
    if mode is None:
        raise ConfigError(f"tool_mode must be one of {', '.join(TOOL_MODES)}, not {name!r}")
    return mode


def default_tool_mode(model_string: str) -> ToolModeName:
    """The mode a model string gets when none is asked for: `json` for `local:` models (llama.cpp
    writes no native tool calls for most models), else `native`. Read from the string alone, so
    that replay, which builds no model, picks what the run picked."""
    return "json" if model_string.startswith("local:") else "native"


class ToolModeModel:
    """Any `Model` (a `ScriptedModel`, a user's) answering in a tool mode. `OpenAICompatible`
    takes `tool_mode=` itself; this is for the others. Everything else is the inner model's."""

    def __init__(self, inner: Any, mode: ToolModeName) -> None:
        self.inner, self.tool_mode, self._mode = inner, mode, tool_mode(mode)

    def __getattr__(self, name: str) -> Any:  # name, aclose, local, served… of the inner model
        return getattr(self.inner, name)

    async def complete(self, request: ModelRequest, *, on_delta: Any = None) -> ModelResponse:
        return self._mode.interpret(await self.inner.complete(self._mode.prepare(request), on_delta=on_delta),
                                    request)


def with_tool_mode(model: Any, mode: ToolModeName | None) -> Any:
    """`model` answering in `mode` (None or `native`: the model as it is, or as it defaults)."""
    if mode is None or getattr(model, "tool_mode", "native") == mode:
        return model
    return ToolModeModel(model, mode)


# --- the conversation as the mode writes it -----------------------------------------------------


def _tool_specs(request: ModelRequest) -> list[dict[str, Any]]:
    return [t.get("function", t) for t in request.tools]


def _described(specs: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"name": s["name"], "description": s.get("description") or "",
             "parameters_json": _json.dumps_str(s.get("parameters") or {})} for s in specs]


def _with_system(messages: list[dict[str, Any]], render_system: Any) -> list[dict[str, Any]]:
    """The messages with the first system message (or a new one) rendered by the mode."""
    if messages and messages[0].get("role") == "system":
        return [{"role": "system", "content": render_system(messages[0].get("content"))}, *messages[1:]]
    return [{"role": "system", "content": render_system(None)}, *messages]


def _rewritten(messages: list[dict[str, Any]], call_text: Any, result_text: Any) -> list[dict[str, Any]]:
    """Earlier tool calls as the assistant's text (`call_text(message, calls)`), tool results as
    user messages (`result_text(name, content)`): a server without tool calling reads neither."""
    names: dict[str, str] = {}
    out = []
    for message in messages:
        calls = message.get("tool_calls") or ()
        if message.get("role") == "assistant" and calls:
            names.update({c.get("id", ""): (c.get("function") or {}).get("name", "") for c in calls})
            out.append({"role": "assistant", "content": call_text(message, calls)})
        elif message.get("role") == "tool":
            name = names.get(message.get("tool_call_id", ""), "the tool")
            out.append({"role": "user", "content": result_text(name, message.get("content") or "")})
        else:
            out.append(message)
    return out


def _arguments(raw: str) -> Any:
    try:
        return _json.loads(raw or "{}")
    except ValueError:
        return raw  # shown as the model wrote it


def _call(request: ModelRequest, name: str, arguments: str) -> dict[str, Any]:
    """One tool call; its id counts the calls before it, so it is the same on every replay."""
    n = sum(len(m.get("tool_calls") or ()) for m in request.messages if m.get("role") == "assistant")
    return {"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": arguments}}


def _broken(response: ModelResponse, why: str) -> ModelResponse:
    return replace(response, message={"role": "assistant", "content": response.text}, format_error=why)


def _answered(response: ModelResponse, answer: str) -> ModelResponse:
    return replace(response, message={"role": "assistant", "content": answer},
                   finish_reason=response.finish_reason or "stop")


def _called(response: ModelResponse, request: ModelRequest, name: str, arguments: str,
            content: str | None = None) -> ModelResponse:
    return replace(response, message={"role": "assistant", "content": content,
                                      "tool_calls": [_call(request, name, arguments)]}, finish_reason="tool_calls")


# --- native -------------------------------------------------------------------------------------


class NativeMode:
    name: ToolModeName = "native"

    def prepare(self, request: ModelRequest) -> ModelRequest:
        return request

    def interpret(self, response: ModelResponse, request: ModelRequest) -> ModelResponse:
        return response


# --- json ---------------------------------------------------------------------------------------


def _choice(request: ModelRequest) -> tuple[list[dict[str, Any]], bool]:
    """The tools the model may call now and whether it may answer, from `tool_choice`."""
    specs, choice = _tool_specs(request), request.tool_choice
    if choice == "required":
        return specs, False
    if isinstance(choice, dict):
        wanted = (choice.get("function") or {}).get("name")
        return [s for s in specs if s["name"] == wanted], False
    return specs, True


def action_schema(specs: list[dict[str, Any]], *, answer: bool = True) -> dict[str, Any]:
    """The JSON schema of one step: a call of one of the tools, or (with `answer`) the final answer.
    Each tool's `$defs` move to the root under `<tool>.<name>`, its `$ref`s with them."""
    choices: list[dict[str, Any]] = []
    defs: dict[str, Any] = {}
    for spec in specs:
        params = dict(spec.get("parameters") or {"type": "object"})
        local = params.pop("$defs", None) or {}
        prefix = f"#/$defs/{spec['name']}."
        defs.update({f"{spec['name']}.{k}": _moved_refs(v, prefix) for k, v in local.items()})
        choices.append({"type": "object", "properties": {"name": {"const": spec["name"]},
                                                          "arguments": _moved_refs(params, prefix)},
                        "required": ["name", "arguments"], "additionalProperties": False})
    if answer:
        choices.append({"type": "object", "properties": {FINAL_KEY: {"type": "string"}},
                        "required": [FINAL_KEY], "additionalProperties": False})
    schema: dict[str, Any] = {"anyOf": choices} if len(choices) > 1 else choices[0]
    if defs:
        schema = {**schema, "$defs": defs}
    return schema


def _moved_refs(value: Any, prefix: str) -> Any:
    if isinstance(value, dict):
        return {k: (prefix + v.removeprefix("#/$defs/") if k == "$ref" and isinstance(v, str)
                    and v.startswith("#/$defs/") else _moved_refs(v, prefix)) for k, v in value.items()}
    if isinstance(value, list):
        return [_moved_refs(v, prefix) for v in value]
    return value


def _schema_problems(schema: dict[str, Any], value: Any, limit: int = 5) -> list[str]:
    """What is wrong with `value` under `schema`, as `at <path>: <message>` lines (jsonschema)."""
    from jsonschema import validators  # imported on first use: only json mode validates here

    validator = validators.validator_for(schema)(schema)
    problems = []
    for error in sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))[:limit]:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        problems.append(f"at arguments{where}: {error.message}")
    return problems


class JsonMode:
    name: ToolModeName = "json"

    def prepare(self, request: ModelRequest) -> ModelRequest:
        if not request.tools or request.tool_choice == "none":
            return replace(request, tools=[], tool_choice=None) if request.tools else request
        if request.response_format is not None:
            raise ConfigError("tool mode 'json' sends its own response_format (the schema of a tool call or an "
                              "answer), and this request has one already; use tool mode 'native' for it")
        specs, answer = _choice(request)
        schema = action_schema(specs, answer=answer)

        def system(text: str | None) -> str:
            return _prompt("json_system", system=text, tools=_described(specs), answer=answer)

        def call_text(message: dict[str, Any], calls: Any) -> str:
            return "\n".join(_json.dumps_str({"name": (c.get("function") or {}).get("name", ""),
                                              "arguments": _arguments((c.get("function") or {}).get("arguments"))})
                             for c in calls)

        def result_text(name: str, content: str) -> str:
            return _prompt("json_result", name=name, content=content)

        messages = _with_system(_rewritten(request.messages, call_text, result_text), system)
        return replace(request, messages=messages, tools=[], tool_choice=None,
                       response_format={"type": "json_schema", "json_schema": {"name": "tool_call_or_answer",
                                                                               "schema": schema}})

    def interpret(self, response: ModelResponse, request: ModelRequest) -> ModelResponse:
        if not request.tools or request.tool_choice == "none" or response.tool_calls:
            return response  # no tools asked for, or the server called them natively after all
        specs, answer = _choice(request)
        try:
            value = json_object(response.text)
        except FormatError as exc:
            return _broken(response, _prompt("json_not_json", problem=str(exc), answer=answer,
                                             cut=response.finish_reason == "length"))
        if FINAL_KEY in value and answer:
            final = value[FINAL_KEY]
            return _answered(response, final if isinstance(final, str) else _json.dumps_str(final))
        name = value.get("name")
        if not isinstance(name, str):
            return _broken(response, _prompt("json_answer_not_allowed" if FINAL_KEY in value else "json_neither",
                                             answer=answer))
        spec = next((s for s in specs if s["name"] == name), None)
        if spec is None:
            return _broken(response, _prompt("json_unknown_tool", name=_json.dumps_str(name),
                                             tools=", ".join(s["name"] for s in specs)))
        arguments = value.get("arguments", value.get("parameters", {}))
        if isinstance(arguments, str):  # arguments written as JSON text, as in OpenAI's own shape
            try:
                arguments = _json.loads(arguments or "{}")
            except ValueError:
                pass
        problems = _schema_problems(spec.get("parameters") or {"type": "object"}, arguments)
        if problems:
            return _broken(response, _prompt("json_bad_arguments", name=name, problems="; ".join(problems)))
        return _called(response, request, name, _json.dumps_str(arguments))


# --- react --------------------------------------------------------------------------------------

# The ReAct grammar; what it carries (the Action Input's JSON) is read by `replies`.
_FINAL = re.compile(r"^\s*Final Answer\s*:\s*(.*)\Z", re.S | re.M | re.I)
_ACTION = re.compile(r"^\s*Action\s*:\s*(.*?)\s*$", re.M | re.I)
_INPUT = re.compile(r"^\s*Action Input\s*:\s*(.*?)(?:^\s*Observation\s*:|\Z)", re.S | re.M | re.I)
REACT_STOP = "\nObservation:"


@dataclass(frozen=True, slots=True)
class ReactReply:
    """A ReAct reply: a final answer, or a tool and its arguments (JSON text, checked to be JSON)."""

    answer: str | None = None
    tool: str | None = None
    arguments: str = "{}"


def read_react(text: str) -> ReactReply:
    """One ReAct reply; `FormatError` (with the message for the model) when it has both an action
    and an answer, neither, an action without input, or input that is not JSON."""
    final, action = _FINAL.search(text), _ACTION.search(text)
    if final and action:
        raise FormatError("reply has both an Action and a Final Answer", message_for_model=_prompt("react_both"))
    if final:
        return ReactReply(answer=final.group(1).strip())
    if not action:
        raise FormatError("reply has neither Action nor Final Answer", message_for_model=_prompt("react_neither"))
    raw_input = _INPUT.search(text)
    if not raw_input:
        raise FormatError("Action without Action Input",
                          message_for_model=_prompt("react_no_input", tool=action.group(1)))
    arguments = unfence(raw_input.group(1).strip()).strip() or "{}"
    try:
        json_value(arguments)  # only checked here: the tool layer parses and validates the arguments
    except FormatError as exc:
        raise FormatError(f"Action Input is not JSON: {exc}",
                          message_for_model=_prompt("react_bad_json", problem=str(exc))) from None
    return ReactReply(tool=action.group(1).strip(), arguments=arguments)


def react_system_prompt(system: str | None, specs: list[dict[str, Any]]) -> str:
    """The system message of a ReAct agent: `system`, the tools, and the format."""
    return _prompt("react_system", system=system, tools=_described([s.get("function", s) for s in specs]))


class ReactMode:
    name: ToolModeName = "react"

    def prepare(self, request: ModelRequest) -> ModelRequest:
        if not request.tools or request.tool_choice == "none":
            return replace(request, tools=[], tool_choice=None) if request.tools else request

        def call_text(message: dict[str, Any], calls: Any) -> str:
            if message.get("content"):
                return message["content"]  # the reply as the model wrote it
            return "\n".join(f"Action: {(c.get('function') or {}).get('name', '')}\n"
                             f"Action Input: {(c.get('function') or {}).get('arguments') or '{}'}" for c in calls)

        messages = _with_system(_rewritten(request.messages, call_text, lambda _name, text: f"Observation: {text}"),
                                lambda text: react_system_prompt(text, request.tools))
        stop = [*(request.stop or ()), *([REACT_STOP] if REACT_STOP not in (request.stop or ()) else [])]
        return replace(request, messages=messages, tools=[], tool_choice=None, stop=stop)

    def interpret(self, response: ModelResponse, request: ModelRequest) -> ModelResponse:
        if not request.tools or request.tool_choice == "none" or response.tool_calls:
            return response
        try:
            reply = read_react(response.text)
        except FormatError as exc:
            return _broken(response, exc.message_for_model)
        if reply.answer is not None:
            return _answered(response, reply.answer)
        assert reply.tool is not None
        return _called(response, request, reply.tool, reply.arguments, content=response.text)


_MODES: dict[str, ToolMode] = {"native": NativeMode(), "json": JsonMode(), "react": ReactMode()}
