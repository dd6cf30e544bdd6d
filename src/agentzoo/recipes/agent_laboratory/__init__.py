"""Agent Laboratory (`agent-laboratory`, #31): a research lab of LLM roles that takes a problem from a literature
review to a reviewed report, its experiments written by the mle-solver and run in the sandbox.

Schmidgall et al. 2025, "Agent Laboratory: Using LLM Agents as Research Assistants" (arXiv:2501.04227); facts
from SamuelSchmidgall/AgentLaboratory (`ai_lab_repo.py`, `mlesolver.py`, `agents.py`). The phases, in order
(`phases.py`, a state graph): literature review (the PhD student searches a local corpus: `literature.py`),
plan formulation (postdoc and PhD student), data preparation (ML and SW engineers; submitted code must run),
running experiments (the mle-solver, `mle_solver.py`: `REPLACE` / `EDIT N M`, a version kept only if it runs,
up to 2 repairs, a reward model's 0-1 score, the best versions kept), results interpretation, report writing
(the same solver over a markdown report), report refinement (three reviewers, then the PhD student finishes or
goes back to plan formulation). Each phase has a step budget; a human may approve or send back each phase
(`human.py`, through an `ApprovalPolicy`). Prompts are in `prompts/`, the phase work in `work.py`.

It acts in `mlagentbench` (`ACTS_IN`): the problem is the task's research problem, the program the solver
improves is the workspace's `train.py`, every program runs as a workspace step in the sandbox, and the kept
program is written over `train.py` and run, so its `submission.csv` is what the environment scores.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import StepDriver, driver_of
from ...errors import ConfigError
from ...protocols import Model
from ...runtime.context import Context
from ...tools import ApprovalPolicy
from ...types import AgentResult
from ..cot import request_fields
from . import literature
from .commands import Command, apply, score
from .human import APPROVE_PHASE, Feedback, Human
from .phases import PHASES, Budgets, LabState, machine
from .roles import ROLES, Lab
from .work import Phases, Settings, Workbench, wants_to_go_back

__all__ = [
    "ACTS_IN",
    "ANSWER_KINDS",
    "APPROVE_PHASE",
    "PHASES",
    "ROLES",
    "Command",
    "Feedback",
    "LabAgent",
    "LabState",
    "apply",
    "build",
    "score",
    "wants_to_go_back",
]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the workspace; the submission the kept program writes is what is scored."""
ACTS_IN = ("mlagentbench",)

MAX_STEPS = 100                 # ai_lab_repo.py LaboratoryWorkflow(max_steps=100): turns per dialogue phase
NUM_PAPERS_LIT_REVIEW = 5       # ai_lab_repo.py LaboratoryWorkflow(num_papers_lit_review=5)
MLESOLVER_MAX_STEPS = 3         # ai_lab_repo.py LaboratoryWorkflow(mlesolver_max_steps=3)
PAPERSOLVER_MAX_STEPS = 5       # ai_lab_repo.py LaboratoryWorkflow(papersolver_max_steps=5)
REPAIR_ATTEMPTS = 2             # mlesolver.py GLOBAL_REPAIR_ATTEMPTS = 2
SCORE_ATTEMPTS = 3              # mlesolver.py get_score: the reward model is asked up to 3 times
MAX_CODES = 2                   # mlesolver.py MLESolver.max_codes = 2 (best programs kept)
SOLVER_HISTORY = 2              # mlesolver.py MLESolver.st_hist_len = 2 (recent outcomes shown)
SEARCH_RESULTS = literature.SEARCH_RESULTS  # tools.py ArxivSearch.find_papers_by_str N=20
TEMPERATURE = 1.0               # mlesolver.py solve(): query_model(..., temp=1.0); OpenAI's default elsewhere
MAX_REVISIONS = 2               # ours: rounds of going back (ai_lab_repo.py leaves it to the PhD student)
MAX_PHASE_REDOS = 2             # ours: times a human may send one phase back
DIALOGUE_TURNS = 10             # ours: the last turns of a phase's dialogue a role reads

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {},  # ai_lab_repo.py defaults
    "small": {"max_steps": 4, "num_papers_lit_review": 1, "mlesolver_max_steps": 1, "papersolver_max_steps": 1,
              "search_results": 3, "max_revisions": 0},  # a smoke run for small models and CI
}
DEFAULT_PRESET = "paper"
OPTION_SOURCES: dict[str, str] = {
    "max_steps": "ai_lab_repo.py LaboratoryWorkflow(max_steps=100): steps per phase",
    "num_papers_lit_review": "ai_lab_repo.py LaboratoryWorkflow(num_papers_lit_review=5)",
    "mlesolver_max_steps": "ai_lab_repo.py LaboratoryWorkflow(mlesolver_max_steps=3)",
    "papersolver_max_steps": "ai_lab_repo.py LaboratoryWorkflow(papersolver_max_steps=5)",
    "repair_attempts": "mlesolver.py GLOBAL_REPAIR_ATTEMPTS = 2",
    "score_attempts": "mlesolver.py get_score: 3 attempts",
    "max_codes": "mlesolver.py MLESolver.max_codes = 2",
    "solver_history": "mlesolver.py MLESolver.st_hist_len = 2",
    "search_results": "tools.py ArxivSearch: 20 results per query",
    "temperature": "mlesolver.py solve(): temp=1.0",
    "max_revisions": "ours (bounds the go-back loop)",
    "max_phase_redos": "ours (bounds a human's send-backs per phase)",
    "dialogue_turns": "ours (the last turns of a dialogue shown)",
}
DEVIATIONS: list[str] = [
    ("the literature review searches a local corpus of 68 abstracts (data/abstracts.jsonl, the project's survey "
     "table) with BM25, not arXiv over the network"),
    ("the program the mle-solver starts from is the workspace's baseline train.py (which runs), not one the model "
     "generates first; the data preparation code is shown to the solver, not prepended to every program"),
    ("the report is markdown written by the same REPLACE / EDIT solver and scored by the reward model; LaTeX and "
     "its compilation are not used"),
    ("a phase that uses its step budget without a result stops the lab (the run ends with what the workspace "
     "holds); ai_lab_repo.py raises an exception"),
    "going back is bounded by max_revisions and a human's send-backs by max_phase_redos (both ours)",
    "human feedback goes through an ApprovalPolicy (approve or refuse, plus optional notes), not a terminal prompt",
    "no code reflection over the best programs and no separate README/professor summary step",
]


