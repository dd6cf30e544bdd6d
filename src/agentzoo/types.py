"""Core records: usage, tool calls, model requests and responses.

Messages stay in the OpenAI chat-completions shape (plain dicts), the neutral format every
backend, exporter and the journal speak: `{"role": "system"|"user"|"assistant"|"tool", ...}`.
An assistant message may carry `tool_calls: [{"id", "type": "function", "function": {"name",
"arguments"}}]` where `arguments` is the raw JSON text the model wrote (it may be broken: the
tool layer parses and validates it). A tool message carries `tool_call_id` and `content`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from ._records import quick_init

Role = Literal["system", "user", "assistant", "tool"]


class Message(TypedDict, total=False):
    """One chat message in OpenAI chat-completions shape."""

    role: Role
    content: str | None
    name: str
    tool_calls: list[dict[str, Any]]
    tool_call_id: str


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one model call (or a sum of calls) used."""

    input_tokens: int = 0
    """Prompt tokens, as the provider counted them."""
    output_tokens: int = 0
    """Completion tokens, as the provider counted them."""

    def __add__(self, other: Usage) -> Usage:
        return Usage(self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A tool call as the model wrote it."""

    id: str
    """The id the model gave the call; the tool message answers it."""
    name: str
    """The tool's name as written (it may not exist)."""
    arguments: str
    """The raw JSON text of the arguments (it may be invalid)."""


@quick_init
@dataclass(frozen=True, slots=True)
class ModelRequest:
    """A provider-neutral chat request."""

    messages: list[dict[str, Any]]
    """The conversation, in OpenAI chat shape."""
    tools: list[dict[str, Any]] = field(default_factory=list)
    """Tools as OpenAI `{"type": "function", "function": {name, description, parameters}}`."""
    tool_choice: str | dict[str, Any] | None = None
    """`"auto"`, `"none"`, `"required"`, or a named function; None leaves the default."""
    response_format: dict[str, Any] | None = None
    """e.g. `{"type": "json_object"}` or a JSON-schema response format."""
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    seed: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Provider-specific body fields, sent as they are."""

    def to_json(self) -> dict[str, Any]:
        """The request as plain JSON, without unset fields (what is hashed and journaled)."""
        out: dict[str, Any] = {"messages": self.messages}
        if self.tools:
            out["tools"] = self.tools
        for key in ("tool_choice", "response_format", "temperature", "top_p", "max_tokens", "stop", "seed"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelRequest:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class Latency:
    """Where the time of one model call went, in seconds (its successful attempt); None where
    nothing says. Servers that report their own timings (llama.cpp's `timings`) give the prompt
    and generation time, and the rest of the total is the time the request waited for them."""

    total_s: float
    """From sending the request to the end of the reply."""
    first_token_s: float | None = None
    """From sending the request to the first token of the reply, as read from the stream."""
    queue_s: float | None = None
    """Waiting before the server began on the request: the total less the server's prompt and
    generation time (so it also holds the network's share: little on loopback)."""
    prompt_s: float | None = None
    """The server's time to read the prompt, as it reported it."""
    generation_s: float | None = None
    """The server's time to generate the reply, as it reported it."""

    def to_json(self) -> dict[str, float]:
        return {k: round(v, 6) for k in self.__slots__ if (v := getattr(self, k)) is not None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Latency:
        return cls(**{k: data.get(k) for k in cls.__slots__ if k in data})  # type: ignore[arg-type]


@quick_init
@dataclass(frozen=True, slots=True)
class ModelResponse:
    """What a model answered."""

    message: dict[str, Any]
    """The assistant message, in OpenAI chat shape (content and/or tool_calls)."""
    finish_reason: str | None = None
    """`stop`, `tool_calls`, `length`, `content_filter`, or what the provider said."""
    usage: Usage = Usage()
    model: str = ""
    """The model name the provider reported (or the configured one)."""
    latency: Latency | None = None
    """Queue, first-token and total time, where the backend measured them."""
    attempts: list[dict[str, Any]] = field(default_factory=list)
    """Every attempt the backend made for this reply, in order, failed ones included (`models.retry`):
    `{"attempt", "seconds", "waited_s", "error"?, "changed"?}`. Empty for backends that do not retry."""
    format_error: str | None = None
    """Set by a tool mode (`models.tool_modes`) when the reply broke the format the request asked
    for: what to tell the model. Such a reply is never an answer; the agent sends this back."""

    @property
    def text(self) -> str:
        return self.message.get("content") or ""

    @property
    def tool_calls(self) -> list[ToolCall]:
        calls = []
        for i, raw in enumerate(self.message.get("tool_calls") or ()):
            fn = raw.get("function") or {}
            calls.append(ToolCall(id=raw.get("id") or f"call_{i}", name=fn.get("name") or "",
                                  arguments=fn.get("arguments") or ""))
        return calls

    def to_json(self) -> dict[str, Any]:
        """Plain JSON; the optional fields only when set, so that older journals read the same."""
        out: dict[str, Any] = {
            "message": self.message,
            "finish_reason": self.finish_reason,
            "usage": {"input_tokens": self.usage.input_tokens, "output_tokens": self.usage.output_tokens},
            "model": self.model,
        }
        if self.latency is not None:
            out["latency"] = self.latency.to_json()
        if self.attempts:
            out["attempts"] = self.attempts
        if self.format_error is not None:
            out["format_error"] = self.format_error
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelResponse:
        usage = data.get("usage") or {}
        latency = data.get("latency")
        return cls(message=data["message"], finish_reason=data.get("finish_reason"),
                   usage=Usage(usage.get("input_tokens", 0), usage.get("output_tokens", 0)),
                   model=data.get("model", ""), latency=Latency.from_json(latency) if latency else None,
                   attempts=list(data.get("attempts") or ()), format_error=data.get("format_error"))


def assistant_message(content: str | None = None, tool_calls: list[ToolCall] | None = None) -> dict[str, Any]:
    """Build an assistant message in OpenAI shape."""
    msg: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        msg["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in tool_calls
        ]
    return msg


@dataclass
class AgentResult:
    """What an agent run gave back: its answer and its conversation."""

    answer: str | None
    """The final answer; None when the agent gave none."""
    messages: list[dict[str, Any]] = field(default_factory=list)
    """The conversation, in OpenAI chat shape."""
    steps: int = 0
    """Model replies the run took."""
