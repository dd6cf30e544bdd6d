"""numeric-problems: six plain mechanics problems with closed-form answers (a beam's deflection, springs in
series, an ODE's value at t, …), written for this project as the offline stand-in for MechAgents' (PAPERS.md
#23) FEniCS elasticity problems, which need a scientific Python stack this machine's sandbox lacks.

Answer kind `number`. The answer's final number (`replies.final_number`: the last `\\boxed{}`, else the number
after the last answer marker such as `####`, else the last number) is right when it is within
`RELATIVE_TOLERANCE` of the gold, so rounding a computed value does not fail it.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from .. import replies
from ..errors import ConfigError
from .base import AnswerContract, Episode, Score, ScoringContext, Task, final_reply

DATA = Path(__file__).parent / "data" / "numeric_problems" / "problems.json"
RELATIVE_TOLERANCE = Decimal("0.01")  # ours: 1%, the precision the questions' data carry
CONTRACT = AnswerContract(
    kind="number",
    instruction="end your final answer with a line `#### <number>` holding only the number, in the unit asked, "
                "accurate to 1%",
    accepts=(("the last `\\boxed{}` number, else the number after the last answer marker (`####`, `Answer:`), "
              "else the last number; right within 1% of the gold"),))
INSTRUCTION = f"Solve this mechanics problem. Then {CONTRACT.instruction}."


def close_enough(got: str | None, gold: float) -> bool:
    if got is None:
        return False
    try:
        value = Decimal(replies.canonical_number(got))
    except (InvalidOperation, ArithmeticError):
        return False
    target = Decimal(str(gold))
    return abs(value - target) <= RELATIVE_TOLERANCE * abs(target)


class NumericProblems:
    name = "numeric-problems"
    answer_kind = "number"

    def __init__(self, tasks_file: str | Path | None = None) -> None:
        self.path = Path(tasks_file) if tasks_file else DATA
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            try:
                problems = json.loads(self.path.read_text(encoding="utf-8"))["problems"]
                self._tasks = [Task(self.name, f"numeric-problems/{p['id']}", f"{INSTRUCTION}\n\n{p['question']}",
                                    float(p["answer"]), {"solution": p["solution"]}) for p in problems]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"numeric-problems tasks {self.path}: expected JSON with 'problems', each with "
                                  f"id, question, solution and a numeric answer ({exc})") from None
        return self._tasks

    def episode(self, task: Task) -> Episode:
        return Episode(task)

    def answer_contract(self, task: Task) -> AnswerContract:
        return CONTRACT

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        got, rule = replies.final_number(answer)
        ok = close_enough(got, episode.task.gold)
        return Score(1.0 if ok else 0.0, ok, {"expected": episode.task.gold, "got": got, "rule": rule,
                                              "answered": answer is not None})

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The worked solution, ending `#### <gold>`, as the final reply."""
        return [final_reply(agent, f"{task.data['solution']}\n#### {task.gold:g}")]
