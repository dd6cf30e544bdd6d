"""`ScriptedModel`: a model that answers from a script. A public test double.

Use it to test your own agents without a real LLM:

    model = ScriptedModel([
        {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]},
        "The sum is 3.",
    ])

Each step of the script is one of:
- a string: the assistant's text;
- a dict with `content` and/or `tool_calls` (`[{"name", "arguments"}]`, arguments as a dict
  or as the raw JSON text a model would write, which may be broken on purpose);
- a full assistant message dict (`{"role": "assistant", ...}` in OpenAI shape);
- a `ModelResponse`;
- an exception instance, raised instead of answering (to play provider failures).
Or pass a function of the `ModelRequest` (sync or async) that returns one of those.
`model.requests` keeps every request it saw, so tests can assert what the model was sent.
Token usage is estimated as characters / 4, deterministically, so budgets and costs work.

A script is checked when it is made (a function's answers when they come): a step of the
wrong shape is a `ConfigError` naming the file (or the model's name) and the step number.

Resume, fork and replay serve the calls the journal already holds without asking the model;
the gateway tells the model through `served()`, and the script moves past those steps, so a
resumed run goes on where it stopped instead of playing the script from its first step again.

By default a scripted call is journaled like a real model call: committed as soon as it
returns, so crash tests that use a script as a stand-in for a provider test what a provider
would get. `local=True` declares the script a pure function of the request: its calls are then
committed in batches with the next non-local effect (see `agentzoo.runtime.journal`), which
is what an in-process simulation of many steps wants.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import _json
from ..errors import ConfigError, UserError
from ..protocols import DeltaCallback
from ..types import ModelRequest, ModelResponse, Usage

Step = str | dict[str, Any] | ModelResponse | BaseException


class ScriptExhausted(UserError):
    """The script has no step left for this request."""


class ScriptedModel:
    """A `Model` that plays a script or a function of the request."""

    def __init__(self, script: Sequence[Step] | Callable[[ModelRequest], Any], *, name: str = "scripted",
                 local: bool = False) -> None:
        self.name = name
        self.local = local
        """True: the gateway may commit this model's calls in batches (a pure, in-process script)."""
        self.requests: list[ModelRequest] = []
        """The requests this model was asked (not those served from a journal)."""
        self._next = 0
        """The step the next call plays: calls asked plus calls served from a journal."""
        if callable(script):
            self._fn: Callable[[ModelRequest], Any] | None = script
            self._steps: list[Step] = []
        else:
            self._fn = None
            if isinstance(script, (str, bytes, dict)):
                raise ConfigError(f"{name}: a script is a list of steps, not {type(script).__name__}")
            self._steps = list(script)
            for index, step in enumerate(self._steps):
                check_step(step, index, name)

    @classmethod
    def from_file(cls, path: str | Path, *, name: str | None = None) -> ScriptedModel:
        """Load a script from a JSON or YAML file holding a list of steps (or `{"steps": [...]}`)."""
        path = Path(path)
        where = f"scripted model file {path}"
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{where}: {exc.strerror}") from exc
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ConfigError(f"{where}: not UTF-8 text (byte offset {exc.start}, line {line})") from None
        fmt = "YAML" if path.suffix in (".yaml", ".yml") else "JSON"
        try:
            if fmt == "YAML":
                import yaml

                steps = yaml.safe_load(text)
            else:
                steps = _json.loads(text)
        except Exception as exc:  # noqa: BLE001 - any parse error is the file's fault
            raise ConfigError(f"{where}: not valid {fmt}: {exc}") from None
        if isinstance(steps, dict) and set(steps) == {"steps"}:
            steps = steps["steps"]
        if not isinstance(steps, list):
            raise ConfigError(f"{where}: expected a list of steps (or {{\"steps\": [...]}}), "
                              f"got {_kind(steps)}")
        for index, step in enumerate(steps):
            check_step(step, index, where, from_file=True)
        return cls(steps, name=name or f"scripted:{path.name}")

    @property
    def calls(self) -> int:
        return len(self.requests)

    def served(self, request: ModelRequest, response: ModelResponse) -> None:
        """The gateway served this call from the journal instead of asking: move past its step.
        A function script is not called for it (it may count its calls, or do other things)."""
        self._next += 1

    async def complete(self, request: ModelRequest, *, on_delta: DeltaCallback | None = None) -> ModelResponse:
        index = self._next
        self._next += 1
        self.requests.append(request)
        if self._fn is not None:
            step = self._fn(request)
            if not isinstance(step, _PLAYABLE) and inspect.isawaitable(step):  # the common types first: cheap
                step = await step
            check_step(step, index, self.name)
        elif index < len(self._steps):
            step = self._steps[index]
        else:
            raise ScriptExhausted(f"{self.name}: the script has {len(self._steps)} steps and was asked for "
                                  f"step {index + 1}")
        if isinstance(step, BaseException):
            raise step
        response = self._to_response(step, request, index)
        if on_delta is not None and response.text:
            on_delta(response.text)
        return response

    def _to_response(self, step: Any, request: ModelRequest, index: int) -> ModelResponse:
        if isinstance(step, ModelResponse):
            return step
        if isinstance(step, str):
            message: dict[str, Any] = {"role": "assistant", "content": step}
        else:
            message = _message_from_dict(step, index)
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        return ModelResponse(message=message, finish_reason=finish, usage=_estimate_usage(request, message),
                             model=self.name)


