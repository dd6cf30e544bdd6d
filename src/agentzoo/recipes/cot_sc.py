"""Self-consistency (`cot-sc`): sample many chain-of-thought paths, return the majority answer.

Wang et al. 2023, "Self-Consistency Improves Chain of Thought Reasoning in Language Models"
(ICLR 2023, arXiv:2203.11171): prompt with chain of thought as usual, but instead of one greedy
decode, *sample* a diverse set of reasoning paths and marginalise the reasoning out: the answer
most paths reach wins (an unweighted majority vote, which the paper found as good as weighting by
the paths' probabilities, Table 1).

Constants (the defaults of `build`), from the paper's experiment setup (§3.1):
- `n=40` sampled paths: its main setting (40 outputs per question, results averaged over 10 such
  runs). Its plots of accuracy against the number of paths rise steeply over the first 5–10 and
  flatten after, so `n=5`–`10` is a cheaper setting with most of the gain.
- `temperature=0.7`: its setting for GPT-3 and PaLM-540B (T=0.7; for PaLM with top-k 40; UL2 and
  LaMDA used T=0.5, top-k 40). Our requests carry no top-k: OpenAI-compatible APIs have none, as
  with the paper's GPT-3.
- Ties go to the answer seen first (the paper does not say; this is the debate paper's rule).
- The prompt is chain of thought's, with the same exemplars (the paper used Wei et al.'s prompts):
  the eight math word problem exemplars when the task's answers are numbers, else zero-shot
  (presets `few-shot` and `zero-shot`, as for `cot`).
The paper released no code (its results come from Google's models and the GPT-3 API). `n` is the
option for the number of paths (`--agent-opt n=10` for the cheaper setting).

Each path is a `ChainOfThought` agent in its own scope `path#1` … `path#n`, created in order
before they run concurrently, so replay is deterministic and the report shows the cost of the
paths together under the role `path`. When the caller gives a seed, path i gets seed + i - 1.
Answers are compared by `agentzoo.recipes._answers.final_answer`; the returned text is the first
path that gave the winning answer, whole, so it keeps the form the task asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..agents.tool_calling import AgentResult
from ..protocols import Model
from ..runtime.context import Context
from ._answers import final_answer, majority
from ..teams.parallel import branch_sampling, gather
from .cot import PRESETS as COT_PRESETS
from .cot import ChainOfThought, FewShot, chosen_exemplars, text_only

N_PATHS = 40        # Wang et al. 2023 §3.1
TEMPERATURE = 0.7   # Wang et al. 2023 §3.1, GPT-3 / PaLM-540B
ANSWER_KINDS = ("number", "text", "code")  # votes over final answers; code is compared by its syntax tree

PRESETS: dict[str, dict[str, Any]] = {name: dict(values) for name, values in COT_PRESETS.items()}
OPTION_SOURCES: dict[str, str] = {
    "n": "paper §3.1: 40 sampled reasoning paths per question (accuracy flattens after 5-10)",
    "temperature": "paper §3.1: T=0.7 for GPT-3 and PaLM-540B (T=0.5 for UL2 and LaMDA)",
    "few_shot": "paper §3.1: the same exemplars as Wei et al. 2022 (math word problems: 8 exemplars)",
}
DEVIATIONS: list[str] = [
    "no top-k truncation (the paper used top-k 40 for PaLM, UL2 and LaMDA): OpenAI-compatible APIs have none, "
    "as with the paper's GPT-3",
    "ties between answers go to the one seen first (the paper does not say)",
    "exemplars are chat turns, and zero-shot outside math word problems, as for `cot`",
]

T = TypeVar("T")


class SelfConsistency:
    """n chain-of-thought samples in parallel branches, then a majority vote over their final answers."""

    name = "cot-sc"

    def __init__(self, model: Model, *, n: int = N_PATHS, temperature: float | None = TEMPERATURE,
                 system: str | None = None, sampling: dict[str, Any] | None = None,
                 exemplars: Sequence[tuple[str, str]] = (),
                 answer: Callable[[str | None], str | None] = final_answer) -> None:
        if n < 1:
            raise ValueError(f"n must be at least 1, not {n}")
        self.paths = [ChainOfThought(model, system=system, sampling=branch_sampling(sampling, i), temperature=temperature,
                                     exemplars=exemplars) for i in range(n)]
        self.answer = answer

    async def run(self, task: str, ctx: Context) -> AgentResult:
        scopes = [ctx.child("path", i) for i in range(1, len(self.paths) + 1)]  # named before they run
        results = await gather([path.run(task, scope) for path, scope in zip(self.paths, scopes)])
        vote = majority([self.answer(r.answer) for r in results])
        chosen = results[vote.winner]
        return AgentResult(chosen.answer, chosen.messages, len(results))


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, n: int = N_PATHS, temperature: float | None = TEMPERATURE,
          few_shot: FewShot = "auto", exemplars: Sequence[tuple[str, str]] = (),
          task_kind: str | None = None) -> SelfConsistency:
    """Self-consistency with the paper's 40 paths at temperature 0.7 and chain of thought's exemplars."""
    text_only("cot-sc", tools)
    return SelfConsistency(model, n=n, temperature=temperature, system=system, sampling=sampling,
                           exemplars=chosen_exemplars(few_shot, exemplars, task_kind))