class LabAgent:
    """The laboratory on one workspace episode (its driver); the phases run as a state graph."""

    def __init__(self, model: Model, driver: StepDriver, *, sampling: dict[str, Any], budgets: Budgets,
                 settings: Settings, human: Human | None, max_redos: int, corpus: literature.Corpus) -> None:
        self.lab = Lab(model, sampling)
        self.driver, self.budgets, self.settings, self.human = driver, budgets, settings, human
        self.max_redos, self.corpus = max_redos, corpus
        self.name = "agent-laboratory"

    async def run(self, task: str, ctx: Context) -> AgentResult:
        env = ctx.child("env")
        first = await self.driver.reset(env)
        problem = str(first.data.get("research_problem") or task)
        bench = Workbench(self.driver, env)
        phases = Phases(self.lab, bench, self.corpus, self.settings)
        graph = machine(phases.bodies(), self.budgets, human=self.human, results=phases.results(),
                        max_revisions=self.settings.max_revisions, max_redos=self.max_redos)
        final = await graph.invoke(LabState(task=task, problem=problem), ctx)
        answer = final.answer if final.answer is not None else (final.stopped or final.report)
        if not self.driver.progress.done:
            await bench.step("Final Answer", final_answer=answer or "")
        return AgentResult(answer, [{"role": "assistant", "content": answer or ""}], sum(final.steps.values()))


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, max_steps: int = MAX_STEPS,
          num_papers_lit_review: int = NUM_PAPERS_LIT_REVIEW, mlesolver_max_steps: int = MLESOLVER_MAX_STEPS,
          papersolver_max_steps: int = PAPERSOLVER_MAX_STEPS, repair_attempts: int = REPAIR_ATTEMPTS,
          score_attempts: int = SCORE_ATTEMPTS, max_codes: int = MAX_CODES, solver_history: int = SOLVER_HISTORY,
          search_results: int = SEARCH_RESULTS, temperature: float | None = TEMPERATURE,
          max_revisions: int = MAX_REVISIONS, max_phase_redos: int = MAX_PHASE_REDOS,
          dialogue_turns: int = DIALOGUE_TURNS, approval: ApprovalPolicy | Feedback | None = None,
          approval_phases: Sequence[str] = PHASES) -> LabAgent:
    """The lab on the harness's episode (an `mlagentbench` workspace); with none, a lab that replays a run from
    its journal. `tools` and `system` are not used (the roles act by fenced commands, with their own prompts).
    `approval`: an `ApprovalPolicy` (or a `Feedback`, a policy with a notes function) asked after each phase of
    `approval_phases`; a refused phase runs again with the notes."""
    for name, value in (("max_steps", max_steps), ("num_papers_lit_review", num_papers_lit_review),
                        ("mlesolver_max_steps", mlesolver_max_steps), ("papersolver_max_steps", papersolver_max_steps),
                        ("score_attempts", score_attempts), ("max_codes", max_codes),
                        ("search_results", search_results), ("dialogue_turns", dialogue_turns)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"agent-laboratory: {name} must be a whole number of at least 1, got {value!r}")
    for name, value in (("repair_attempts", repair_attempts), ("max_revisions", max_revisions),
                        ("max_phase_redos", max_phase_redos), ("solver_history", solver_history)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"agent-laboratory: {name} cannot be negative, got {value!r}")
    unknown = [p for p in approval_phases if p not in PHASES]
    if unknown:
        raise ConfigError(f"agent-laboratory: approval_phases {unknown} are not phases ({', '.join(PHASES)})")
    if approval is not None and not isinstance(approval, (ApprovalPolicy, Feedback)):
        raise ConfigError(f"agent-laboratory: approval is an ApprovalPolicy or a Feedback, got {type(approval).__name__}")
    settings = Settings(num_papers=num_papers_lit_review, search_results=search_results,
                        repair_attempts=repair_attempts, score_attempts=score_attempts, max_codes=max_codes,
                        solver_history=solver_history, max_revisions=max_revisions, dialogue_turns=dialogue_turns)
    budgets = Budgets(dialogue=max_steps, experiments=mlesolver_max_steps, report=papersolver_max_steps)
    feedback = Feedback(approval) if isinstance(approval, ApprovalPolicy) else approval
    hook = Human(feedback.policy, frozenset(approval_phases), feedback.notes) if feedback is not None else None
    return LabAgent(model, _driver(episode), sampling=request_fields(sampling, temperature=temperature),
                    budgets=budgets, settings=settings, human=hook, max_redos=max_phase_redos,
                    corpus=literature.corpus())


def _driver(episode: Any) -> StepDriver:
    if episode is None:
        return StepDriver.replaying(ACTS_IN[0])  # the effects are named after the environment
    try:
        return driver_of(episode)
    except TypeError:
        raise ConfigError(f"agent-laboratory acts in a workspace: it needs an episode of {', '.join(ACTS_IN)}; the "
                          f"episode of task {episode.task.id!r} ({episode.task.env}) is not one") from None