# --- checking a step -------------------------------------------------------------------------

_SHORT_KEYS = ("content", "tool_calls")
_CALL_KEYS = ("id", "name", "arguments")


_PLAYABLE = (ModelResponse, str, dict)
"""Steps a script function returns as they are (not awaited)."""


def check_step(step: Any, index: int, where: str, *, from_file: bool = False) -> None:
    """Raise `ConfigError` naming `where` and the step (1-based) unless `step` is one we can play."""
    problem = _step_problem(step, from_file)
    if problem:
        raise ConfigError(f"{where}: step {index + 1} {problem}")


def _step_problem(step: Any, from_file: bool) -> str:
    if isinstance(step, str) or (not from_file and isinstance(step, (ModelResponse, BaseException))):
        return ""
    if not isinstance(step, dict):
        return (f"is {_kind(step)}; expected text, an object with content and/or tool_calls, or an "
                "assistant message" + ("" if from_file else ", a ModelResponse or an exception"))
    if any(not isinstance(k, str) for k in step):
        return "has a key that is not text"
    if "role" in step:
        return _message_problem(step)
    unknown = [k for k in step if k not in _SHORT_KEYS]
    if unknown:
        return f"has unknown key(s) {', '.join(map(repr, unknown))}; a step has content and/or tool_calls"
    if not step:
        return "is empty; give content and/or tool_calls"
    if not isinstance(step.get("content"), (str, type(None))):
        return f"content is {_kind(step['content'])}, not text"
    calls = step.get("tool_calls")
    if calls is None:
        return ""
    if not isinstance(calls, list):
        return f"tool_calls is {_kind(calls)}; expected a list of calls like [{{\"name\": ..., \"arguments\": {{...}}}}]"
    for i, call in enumerate(calls, 1):
        if not isinstance(call, dict):
            return f"tool call {i} is {_kind(call)}, not an object with name and arguments"
        unknown = [k for k in call if k not in _CALL_KEYS]
        if unknown:
            return f"tool call {i} has unknown key(s) {', '.join(map(repr, unknown))}; a call has name, arguments, id"
        if not isinstance(call.get("name"), str) or not call["name"]:
            return f"tool call {i} has no name" if not call.get("name") else f"tool call {i}: name is {_kind(call['name'])}, not text"
        if not isinstance(call.get("arguments"), (dict, str, type(None))):
            return f"tool call {i} ({call['name']}): arguments are {_kind(call['arguments'])}, not an object or JSON text"
        if not isinstance(call.get("id"), (str, type(None))):
            return f"tool call {i} ({call['name']}): id is {_kind(call['id'])}, not text"
    return ""


def _message_problem(message: dict[str, Any]) -> str:
    """What is wrong with a step written as a whole assistant message in OpenAI's shape."""
    if message.get("role") != "assistant":
        return f"has role {message.get('role')!r}; a model's message has role 'assistant'"
    if not isinstance(message.get("content"), (str, list, type(None))):
        return f"content is {_kind(message['content'])}, not text"
    calls = message.get("tool_calls")
    if calls is None:
        return ""
    if not isinstance(calls, list):
        return f"tool_calls is {_kind(calls)}, not a list"
    for i, call in enumerate(calls, 1):
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict):
            return f"tool call {i} has no function object ({{\"name\", \"arguments\"}})"
        if not isinstance(function.get("name"), str) or not function["name"]:
            return f"tool call {i} has no name"
        if not isinstance(function.get("arguments"), str):
            return f"tool call {i} ({function['name']}): arguments are {_kind(function.get('arguments'))}, not JSON text"
        if not isinstance(call.get("id"), (str, type(None))):
            return f"tool call {i} ({function['name']}): id is {_kind(call['id'])}, not text"
    return ""


def _kind(value: Any) -> str:
    """A value's kind in the words of a JSON/YAML file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return f"a {type(value).__name__}"


def _message_from_dict(step: dict[str, Any], index: int) -> dict[str, Any]:
    if step.get("role") == "assistant":
        return step
    message: dict[str, Any] = {"role": "assistant", "content": step.get("content")}
    calls = step.get("tool_calls") or []
    if calls:
        message["tool_calls"] = [
            {
                "id": call.get("id") or f"call_{index}_{i}",
                "type": "function",
                "function": {
                    "name": call["name"],
                    "arguments": call["arguments"] if isinstance(call.get("arguments"), str)
                    else _json.dumps_str(call.get("arguments") or {}),
                },
            }
            for i, call in enumerate(calls)
        ]
    return message


def _estimate_usage(request: ModelRequest, message: dict[str, Any]) -> Usage:
    sent = sum(len(m.get("content") or "") + len(_json.dumps(m.get("tool_calls") or "")) for m in request.messages)
    got = len(message.get("content") or "") + sum(len(c["function"]["arguments"]) for c in message.get("tool_calls") or ())
    return Usage(input_tokens=max(1, sent // 4), output_tokens=max(1, got // 4))
