"""The host side of `LLMAgent`: one call from sandboxed agent code becomes one journaled model call.

The code in the sandbox sends only data (`llm_call(agent, role, fields, temperature, inputs,
instruction)`); here it is checked (types, counts, sizes: the code is untrusted), put into the prompt
templates beside this file, sent through the gateway as a model call with a JSON response format
(ADAS's `get_json_response_from_gpt`: `response_format={"type": "json_object"}`), and the reply's
fields go back as strings. As in ADAS's `LLMAgentBase.query`, a reply that is not a JSON object, or
lacks a field, gives empty strings for what is missing rather than an error, and a prompt too long
for the model is an error the code's author is told to fix by sending less context.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ... import _json, replies
from ...errors import ContextLengthError, FormatError, ToolError
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
JSON_REPLY = {"type": "json_object"}  # ADAS get_json_response_from_gpt
MAX_FIELDS = 16
MAX_INPUTS = 256
MAX_NAME_CHARS = 200
MAX_PROMPT_CHARS = 400_000  # what one call may send: a runaway concatenation is refused before it costs anything

LLM_TOOL: dict[str, Any] = {
    "name": "llm_call",
    "description": "One LLMAgent call, made by the host: the prompt from the inputs and instruction, the reply's fields.",
    "parameters": {"type": "object", "properties": {
        "agent": {"type": "string"}, "role": {"type": "string"},
        "fields": {"type": "array", "items": {"type": "string"}}, "temperature": {"type": "number"},
        "inputs": {"type": "array", "items": {"type": "object"}}, "instruction": {"type": "string"}}},
}


class LLMCalls:
    """Serves one task's `llm_call`s with `model`: at most `max_calls` of them (a runaway loop in generated
    code stops there). `seed`, when given, is sent with call k as `seed + k`, so that samples at the same
    temperature differ from each other and are the same on every run; `max_tokens` caps each reply.
    `schema=True` asks for the fields with a JSON schema instead of any JSON object (ADAS asks for an
    object only): a small local model, decoding under the schema, then always gives every field."""

    def __init__(self, model: Model, *, task_kind: str | None = None, seed: int | None = None,
                 max_tokens: int | None = None, max_calls: int = 100, schema: bool = False) -> None:
        self.model, self.task_kind, self.seed, self.max_tokens, self.max_calls = model, task_kind, seed, max_tokens, max_calls
        self.schema = schema
        self.made = 0

    async def __call__(self, ctx: Context, arguments: dict[str, Any]) -> dict[str, str]:
        call = _checked(arguments)
        if self.made >= self.max_calls:
            raise ToolError(f"this agent made {self.made} LLM calls on one task, the most allowed: design it to "
                            "make fewer calls")
        request = self.request(call, self.made)
        self.made += 1
        try:
            response = await ctx.model(self.model, request)
        except ContextLengthError:
            raise ToolError(f"the prompt of {call['agent']} is too long for the model: design the agent to send "
                            "shorter context") from None
        return reply_fields(response.text, call["fields"])

    def request(self, call: dict[str, Any], index: int) -> ModelRequest:
        system = render(PROMPTS / "agent_system.j2", role=call["role"], fields=call["fields"], task_kind=self.task_kind)
        user = render(PROMPTS / "agent_user.j2", inputs=call["inputs"], agent=call["agent"],
                      instruction=call["instruction"])
        if len(system) + len(user) > MAX_PROMPT_CHARS:
            raise ToolError(f"the prompt of {call['agent']} is {len(system) + len(user):,} characters, over "
                            f"{MAX_PROMPT_CHARS:,}: design the agent to send shorter context")
        return ModelRequest(messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                            response_format=fields_schema(call["fields"]) if self.schema else JSON_REPLY,
                            temperature=call["temperature"],
                            seed=None if self.seed is None else self.seed + index, max_tokens=self.max_tokens)


def fields_schema(fields: list[str], name: str = "reply") -> dict[str, Any]:
    """A JSON-schema response format: an object with exactly these string fields, in this order."""
    return replies.json_format(replies.object_schema({f: {"type": "string"} for f in fields}), name)


def reply_fields(text: str, fields: list[str]) -> dict[str, str]:
    """The reply's value of each field, as text ('' when the reply has none; other JSON as JSON text)."""
    try:
        data = replies.json_object(text)
    except FormatError:
        data = {}
    out = {}
    for name in fields:
        value = data.get(name, "")
        out[name] = value if isinstance(value, str) else _json.dumps_str(value)
    return out


def _checked(args: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments, or `ToolError` saying what is wrong with them (the sandboxed code sees it)."""
    def text(key: str, limit: int | None = None) -> str:
        value = args.get(key)
        if not isinstance(value, str):
            raise ToolError(f"llm_call: {key} must be a string")
        if limit is not None and len(value) > limit:
            raise ToolError(f"llm_call: {key} is {len(value)} characters, over {limit}")
        return value

    fields = args.get("fields")
    if (not isinstance(fields, list) or not fields or len(fields) > MAX_FIELDS
            or not all(isinstance(f, str) and f.strip() and len(f) <= 100 for f in fields)):
        raise ToolError(f"llm_call: fields must be 1 to {MAX_FIELDS} field names")
    if len(set(fields)) != len(fields):
        raise ToolError(f"llm_call: fields {fields} name a field twice")
    temperature = args.get("temperature")
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise ToolError("llm_call: temperature must be a number from 0 to 2")
    inputs = args.get("inputs")
    if not isinstance(inputs, list) or len(inputs) > MAX_INPUTS:
        raise ToolError(f"llm_call: inputs must be a list of at most {MAX_INPUTS} items")
    checked = []
    for i, item in enumerate(inputs):
        if not isinstance(item, dict):
            raise ToolError(f"llm_call: input {i} is not an object")
        name, author, content, iteration = (item.get(k) for k in ("name", "author", "content", "iteration"))
        if not (isinstance(name, str) and isinstance(author, str) and isinstance(content, str)
                and isinstance(iteration, int) and not isinstance(iteration, bool)):
            raise ToolError(f"llm_call: input {i} must have text name, author and content and an int iteration")
        checked.append({"name": name[:MAX_NAME_CHARS], "author": author[:MAX_NAME_CHARS], "content": content,
                        "iteration": iteration})
    return {"agent": text("agent", MAX_NAME_CHARS), "role": text("role", MAX_NAME_CHARS), "fields": fields,
            "temperature": float(temperature), "inputs": checked, "instruction": text("instruction")}
