"""The phase machine: Agent Laboratory's seven phases as nodes of a `teams.state_graph.StateGraph`.

ai_lab_repo.py `LaboratoryWorkflow.phases`: literature review → plan formulation → (experimentation) data
preparation → running experiments → (results interpretation) results interpretation → report writing →
report refinement. `phase_status` marks a phase done; after report refinement the PhD student reads the three
reviews and either finishes or goes back, which resets every phase from plan formulation on to not done and
runs them again (the literature review is kept). Each phase has a step budget (`Budgets`): the dialogue phases
take `max_steps` turns, the experiments `mlesolver_max_steps` solver steps, the report `papersolver_max_steps`;
a phase that uses its budget without its result stops the lab (its state says which), and the run finishes
with what the workspace holds.

On the state graph, each phase is a node in its own scope (`plan-formulation#1` on the second round), the state
is checkpointed after every phase, and a run replays, resumes after a crash and forks per phase for free.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Annotated, Any

from pydantic import BaseModel, Field

from ...runtime.context import Context
from ...teams.state_graph import END, StateGraph, append, merge_dict
from .human import Human

LITERATURE_REVIEW = "literature-review"
PLAN_FORMULATION = "plan-formulation"
DATA_PREPARATION = "data-preparation"
RUNNING_EXPERIMENTS = "running-experiments"
RESULTS_INTERPRETATION = "results-interpretation"
REPORT_WRITING = "report-writing"
REPORT_REFINEMENT = "report-refinement"
PHASES = (LITERATURE_REVIEW, PLAN_FORMULATION, DATA_PREPARATION, RUNNING_EXPERIMENTS, RESULTS_INTERPRETATION,
          REPORT_WRITING, REPORT_REFINEMENT)
"""ai_lab_repo.py's phase order (its names with hyphens: they are journal scopes)."""
REDONE_ON_GO_BACK = PHASES[1:]
"""ai_lab_repo.py report refinement: going back sets phase_status of plan formulation and every later phase to
False; the literature review stays done."""


@dataclass(frozen=True)
class Budgets:
    """Steps each phase may take (see the module doc)."""

    dialogue: int
    experiments: int
    report: int

    def of(self, phase: str) -> int:
        if phase == RUNNING_EXPERIMENTS:
            return self.experiments
        if phase == REPORT_WRITING:
            return self.report
        return self.dialogue


class LabState(BaseModel):
    """The lab's shared state, checkpointed after every phase."""

    task: str = ""
    answer: str | None = None
    problem: str = ""
    phase_status: dict[str, bool] = Field(default_factory=lambda: {p: False for p in PHASES})
    papers: dict[str, str] = Field(default_factory=dict)
    """The literature review: paper id -> the PhD student's summary."""
    plan: str = ""
    dataset_code: str = ""
    results_code: str = ""
    results_output: str = ""
    score: float | None = None
    """The reward model's score of the kept program."""
    interpretation: str = ""
    report: str = ""
    reviews: list[str] = Field(default_factory=list)
    go_back: bool = False
    revisions: int = 0
    previous: dict[str, str] = Field(default_factory=dict)
    """The last round's plan, report and reviews, shown to the next round (ai_lab_repo.py prev_* attributes)."""
    steps: Annotated[dict[str, int], merge_dict] = Field(default_factory=dict)
    """Steps each phase took on its last run."""
    feedback: Annotated[dict[str, str], merge_dict] = Field(default_factory=dict)
    """A human's notes per phase, from a refused approval."""
    stopped: str | None = None
    trail: Annotated[list[str], append] = Field(default_factory=list)
    """Every phase as it ran (a redo or a second round appears again)."""


Body = Callable[[LabState, Context, int], Awaitable[tuple[dict[str, Any], int]]]
"""A phase's work: (state, scope, its step budget) -> (the state update, steps taken)."""


def phase_node(phase: str, body: Body, budget: int, human: Human | None,
               result: Callable[[dict[str, Any]], str], max_redos: int) -> Callable[..., Awaitable[dict[str, Any]]]:
    """The node of one phase: its body, then (with a human) the approval; a refusal runs it again (in scope
    `redo#r`) with the notes, up to `max_redos` times."""

    async def node(state: LabState, ctx: Context) -> dict[str, Any]:
        current, feedback = state, {}
        for redo in range(max_redos + 1):
            update, used = await body(current, ctx if redo == 0 else ctx.child("redo", redo), budget)
            if human is None or update.get("stopped") or redo == max_redos:
                break
            approved, notes = await human.review(ctx, phase, result(update))
            if approved:
                break
            feedback = {phase: notes}
            current = current.model_copy(update={"feedback": {**current.feedback, **feedback}})
        # The body's own statuses win: report refinement going back marks itself and the others not done.
        status = {**state.phase_status, phase: not update.get("stopped"), **update.get("phase_status", {})}
        return {**update, "phase_status": status, "steps": {phase: used}, "feedback": feedback, "trail": [phase]}

    return node


def machine(bodies: dict[str, Body], budgets: Budgets, *, human: Human | None,
            results: dict[str, Callable[[dict[str, Any]], str]], max_revisions: int,
            max_redos: int) -> StateGraph[LabState]:
    """The graph: the phases in order, each stopping the lab when it stopped, the last going back to plan
    formulation or ending. Its step limit allows every phase, its redos, and every round."""
    per_round = len(REDONE_ON_GO_BACK)
    graph = StateGraph(LabState, name="agent-laboratory", max_steps=1 + per_round * (max_revisions + 1))
    for phase in PHASES:
        graph.add_node(phase, phase_node(phase, bodies[phase], budgets.of(phase), human, results[phase], max_redos))
    for phase, nxt in pairwise(PHASES):
        graph.add_router(phase, _unless_stopped(nxt), [nxt, END])
    graph.add_router(REPORT_REFINEMENT, _after_review, [PLAN_FORMULATION, END])
    return graph


def _unless_stopped(nxt: str) -> Callable[[LabState], str]:
    return lambda state: END if state.stopped else nxt


def _after_review(state: LabState) -> str:
    return PLAN_FORMULATION if state.go_back and not state.stopped else END
