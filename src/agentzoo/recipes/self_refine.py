"""Self-Refine (`self-refine`): generate, then alternate feedback and refinement by the same model.

Madaan et al. 2023, "Self-Refine: Iterative Refinement with Self-Feedback" (NeurIPS 2023,
arXiv:2303.17651), Algorithm 1: one model plays three roles. It writes an initial output y0; then,
repeatedly, it gives feedback fb_t on its latest output y_t, and unless the stop condition holds,
writes y_{t+1} from the task and the whole history (y0, fb0, …, y_t, fb_t); the loop ends "either
for a specified number of iterations or until M determines that no further refinement is
necessary" (§2). The last output is the answer.

Constants (the defaults of `build`), from the released code (madaan/self-refine, `src/gsm/run.py`,
GSM8K, the benchmark of ours the paper also ran):
- `max_iterations=4`: at most 4 feedback steps, each followed by a refinement unless it says stop
  (`--max_attempts` default 4; the code-optimisation task `src/pie/run.py` defaults to 3);
- stop when the feedback says so: the GSM code stops on the phrase "it is correct" in the feedback;
  our feedback prompt ends with `VERDICT: STOP` or `VERDICT: REFINE`, read by `says_stop` (pass
  `stop=` to change the rule);
- temperatures: initial generation 0.0 (`--temperature` default), feedback 0.7 (hard-coded for the
  GSM feedback), refinement 0.7 (in the GSM code the feedback call also writes the fixed solution,
  so it is sampled at the feedback's 0.7).

Where paper and code differ, we follow the paper: the GSM code asks for feedback and the fixed
solution in one call and refines from the latest solution only; the paper (and the code of its other
tasks, e.g. `src/pie/run.py`) makes FEEDBACK and REFINE separate steps, and the paper's REFINE sees
the whole history (so does `src/acronym/`'s; pie's sees only the latest feedback). Here: three
roles in three scopes (`generator`, `feedback`, `refiner`), one model call each per step. The
paper's GSM8K runs write Python programs (`def solution():`, PAL-style) and few-shot prompts per
task; ours reason in text, zero-shot, and answer in the form the task asks for.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..agents.tool_calling import AgentResult
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest
from .cot import request_fields, text_only

PROMPTS = Path(__file__).parent / "prompts" / "self_refine"
ANSWER_KINDS = ("number", "text", "code")  # the last draft is the answer
MAX_ITERATIONS = 4            # src/gsm/run.py --max_attempts
GENERATE_TEMPERATURE = 0.0    # src/gsm/run.py --temperature (initial generation)
FEEDBACK_TEMPERATURE = 0.7    # src/gsm/run.py: GSMFeedback(temperature=0.7)
REFINE_TEMPERATURE = 0.7      # the GSM feedback call also writes the refined solution

OPTION_SOURCES: dict[str, str] = {
    "max_iterations": "code: src/gsm/run.py --max_attempts 4 (src/pie/run.py: 3)",
    "stop": "paper §2: stop when the feedback says no further refinement is needed (GSM code: 'it is correct')",
    "generate_temperature": "code: src/gsm/run.py --temperature 0.0",
    "feedback_temperature": "code: src/gsm/run.py GSMFeedback(temperature=0.7)",
    "refine_temperature": "code: the GSM feedback call also writes the refined solution, at 0.7",
}
DEVIATIONS: list[str] = [
    "FEEDBACK and REFINE are separate calls and REFINE sees the whole history (y0, fb0, …), as in the paper and the "
    "code of its other tasks; the GSM code asks for feedback and the fixed solution in one call, from the latest "
    "solution only",
    "answers are reasoned in text, zero-shot; the paper's GSM8K runs write PAL-style Python programs from few-shot "
    "prompts",
    "the stop rule reads the feedback's `VERDICT: STOP` line (our prompt asks for it) instead of the GSM code's phrase "
    "'it is correct'",
]

_VERDICT = re.compile(r"verdict\s*:\s*\**\s*(stop|refine)", re.I)


def says_stop(feedback: str) -> bool:
    """The feedback's last `VERDICT:` line says STOP (no verdict: keep refining)."""
    verdicts = _VERDICT.findall(feedback or "")
    return bool(verdicts) and verdicts[-1].lower() == "stop"


class SelfRefine:
    """Generate → (feedback → refine)* until the feedback says stop or `max_iterations` feedbacks."""

    name = "self-refine"

    def __init__(self, model: Model, *, system: str | None = None, sampling: dict[str, Any] | None = None,
                 max_iterations: int = MAX_ITERATIONS, stop: Callable[[str], bool] = says_stop,
                 generate_temperature: float | None = GENERATE_TEMPERATURE,
                 feedback_temperature: float | None = FEEDBACK_TEMPERATURE,
                 refine_temperature: float | None = REFINE_TEMPERATURE) -> None:
        if max_iterations < 0:
            raise ValueError(f"max_iterations must be 0 or more, not {max_iterations}")
        self.model, self.max_iterations, self.stop = model, max_iterations, stop
        self.prompts = {role: render(PROMPTS / f"{role}.j2", system=system)
                        for role in ("generate", "feedback", "refine")}
        self.fields = {"generate": request_fields(sampling, temperature=generate_temperature),
                       "feedback": request_fields(sampling, temperature=feedback_temperature),
                       "refine": request_fields(sampling, temperature=refine_temperature)}

    async def run(self, task: str, ctx: Context) -> AgentResult:
        scopes = {"generate": ctx.child("generator"), "feedback": ctx.child("feedback"), "refine": ctx.child("refiner")}
        messages, draft = await self._call("generate", task, scopes)
        history: list[tuple[str, str]] = []
        steps = 1
        for _ in range(self.max_iterations):
            _, feedback = await self._call("feedback", render(PROMPTS / "feedback_user.j2", task=task, draft=draft),
                                           scopes)
            history.append((draft, feedback))
            steps += 1
            if self.stop(feedback):
                break
            messages, draft = await self._call("refine", render(PROMPTS / "refine_user.j2", task=task,
                                                                history=history), scopes)
            steps += 1
        return AgentResult(draft, messages, steps)

    async def _call(self, role: str, user: str, scopes: dict[str, Context]) -> tuple[list[dict[str, Any]], str]:
        """One model call of `role`; the conversation (request and reply) and the reply's text."""
        ctx = scopes[role]
        messages = [{"role": "system", "content": self.prompts[role]}, {"role": "user", "content": user}]
        ctx.step()
        response = await ctx.model(self.model, ModelRequest(messages=list(messages), **self.fields[role]))
        return [*messages, response.message], response.text


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, max_iterations: int = MAX_ITERATIONS,
          stop: Callable[[str], bool] = says_stop, generate_temperature: float | None = GENERATE_TEMPERATURE,
          feedback_temperature: float | None = FEEDBACK_TEMPERATURE,
          refine_temperature: float | None = REFINE_TEMPERATURE) -> SelfRefine:
    """Self-Refine with the released code's constants (4 iterations, stop on the feedback's verdict)."""
    text_only("self-refine", tools)
    return SelfRefine(model, system=system, sampling=sampling, max_iterations=max_iterations, stop=stop,
                      generate_temperature=generate_temperature, feedback_temperature=feedback_temperature,
                      refine_temperature=refine_temperature)
