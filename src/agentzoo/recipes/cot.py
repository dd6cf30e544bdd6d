"""Chain-of-thought (`cot`): one model call that reasons step by step, then answers.

Wei et al. 2022, "Chain-of-Thought Prompting Elicits Reasoning in Large Language Models"
(arXiv:2201.11903): the prompt shows worked examples whose answers spell out the intermediate
steps, and the model is decoded greedily (temperature 0), so it writes its own steps before the
answer. The paper's eight exemplars for math word problems (GSM8K and the other math sets but
AQuA) ship as data beside the recipe (`cot_exemplars/gsm8k.yaml`, with their source), sent as
earlier user/assistant turns: the preset `few-shot`, and the default when the environment says its
answers are numbers (`task_kind="number"`, GSM8K). Elsewhere the recipe is zero-shot (preset
`zero-shot`): a system instruction to reason step by step (Kojima et al. 2022, arXiv:2205.11916,
showed the instruction alone elicits the steps). `exemplars=[(question, worked answer), ...]`
gives exemplars of your own.

The agent makes one model call in its own scope and returns the reply as it is, so the final
answer keeps whatever form the task asked for (`#### n`, a code block, …): the task's own
instruction about the form governs, not the exemplars' "The answer is n.". It is also the
reasoning path CoT-SC samples many times. `OPTION_SOURCES` and `DEVIATIONS` below say where each
default comes from and where the recipe departs from the paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from ..agents.tool_calling import AgentResult
from ..errors import ConfigError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts" / "cot"
ANSWER_KINDS = ("number", "text", "code")  # the reply is the answer, in the form the task asks for
EXEMPLARS = Path(__file__).parent / "cot_exemplars"
TEMPERATURE = 0.0  # Wei et al. 2022: greedy decoding

FewShot = Literal["auto", "gsm8k", "none"]
"""An exemplar set by name (a file in `cot_exemplars/`), `none`, or `auto`: the set for the task kind."""

PRESETS: dict[str, dict[str, Any]] = {
    "few-shot": {"few_shot": "gsm8k"},   # the paper's prompt for math word problems
    "zero-shot": {"few_shot": "none"},   # Kojima et al. 2022's instruction alone
}
OPTION_SOURCES: dict[str, str] = {
    "temperature": "paper §3.1: greedy decoding",
    "few_shot": "paper appendix: 8 hand-written exemplars for math word problems (GSM8K, SVAMP, ASDiv, MAWPS); "
                "auto uses them when task_kind is 'number'",
}
DEVIATIONS: list[str] = [
    "exemplars are chat turns (a user turn per question, an assistant turn per worked answer); the paper gave a "
    "completion model one text of 'Q: … A: …' pairs",
    "zero-shot unless the task's answers are numbers: the paper wrote exemplars per benchmark family and only its "
    "math word problem set ships, so other tasks get the step-by-step instruction instead (Kojima et al. 2022)",
    "a system prompt asks for step-by-step reasoning and the task's own answer form; the paper's prompt is the "
    "exemplars alone",
]


@lru_cache(maxsize=None)
def load_exemplars(name: str) -> tuple[tuple[str, str], ...]:
    """The (question, worked answer) pairs of the set `cot_exemplars/<name>.yaml`."""
    import yaml

    path = EXEMPLARS / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in EXEMPLARS.glob("*.yaml"))) or "(none)"
        raise ConfigError(f"unknown exemplar set {name!r}; known: {known}")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return tuple((str(e["question"]), str(e["answer"])) for e in data["exemplars"])


def chosen_exemplars(few_shot: str, exemplars: Sequence[tuple[str, str]],
                     task_kind: str | None) -> Sequence[tuple[str, str]]:
    """The exemplars a run uses: the caller's own, else the named set, else (`auto`) the math word
    problem set when the task's answers are numbers, else none."""
    if exemplars:
        return exemplars
    if few_shot == "auto":
        few_shot = "gsm8k" if task_kind == "number" else "none"
    return () if few_shot == "none" else load_exemplars(few_shot)


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
          few_shot: FewShot = "auto", exemplars: Sequence[tuple[str, str]] = (),
          task_kind: str | None = None) -> ChainOfThought:
    """Chain-of-thought with the paper's greedy decoding and, on math word problems, its exemplars;
    `exemplars` (question, worked answer) pairs of your own win over `few_shot`."""
    text_only("cot", tools)
    return ChainOfThought(model, system=system, sampling=sampling, temperature=temperature,
                          exemplars=chosen_exemplars(few_shot, exemplars, task_kind))


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


