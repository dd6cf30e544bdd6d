"""The ADAS search: a meta agent grows an archive of agent designs, generation by generation.

Hu, Lu and Clune, "Automated Design of Agentic Systems" (ICLR 2025); ShengranHu/ADAS `_mgsm/search.py`,
`search`. The archive starts with the seven hand-designed agents (`seeds`); those not yet evaluated
are evaluated first. Then each generation:

1. the meta agent proposes {thought, name, code} from the whole archive with its fitness, and reviews
   it twice (`meta.MetaAgent.propose`: three calls);
2. the candidate is evaluated on the validation slice (`evaluate.Evaluator`, e.g. through the eval
   harness, every task a sandboxed run);
3. an error (the code failed on a task, or a mean accuracy under 0.01) goes back to the meta agent
   with the debug instruction, and the repaired code is evaluated again, at most `debug_max` times;
   a candidate that still fails is dropped (the archive records why);
4. a candidate that passes joins the archive with its fitness (the bootstrap median and interval).

The whole search is one run in the journal: the meta agent's calls are model effects and each
evaluation is one `eval` effect whose result is the evaluation (its own runs are in the harness's
results folder). So a replay of the search serves everything from the journal with no model call
and no evaluation, and a search killed half way resumes without repeating a finished call. The
archive file is written after every evaluation and every generation (`on_change`).

Deviation, on purpose: ADAS asks for a third repair after the third failed evaluation and never
evaluates it; here each of the `debug_max` repairs is evaluated (so a candidate gets up to
`debug_max + 1` evaluations and the error goes back at most `debug_max` times).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

from ... import _json
from ...runtime.context import Context
from .archive import Archive, Dropped, Entry
from .evaluate import Candidate, Evaluation, Evaluator, candidate_error
from .meta import MetaAgent, ProposalFailed

N_GENERATIONS = 30   # ADAS _mgsm/search.py --n_generation 30
VALID_SIZE = 128     # ADAS _mgsm/search.py --valid_size 128
DEBUG_MAX = 3        # ADAS _mgsm/search.py --debug_max 3
OUTPUT_EXAMPLE = {
    "thought": "**Insights:** what the archive teaches, and what to try next.\n**Overall idea:** the idea "
               "behind the agent, and why it should work.\n**Implementation:** the steps of the code.",
    "name": "Name of the agent",
    "code": "def forward(self, task):\n    # the agent's code\n    return answer\n",
}


@dataclass(frozen=True)
class Brief:
    """What the meta agent is told about the benchmark (stored with the run, so a replay tells it the same)."""

    env: str
    answer_kind: str
    """What the benchmark's answers are, in words."""
    example_task: str
    example_answer: str


@dataclass(frozen=True)
class Settings:
    generations: int = N_GENERATIONS
    debug_max: int = DEBUG_MAX


Listener = Callable[[str], None]


