"""Multi-branch reasoning with task decomposition (`multi-branch`), the inference technique of PAPERS.md #16.

"Low-parameter LLM agent tuning" (PAPERS.md #16) fine-tunes 7B/13B models on agent data (not here: it needs
GPUs) and, at inference, combines task decomposition with multi-path reasoning. No code or prompts were
released, so the method is built from the paper's description: a decomposer splits the task into ordered
sub-tasks; each sub-task is answered by `k` branches sampled concurrently; the answer is picked by a
majority vote over their final answers (`selection="vote"`) or by a selector model (`selection="selector"`);
the picked answer is shown to every later sub-task; the last sub-task's pick is the run's answer.

Answers are compared by `agentzoo.recipes._answers.final_answer` (numbers canonical, text normalised), ties to
the branch seen first. It answers text and number tasks (gsm8k, numeric-problems, persona-sessions,
judge-pairs).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...protocols import Model
from ..cot import text_only
from .agent import SELECTIONS, MultiBranch, Step, parse_subtasks

__all__ = ["ANSWER_KINDS", "SELECTIONS", "MultiBranch", "Step", "build", "parse_subtasks"]

ANSWER_KINDS = ("number", "text")
K_BRANCHES = 3        # ours [unverified]: the paper's branch count is not stated in what we read
SELECTION = "vote"    # paper #16: "multi-path reasoning" picks by vote or selector; vote needs no extra call
MAX_SUBTASKS = 4      # ours: a cap so a runaway decomposer cannot multiply the cost
TEMPERATURE = 0.7     # ours, as cot-sc (Wang et al. 2023 §3.1): branches must differ to be worth voting on

PRESETS: dict[str, dict[str, Any]] = {
    "vote": {"selection": "vote"},
    "selector": {"selection": "selector"},
}
OPTION_SOURCES: dict[str, str] = {
    "k": "PAPERS.md #16: k reasoning paths per sub-task; the count is ours (3) [unverified]",
    "selection": "PAPERS.md #16: the branches' answer is picked by a vote or a selector",
    "max_subtasks": "ours: a cap on the decomposer's list",
    "temperature": "ours, as cot-sc's T=0.7 (Wang et al. 2023 §3.1), so branches differ",
}
DEVIATIONS: list[str] = [
    "no SFT: the paper's agent-tuned 7B/13B models need GPUs; any chat model plays every role",
    "prompts are ours (the paper released none); the decomposer writes a numbered list",
    "a plan with no numbered line makes the whole task the one sub-task instead of failing",
    "a selector reply with no valid `Choice: n` fails the run (UnexpectedModelBehavior) rather than guessing",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, k: int = K_BRANCHES, selection: str = SELECTION,
          max_subtasks: int = MAX_SUBTASKS, temperature: float | None = TEMPERATURE) -> MultiBranch:
    """Decomposer, k branches per sub-task (vote or selector), outputs carried forward. `system` is given to
    every branch."""
    text_only("multi-branch", tools)
    return MultiBranch(model, k=k, selection=selection, max_subtasks=max_subtasks, system=system,
                       sampling=sampling, temperature=temperature)
