"""The meta agent: it reads the archive and writes the next agent as {thought, name, code}.

As in ADAS (ShengranHu/ADAS `_mgsm/search.py`, `search`; the prompts of `_mgsm/mgsm_prompt.py`, in our
own words in `prompts/meta_*.j2`): one conversation per generation, every call with temperature 0.8
and a JSON-object response format (`get_json_response_from_gpt_reflect`). The proposal is followed by
two self-reviews (`Reflexion_prompt_1`, which shows the last agent designed when there is one, and
`Reflexion_prompt_2`), so a proposal is three calls; each failed evaluation adds the error and the
debug instruction to the same conversation and asks once more. Each reply goes back into the
conversation as the text the model wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ... import replies
from ...errors import ContextLengthError, FormatError
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import ModelRequest
from .calls import fields_schema

PROMPTS = Path(__file__).parent / "prompts"
TEMPERATURE = 0.8             # ADAS get_json_response_from_gpt_reflect(temperature=0.8)
MAX_TOKENS = 4096             # ADAS get_json_response_from_gpt_reflect(max_tokens=4096)
JSON_REPLY = {"type": "json_object"}  # ADAS: response_format={"type": "json_object"}
MAX_NAME_CHARS = 80
# The keys each turn asks for, for `schema=True` (a small local model then writes every one of them).
PROPOSAL_KEYS = ("thought", "name", "code")
REVIEW_KEYS = ("reflection", "thought", "name", "code")
DEBUG_KEYS = ("thought", "name", "debug_thought", "code")


class ProposalFailed(Exception):
    """The meta agent's proposal could not be had (a reply that is not JSON, a prompt too long for the
    model): ADAS skips the generation. The message says why."""


@dataclass(frozen=True)
class Proposal:
    """One reply of the meta agent, read as an agent design."""

    thought: str
    name: str
    code: str
    problem: str | None = None
    """Why the reply is no agent to evaluate (not JSON, no code), in words for the meta agent; None if it is one."""


@dataclass
class Conversation:
    """The messages of one generation's conversation with the meta agent, and its latest proposal."""

    messages: list[dict[str, Any]]
    proposal: Proposal


class MetaAgent:
    """Proposes agents with `model`, reviews them twice, and debugs them on request. `schema=True` asks for
    each turn's keys with a JSON schema instead of any JSON object (ADAS's), for small local models."""

    def __init__(self, model: Model, *, temperature: float = TEMPERATURE, max_tokens: int | None = MAX_TOKENS,
                 seed: int | None = None, schema: bool = False) -> None:
        self.model, self.temperature, self.max_tokens, self.seed = model, temperature, max_tokens, seed
        self.schema = schema

    async def propose(self, ctx: Context, prompt: dict[str, Any], previous: str | None) -> Conversation:
        """The proposal and its two reviews (three calls). `prompt` fills `meta_propose.j2`; `previous` is the
        last agent designed (JSON text), shown in the first review, or None before there is one."""
        messages = [{"role": "system", "content": render(PROMPTS / "meta_system.j2")},
                    {"role": "user", "content": render(PROMPTS / "meta_propose.j2", **prompt)}]
        proposal = await self._ask(ctx, messages, PROPOSAL_KEYS, strict=True)
        for template, variables in (("meta_reflect_first.j2", {"previous": previous}), ("meta_reflect_second.j2", {})):
            messages.append({"role": "user", "content": render(PROMPTS / template, **variables)})
            proposal = await self._ask(ctx, messages, REVIEW_KEYS, strict=True)
        return Conversation(messages, proposal)

    async def debug(self, ctx: Context, conversation: Conversation, error: str) -> Proposal:
        """Send the error with the debug instruction in the same conversation; the fixed proposal (a reply
        that is no agent comes back with its `problem` set, to be fed back in turn)."""
        conversation.messages.append({"role": "user", "content": render(PROMPTS / "meta_debug.j2", error=error)})
        conversation.proposal = await self._ask(ctx, conversation.messages, DEBUG_KEYS, strict=False)
        return conversation.proposal

    async def _ask(self, ctx: Context, messages: list[dict[str, Any]], keys: tuple[str, ...], *,
                   strict: bool) -> Proposal:
        response_format = fields_schema(list(keys), "agent_design") if self.schema else JSON_REPLY
        request = ModelRequest(messages=list(messages), response_format=response_format, temperature=self.temperature,
                               max_tokens=self.max_tokens, seed=self.seed)
        try:
            response = await ctx.model(self.model, request)
        except ContextLengthError as exc:
            raise ProposalFailed(f"the meta agent's prompt is too long for its model ({exc})") from None
        messages.append({"role": "assistant", "content": response.text})
        proposal = read_proposal(response.text)
        if strict and proposal.problem and proposal.problem.startswith("your reply is not a JSON object"):
            raise ProposalFailed(f"the meta agent's reply is not a JSON object: {proposal.problem}")
        return proposal


def read_proposal(text: str) -> Proposal:
    """A reply as a proposal; `problem` says what keeps it from being one."""
    try:
        data = replies.json_object(text)
    except FormatError as exc:
        return Proposal("", "", "", f"your reply is not a JSON object ({exc}); reply with one JSON object")
    thought, name, code = (data.get(k) for k in ("thought", "name", "code"))
    # A name is a label: a model that writes a paragraph there gets it cut (it shows in tables and errors).
    name = " ".join(name.split())[:MAX_NAME_CHARS].strip() if isinstance(name, str) and name.strip() else "unnamed agent"
    thought = thought if isinstance(thought, str) else ""
    if not isinstance(code, str) or not code.strip():
        return Proposal(thought, name, "", "your reply has no \"code\": give the complete forward(self, task) "
                                            "function as a string in \"code\"")
    return Proposal(thought, name, code)
