"""What each phase does: the dialogues, the solvers, the reviews (the machine is `phases.py`).

Scopes: a role's calls in step k of a phase go in `<phase>#v/<role>#k`; workspace steps (writing and running
programs in the sandbox) in the lab's `env` scope, in program order. Phase results (`PLAN`, `SUBMIT_CODE`,
`INTERPRETATION`) are read from fenced blocks (`commands.py`); what a role said without one goes into the
dialogue the other role reads next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ...envs.mlagentbench.actions import action_text
from ...envs.mlagentbench.workspace import OBSERVATIONS
from ...envs.stepping import StepDriver
from ...errors import ConfigError, FormatError
from ...prompts import render
from ...runtime.context import Context
from . import commands, literature
from .mle_solver import Solver
from .phases import (
    DATA_PREPARATION,
    LITERATURE_REVIEW,
    PLAN_FORMULATION,
    REDONE_ON_GO_BACK,
    REPORT_REFINEMENT,
    REPORT_WRITING,
    RESULTS_INTERPRETATION,
    RUNNING_EXPERIMENTS,
    LabState,
)
from .roles import (
    ML_ENGINEER,
    PHD,
    POSTDOC,
    PROFESSOR,
    PROMPTS,
    REVIEWER,
    REVIEWER_KINDS,
    SW_ENGINEER,
    Lab,
)

PROGRAM = "train.py"
"""The program the experiments improve: the workspace's baseline, where its submission comes from."""
CANDIDATE = "lab_candidate.py"
"""Where a new version is run before it is taken (so a failing one never overwrites the program)."""
DATA_PREP = "lab_data_preparation.py"


@dataclass(frozen=True)
class Settings:
    num_papers: int
    search_results: int
    repair_attempts: int
    score_attempts: int
    max_codes: int
    solver_history: int
    max_revisions: int
    dialogue_turns: int
    """How many of the last dialogue turns a role reads."""


class Workbench:
    """The workspace as the lab uses it: programs written and run as workspace steps in scope `env`."""

    def __init__(self, driver: StepDriver, env: Context) -> None:
        self.driver, self.env = driver, env

    async def step(self, name: str, **action_input: Any) -> Any:
        return await self.driver.step(action_text(name, action_input), self.env)

    async def read(self, path: str) -> str:
        outcome = await self.step("Read File", file_name=path)
        if "error" in outcome.info:
            raise ConfigError(f"agent-laboratory: the workspace has no {path} to start from: "
                              f"{outcome.observation.text[:200]}")
        return outcome.observation.text

    async def run(self, path: str, text: str) -> tuple[bool, str]:
        """Write `text` to `path` and run it in the sandbox: (it ran to exit status 0, what it printed)."""
        await self.step("Write File", file_name=path, content=text)
        outcome = await self.step("Execute Script", script_name=path)
        # The workspace's own words for a clean run (its template, so a reworded observation still reads).
        clean = render(OBSERVATIONS, kind="executed", file=path, output="", timed_out=False, seconds="",
                       returncode=0, skipped=[]).splitlines()[0]
        text_out = outcome.observation.text
        ok = "error" not in outcome.info and text_out.startswith(clean)
        return ok, text_out


