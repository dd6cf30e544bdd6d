"""GSM8K: grade-school math word problems, scored by the benchmark's own final-number rule.

Rule (openai/grade-school-math `grade_school_math/dataset.py`, `extract_answer` / `is_correct`):
the answer is the number after `#### ` (digits, `.`, `,` and a leading `-`), commas removed,
compared as a string with the gold number extracted the same way; no `#### n` means wrong.
So the prompt asks the agent to end its answer with `#### <number>`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import _json
from ..errors import ConfigError
from .base import Episode, Score, ScoringContext, Task

DATA = Path(__file__).parent / "data" / "gsm8k" / "test.jsonl"
ANSWER = re.compile(r"#### (\-?[0-9\.\,]+)")  # as upstream's ANS_RE
INSTRUCTION = ("Solve this grade-school math problem. Think step by step, then end your final answer with a "
               "line `#### <number>` holding only the final number.")


def extract_answer(text: str | None) -> str | None:
    """The `#### n` number of `text`, commas removed; None when there is none (upstream: INVALID)."""
    found = ANSWER.search(text or "")
    return found.group(1).strip().replace(",", "") if found else None


class GSM8K:
    name = "gsm8k"
    answer_kind = "number"

    def __init__(self, tasks_file: str | Path | None = None) -> None:
        self.path = Path(tasks_file) if tasks_file else DATA
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            self._tasks = [self._task(i, line) for i, line in enumerate(self._lines())]
        return self._tasks

    def _lines(self) -> list[str]:
        try:
            return [line for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]
        except OSError as exc:
            raise ConfigError(f"gsm8k tasks {self.path}: {exc}") from None

    def _task(self, index: int, line: str) -> Task:
        try:
            row = _json.loads(line)
            question, solution = row["question"], row["answer"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"gsm8k tasks {self.path} line {index + 1}: expected JSON with question and "
                              f"answer ({exc})") from None
        gold = extract_answer(solution)
        if gold is None:
            raise ConfigError(f"gsm8k tasks {self.path} line {index + 1}: the answer has no '#### <number>'")
        return Task(self.name, f"gsm8k/{index}", f"{INSTRUCTION}\n\n{question}", gold, {"solution": solution})

    def episode(self, task: Task) -> Episode:
        return Episode(task)

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        got = extract_answer(answer)
        success = got is not None and got == episode.task.gold
        return Score(1.0 if success else 0.0, success, {"expected": episode.task.gold, "got": got})

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The gold worked solution, which ends with `#### n`, as the final reply."""
        solution = task.data["solution"]
        return [f"Answer: {solution}" if agent == "codeact" else solution]
