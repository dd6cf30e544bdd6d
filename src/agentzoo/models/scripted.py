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
        if callable(script):
            self._fn: Callable[[ModelRequest], Any] | None = script
            self._steps: list[Step] = []
        else:
            self._fn = None
            self._steps = list(script)

    @classmethod
    def from_file(cls, path: str | Path, *, name: str | None = None) -> ScriptedModel:
        """Load a script from a JSON or YAML file holding a list of steps."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"scripted model file {path}: {exc.strerror}") from exc
        try:
            if path.suffix in (".yaml", ".yml"):
                import yaml

                steps = yaml.safe_load(text)
            else:
                steps = _json.loads(text)
        except Exception as exc:  # noqa: BLE001 - any parse error is the file's fault
            raise ConfigError(f"scripted model file {path}: not valid {path.suffix.lstrip('.') or 'JSON'}: {exc}") from exc
        if isinstance(steps, dict) and "steps" in steps:
            steps = steps["steps"]
        if not isinstance(steps, list):
            raise ConfigError(f"scripted model file {path}: expected a list of steps, got {type(steps).__name__}")
        return cls(steps, name=name or f"scripted:{path.name}")

    @property
    def calls(self) -> int:
        return len(self.requests)

    async def complete(self, request: ModelRequest, *, on_delta: DeltaCallback | None = None) -> ModelResponse:
        index = len(self.requests)
        self.requests.append(request)
        if self._fn is not None:
            step = self._fn(request)
            if inspect.isawaitable(step):
                step = await step
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
        elif isinstance(step, dict):
            message = _message_from_dict(step, index)
        else:
            raise ConfigError(f"{self.name}: step {index + 1} is {type(step).__name__}; expected a string, "
                              "a dict, a ModelResponse or an exception")
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        return ModelResponse(message=message, finish_reason=finish, usage=_estimate_usage(request, message),
                             model=self.name)


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