class Phases:
    """The seven phase bodies over one lab: `Lab` (the roles' model), the workbench, the corpus, settings."""

    def __init__(self, lab: Lab, bench: Workbench, corpus: literature.Corpus, settings: Settings) -> None:
        self.lab, self.bench, self.corpus, self.s = lab, bench, corpus, settings

    def bodies(self) -> dict[str, Any]:
        return {LITERATURE_REVIEW: self.literature_review, PLAN_FORMULATION: self.plan_formulation,
                DATA_PREPARATION: self.data_preparation, RUNNING_EXPERIMENTS: self.running_experiments,
                RESULTS_INTERPRETATION: self.results_interpretation, REPORT_WRITING: self.report_writing,
                REPORT_REFINEMENT: self.report_refinement}

    @staticmethod
    def results() -> dict[str, Any]:
        """What a human is shown of each phase's update."""
        return {LITERATURE_REVIEW: lambda u: "\n".join(f"{k}: {v}" for k, v in (u.get("papers") or {}).items()),
                PLAN_FORMULATION: lambda u: u.get("plan", ""), DATA_PREPARATION: lambda u: u.get("dataset_code", ""),
                RUNNING_EXPERIMENTS: lambda u: u.get("results_code", ""),
                RESULTS_INTERPRETATION: lambda u: u.get("interpretation", ""),
                REPORT_WRITING: lambda u: u.get("report", ""), REPORT_REFINEMENT: lambda u: "\n\n".join(u.get("reviews", []))}

    def _common(self, state: LabState, phase: str) -> dict[str, Any]:
        return {"problem": state.problem, "plan": state.plan, "papers": state.papers,
                "notes": state.feedback.get(phase, ""), "previous": state.previous}

    def _stopped(self, phase: str, budget: int) -> str:
        return render(PROMPTS / "stopped.j2", phase=phase, budget=budget)

    # --- literature review (the PhD student alone) ---

    async def literature_review(self, state: LabState, ctx: Context, budget: int) -> tuple[dict[str, Any], int]:
        added = dict(state.papers)
        last = ""
        for k in range(budget):
            reply = await self.lab.ask(ctx.child(PHD, k), PHD, "literature_review", need=self.s.num_papers,
                                       added=added, last=last, step=k, budget=budget,
                                       **self._common(state, LITERATURE_REVIEW))
            command = commands.first(reply, literature.LIT_COMMANDS)
            try:
                if command is None:
                    raise FormatError("no ```SUMMARY, ```FULL_TEXT or ```ADD_PAPER block in the reply")
                outcome = literature.perform(command, self.corpus, added, self.s.search_results)
            except FormatError as exc:
                last = render(PROMPTS / "no_command.j2", problem=exc.message_for_model)
                continue
            last = outcome.text
            if outcome.added:
                added[outcome.added[0]] = outcome.added[1]
            if len(added) >= self.s.num_papers:
                return {"papers": added}, k + 1
        return {"papers": added, "stopped": self._stopped(LITERATURE_REVIEW, budget)}, budget

    # --- two-role dialogues ---

    async def _dialogue(self, state: LabState, ctx: Context, budget: int, phase: str, lead: str, other: str,
                        word: str, template: str, **extra: Any) -> tuple[str | None, int]:
        """`lead` and `other` take turns (lead first) until `lead` answers with a `word` block: its body."""
        dialogue: list[tuple[str, str]] = []
        for k in range(budget):
            variables = {**self._common(state, phase), **extra, "dialogue": dialogue[-self.s.dialogue_turns:],
                         "step": k, "budget": budget}
            reply = await self.lab.ask(ctx.child(lead, k), lead, template, speaker=lead, **variables)
            block = commands.first(reply, (word,))
            if block is not None and block.body.strip():
                return block.body.strip(), k + 1
            dialogue.append((lead, reply.strip()))
            variables["dialogue"] = dialogue[-self.s.dialogue_turns:]
            answer = await self.lab.ask(ctx.child(other, k), other, template, speaker=other, **variables)
            dialogue.append((other, answer.strip()))
        return None, budget

    async def plan_formulation(self, state: LabState, ctx: Context, budget: int) -> tuple[dict[str, Any], int]:
        plan, used = await self._dialogue(state, ctx, budget, PLAN_FORMULATION, POSTDOC, PHD, "PLAN",
                                          "plan_formulation")
        if plan is None:
            return {"stopped": self._stopped(PLAN_FORMULATION, budget)}, used
        return {"plan": plan}, used

    async def results_interpretation(self, state: LabState, ctx: Context,
                                     budget: int) -> tuple[dict[str, Any], int]:
        text, used = await self._dialogue(state, ctx, budget, RESULTS_INTERPRETATION, POSTDOC, PHD,
                                          "INTERPRETATION", "results_interpretation",
                                          code=state.results_code, output=state.results_output,
                                          score=state.score if state.score is not None else 0.0)
        if text is None:
            return {"stopped": self._stopped(RESULTS_INTERPRETATION, budget)}, used
        return {"interpretation": text}, used

    # --- data preparation (ML engineer writes and tries code, SW engineer submits it) ---

    async def data_preparation(self, state: LabState, ctx: Context, budget: int) -> tuple[dict[str, Any], int]:
        dialogue: list[tuple[str, str]] = []
        for k in range(budget):
            common = {**self._common(state, DATA_PREPARATION), "step": k, "budget": budget}
            reply = await self.lab.ask(ctx.child(ML_ENGINEER, k), ML_ENGINEER, "data_preparation",
                                       speaker=ML_ENGINEER, dialogue=dialogue[-self.s.dialogue_turns:], **common)
            dialogue.append((ML_ENGINEER, reply.strip()))
            trial = commands.first(reply, ("PYTHON",))
            if trial is not None:
                ok, output = await self.bench.run(DATA_PREP, trial.body)
                dialogue.append(("sandbox", render(PROMPTS / "ran.j2", ok=ok, output=output[-1500:])))
            answer = await self.lab.ask(ctx.child(SW_ENGINEER, k), SW_ENGINEER, "data_preparation",
                                        speaker=SW_ENGINEER, dialogue=dialogue[-self.s.dialogue_turns:], **common)
            dialogue.append((SW_ENGINEER, answer.strip()))
            submit = commands.first(answer, ("SUBMIT_CODE",))
            if submit is not None:
                ok, output = await self.bench.run(DATA_PREP, submit.body)
                if ok:  # ai_lab_repo.py: submitted code that raises is refused and the error shown
                    return {"dataset_code": submit.body}, k + 1
                dialogue.append(("sandbox", render(PROMPTS / "ran.j2", ok=ok, output=output[-1500:])))
        return {"stopped": self._stopped(DATA_PREPARATION, budget)}, budget

    # --- running experiments (the mle-solver) ---

    async def running_experiments(self, state: LabState, ctx: Context, budget: int) -> tuple[dict[str, Any], int]:
        baseline = await self.bench.read(PROGRAM)
        solver = self._solver(ML_ENGINEER, "mle_command", lambda lines: self.bench.run(CANDIDATE, "\n".join(lines)),
                              "program", budget, self.s.repair_attempts,
                              {"plan": state.plan, "dataset_code": state.dataset_code, "problem": state.problem})
        run = await solver.solve(ctx, baseline.split("\n"))
        best = run.best[0]
        # The best program becomes the workspace's and runs once more: its submission is what is scored.
        _, output = await self.bench.run(PROGRAM, "\n".join(best.lines))
        return {"results_code": "\n".join(best.lines), "results_output": output, "score": best.score}, run.steps

    # --- report writing (the paper-solver, markdown; compiling is off) ---

    async def report_writing(self, state: LabState, ctx: Context, budget: int) -> tuple[dict[str, Any], int]:
        draft = render(PROMPTS / "report_draft.j2", problem=state.problem, plan=state.plan, papers=state.papers,
                       code=state.results_code, output=state.results_output[-1500:],
                       interpretation=state.interpretation, score=state.score or 0.0)

        async def accept(lines: list[str]) -> tuple[bool, str]:
            return True, f"{len(lines)} lines"

        solver = self._solver(PROFESSOR, "report_command", accept, "report", budget, 0,
                              {"plan": state.plan, "dataset_code": state.dataset_code, "problem": state.problem})
        run = await solver.solve(ctx, draft.split("\n"))
        return {"report": "\n".join(run.best[0].lines)}, run.steps

    def _solver(self, role: str, template: str, check: Any, what: str, steps: int, repairs: int,
                context: dict[str, Any]) -> Solver:
        return Solver(self.lab, role, template, check, what, steps, repairs, self.s.score_attempts,
                      self.s.max_codes, self.s.solver_history, context)

    # --- report refinement (three reviewers, then the PhD student decides) ---

    async def report_refinement(self, state: LabState, ctx: Context, budget: int) -> tuple[dict[str, Any], int]:
        reviews = [await self.lab.ask(ctx.child(REVIEWER, i), REVIEWER, "review", reviewer_kind=kind,
                                      report=state.report, plan=state.plan)
                   for i, kind in enumerate(REVIEWER_KINDS)]
        reply = await self.lab.ask(ctx.child(PHD, 0), PHD, "decision", reviews=reviews, report=state.report,
                                   rounds_left=self.s.max_revisions - state.revisions)
        go_back = wants_to_go_back(reply) and state.revisions < self.s.max_revisions
        update: dict[str, Any] = {"reviews": reviews, "go_back": go_back}
        if go_back:
            update.update(phase_status={**state.phase_status, **{p: False for p in REDONE_ON_GO_BACK}},
                          revisions=state.revisions + 1,
                          previous={"plan": state.plan, "report": state.report, "reviews": "\n\n".join(reviews),
                                    "results_code": state.results_code})
        else:
            update["answer"] = state.report
        return update, 1


def wants_to_go_back(reply: str) -> bool:
    """ai_lab_repo.py asks for `y` (go back) or `n` (finish); a `DECISION` block, or the reply's first word."""
    block = commands.first(reply, ("DECISION",))
    text = (block.body if block is not None else reply).strip().lower()
    word = re.match(r"[a-z]*", text).group(0)  # "y" or "yes", not any word that starts with a y ("you ...")
    return word in ("y", "yes") or text.startswith("go back")