class AdasSearch:
    """The search program, run as one journaled run (`agentzoo.runtime.runner.run`, `resume`, `replay`).

    `start` is the archive it begins from; `evaluation` the evaluator's `describe()` (what every
    evaluation runs on, part of each evaluation's journaled request); `on_change(archive)` is called
    whenever the archive changes (the command line writes the file); `on_event(text)` hears progress.
    """

    name = "adas-search"

    def __init__(self, meta: MetaAgent, evaluator: Evaluator | None, brief: Brief, start: Archive, *,
                 settings: Settings = Settings(), evaluation: dict[str, Any] | None = None,
                 api_source: str = "", on_change: Callable[[Archive], None] | None = None,
                 on_event: Listener | None = None) -> None:
        self.meta, self.evaluator, self.brief, self.start, self.settings = meta, evaluator, brief, start, settings
        self.evaluation = evaluation if evaluation is not None else (evaluator.describe() if evaluator else {})
        self.api_source = api_source
        self.on_change = on_change or (lambda archive: None)
        self.on_event = on_event or (lambda text: None)
        self.archive = start

    async def run(self, task: str, ctx: Context) -> str:
        archive = replace(self.start, entries=list(self.start.entries), dropped=list(self.start.dropped))
        self.archive = archive
        initial = ctx.child("initial")
        for index, entry in enumerate(archive.entries):
            if entry.fitness is not None:
                continue
            evaluation = await self._evaluate(initial, Candidate(entry.name, entry.code))
            error = candidate_error(evaluation, generated=False)
            archive.entries[index] = replace(entry, fitness=None if error else evaluation.fitness,
                                             evaluation=summary(evaluation, error))
            self.on_event(f"#{index} {entry.name}: " + (f"error: {error.splitlines()[0]}" if error
                                                        else evaluation.fitness.text))
            self.on_change(archive)
        for generation in range(archive.generations_done + 1, self.settings.generations + 1):
            await self._generation(ctx.child("generation", generation), archive, generation)
            archive.generations_done = generation
            self.on_change(archive)
        best = max((e for e in archive.entries if e.fitness is not None), key=lambda e: e.fitness.median, default=None)
        return "no agent was evaluated" if best is None else f"{best.name}: {best.fitness.text}"

    async def _generation(self, ctx: Context, archive: Archive, generation: int) -> None:
        try:
            conversation = await self.meta.propose(ctx, self.prompt(archive), previous_agent(archive))
        except ProposalFailed as exc:
            archive.dropped.append(Dropped(generation, None, str(exc), 0))
            self.on_event(f"generation {generation}: no proposal: {exc}")
            return
        proposal = conversation.proposal
        attempts = repairs = 0  # evaluations made; errors sent back
        while True:
            error = proposal.problem
            if error is None:
                attempts += 1
                evaluation = await self._evaluate(ctx, Candidate(proposal.name, proposal.code))
                error = candidate_error(evaluation, generated=True)
                if error is None:
                    archive.entries.append(Entry(proposal.name, proposal.code, proposal.thought, generation,
                                                 evaluation.fitness, summary(evaluation, None), attempts))
                    self.on_event(f"generation {generation}: #{len(archive.entries) - 1} {proposal.name}: "
                                  f"{evaluation.fitness.text}")
                    return
            if repairs >= self.settings.debug_max:
                archive.dropped.append(Dropped(generation, proposal.name, error, attempts))
                self.on_event(f"generation {generation}: {proposal.name!r} dropped after {repairs} repairs: "
                              f"{error.splitlines()[0]}")
                return
            self.on_event(f"generation {generation}: {proposal.name!r} failed ({error.splitlines()[0]}); "
                          "asking the meta agent to debug it")
            repairs += 1
            try:
                proposal = await self.meta.debug(ctx, conversation, error)
            except ProposalFailed as exc:
                archive.dropped.append(Dropped(generation, proposal.name, str(exc), attempts))
                return

    async def _evaluate(self, ctx: Context, candidate: Candidate) -> Evaluation:
        """One evaluation as one journaled effect: replay and resume serve it and run nothing."""
        evaluator = self.evaluator

        async def perform() -> dict[str, Any]:
            if evaluator is None:
                raise RuntimeError("this search has no evaluator (a replay serves every evaluation from the journal)")
            return (await evaluator(candidate)).to_json()

        request = {"candidate": asdict(candidate), **self.evaluation}
        return Evaluation.from_json(await ctx.effect("eval", "adas-candidate", request, perform))

    def prompt(self, archive: Archive) -> dict[str, Any]:
        """The variables of `meta_propose.j2`: the benchmark, the API, the archive with fitness, the example."""
        view = [{"thought": e.thought, "name": e.name, "code": e.code, "fitness": fitness_text(e)}
                for e in archive.entries]
        return {"env": self.brief.env, "answer_kind": self.brief.answer_kind, "example_task": self.brief.example_task,
                "example_answer": self.brief.example_answer, "api": self.api_source.strip(),
                "archive": "[" + ",\n".join(_json.dumps_str(v) for v in view) + "]",
                "output_example": _json.dumps_str(OUTPUT_EXAMPLE)}


def fitness_text(entry: Entry) -> str:
    if entry.fitness is not None:
        return entry.fitness.text
    return "not measured yet" if entry.evaluation is None else "none: its evaluation failed"


def previous_agent(archive: Archive) -> str | None:
    """The last agent a generation added (shown in the first review), or None before there is one (as ADAS
    shows none in its first generation)."""
    found = [e for e in archive.entries if e.generation is not None]
    if not found:
        return None
    last = found[-1]
    return _json.dumps_str({"thought": last.thought, "name": last.name, "code": last.code,
                            "fitness": fitness_text(last)})


def summary(evaluation: Evaluation, error: str | None) -> dict[str, Any]:
    """What the archive keeps of an evaluation besides its fitness."""
    return {"outcomes": evaluation.outcomes, "accuracy": evaluation.accuracy, "failed_tasks": evaluation.failed_tasks,
            "error": error, "cost": evaluation.cost, "where": evaluation.where}
