"""Chain-of-thought (`cot`): one model call that reasons step by step, then answers.

Wei et al. 2022, "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models"
(arXiv:2201.11903): the prompt shows worked examples whose answers spell out the intermediate
steps, and the model is decoded greedily (temperature 0), so it writes its own steps before the
answer. The paper's exemplars (8 for GSM8K, hand-written) are its own text and are not shipped:
by default the recipe is zero-shot, with an instruction to reason step by step (Kojima et al. 2022,
arXiv:2205.11916, showed the instruction alone elicits the steps); pass `exemplars=[(question,
worked answer), ...]` for the few-shot form, sent as earlier user/assistant turns.

Constants (the defaults of `build`):
- `temperature=0.0`: greedy decoding, as in the paper.

The agent makes one model call in its own scope and returns the reply as it is, so the final
answer keeps whatever form the task asked for (`#### n`, a code block, …). It is also the reasoning
path CoT-SC samples many times.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..agents.tool_calling import AgentResult
from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts" / "cot"
TEMPERATURE = 0.0  # Wei et al. 2022: greedy decoding


class ChainOfThought:
    """Reason step by step, then answer: one model call."""

    name = "cot"

    def __init__(self, model: Model, *, system: str | None = None, sampling: dict[str, Any] | None = None,
                 temperature: float | None = TEMPERATURE, exemplars: Sequence[tuple[str, str]] = ()) -> None:
        self.model = model
        self.system = render(PROMPTS / "system.j2", system=system)
        self.exemplars = [(str(q), str(a)) for q, a in exemplars]
        self.sampling = request_fields(sampling, temperature=temperature)

    def messages(self, task: str) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system}]
        for question, answer in self.exemplars:
            messages += [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]
        messages.append({"role": "user", "content": task})
        return messages

    async def run(self, task: str, ctx: Context) -> AgentResult:
        messages = self.messages(task)
        ctx.step()
        response = await ctx.model(self.model, ModelRequest(messages=list(messages), **self.sampling))
        return AgentResult(response.text, [*messages, response.message], 1)


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, temperature: float | None = TEMPERATURE,
          exemplars: Sequence[tuple[str, str]] = ()) -> ChainOfThought:
    """Chain-of-thought with the paper's greedy decoding; `exemplars` for the few-shot form."""
    text_only("cot", tools)
    return ChainOfThought(model, system=system, sampling=sampling, temperature=temperature, exemplars=exemplars)


# --- shared by the baseline recipes ---------------------------------------------------------------


def text_only(recipe: str, tools: Sequence[Any]) -> None:
    """The baselines reason in text and call no tools; an environment that needs tools is not for them."""
    if tools:
        raise ConfigError(f"recipe {recipe!r} reasons in text and calls no tools, but the environment offers "
                          f"{len(tools)}; use an agent that calls tools (tool-calling, codeact) there")


def request_fields(sampling: dict[str, Any] | None, *, temperature: float | None = None) -> dict[str, Any]:
    """`ModelRequest` fields from the caller's `sampling` and a role's own temperature.

    A role's temperature is a constant of its paper, so it wins over `sampling["temperature"]`;
    None leaves the caller's (or, without one, the provider's default).
    """
    fields = dict(sampling or {})
    if temperature is not None:
        fields["temperature"] = temperature
    return fields


