"""GSM8K: grade-school math word problems, scored by the benchmark's own final-number rule.

Rule (openai/grade-school-math `grade_school_math/dataset.py`, `extract_answer` / `is_correct`):
the answer is the number after `#### ` (digits, `.`, `,` and a leading `-`), commas removed,
compared as a string with the gold number extracted the same way; no `#### n` means wrong.
So the prompt asks the agent to end its answer with `#### <number>` (`CONTRACT`).

Scores, side by side in `Score.details`; `success` and `reward` are the strict one:
- `strict`: upstream's rule on the answer put into the contract. An agent with its own final-answer
  syntax takes its marker off and hands over what followed (CodeAct `Answer: 18` and
  `final_answer(18)`, ReAct `Final Answer: 18` all hand over `18`): an answer that is one number
  and nothing else (a `$` and a final period aside; or such a number still in one of those
  syntaxes, as an agent that keeps its marker hands it over) is that number, written as GSM8K
  writes its answers (`#### 18`; `18.0` → `#### 18`). Any other answer is read exactly as upstream
  reads it: `\\boxed{18}` or `The answer is 18.` is not strict.
- `flexible`: the answer's final number by `replies.final_number` — the last `\\boxed{}` holding a
  number, else the number after the last answer marker (`####`, `Answer:`, `Final Answer:`, `The
  answer is`), else the last number in the answer — equal to the gold as a number (`18.00` = `18`);
  every strict success counts too (upstream reads `#### 1,8` as 18, a number reader does not).
  The last rule is the "flexible-extract" filter of EleutherAI's lm-evaluation-harness gsm8k task
  (v3: the last match of its number pattern); `\\boxed{}` first is for models trained to box their
  answers, which that filter reads only when the box holds the last number. Where ours differs
  from that filter: a comma counts only between groups of three digits (`1,2,3` is three numbers,
  not 123), and numbers are compared by value, where lm-eval compares text with `,`, `$` and a
  final `.` removed (`18.00` ≠ `18` there).
- `unparsable`: an answer was given and holds no number at all (no run answer: `answered` False).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .. import _json, replies
from ..errors import ConfigError
from .base import AnswerContract, Episode, Score, ScoringContext, Task, final_reply

DATA = Path(__file__).parent / "data" / "gsm8k" / "test.jsonl"
ANSWER = re.compile(r"#### (\-?[0-9\.\,]+)")  # as upstream's ANS_RE
CONTRACT = AnswerContract(
    kind="number",
    instruction="end your final answer with a line `#### <number>` holding only the final number",
    accepts=("the first `#### n` in the answer (upstream's rule)",
             "an answer that is one number and nothing else, e.g. the `18` of CodeAct's `Answer: 18`, "
             "`final_answer(18)` or ReAct's `Final Answer: 18` (strict: read as `#### 18`)",
             "flexible only: the last `\\boxed{}` number, else the number after the last answer marker, "
             "else the last number"))
INSTRUCTION = f"Solve this grade-school math problem. Think step by step, then {CONTRACT.instruction}."


def extract_answer(text: str | None) -> str | None:
    """The `#### n` number of `text`, commas removed; None when there is none (upstream: INVALID)."""
    found = ANSWER.search(text or "")
    return found.group(1).strip().replace(",", "") if found else None


# An agent's final-answer syntax left on the answer: `Answer: n`, `Final Answer: n`, `final_answer(n)`.
_AGENT_SYNTAX = re.compile(r"\s*(?:(?:final\s+)?answer\s*:(?P<after>.*)"
                           r"|final_answer\(\s*(?P<q>['\"]?)(?P<arg>.*?)(?P=q)\s*\))\s*", re.I | re.S)


def lone_number(answer: str | None) -> str | None:
    """The number `answer` is, when it is one number and nothing else, bare or in an agent's own
    final-answer syntax (`Answer: 18`, `Final Answer: 18`, `final_answer(18)`); else None."""
    syntax = _AGENT_SYNTAX.fullmatch(answer or "")
    return replies.lone_number(syntax.group("after") or syntax.group("arg") if syntax else answer)


def in_contract(answer: str | None) -> str | None:
    """The answer in GSM8K's format: `#### n` when it is one number and nothing else (`lone_number`),
    else as it is."""
    lone = lone_number(answer)
    return answer if lone is None else f"#### {lone}"


def grade(answer: str | None, gold: str) -> dict[str, Any]:
    """The strict and flexible verdicts on `answer` (see the module), with what each read."""
    strict_got = extract_answer(in_contract(answer))
    strict = strict_got is not None and strict_got == gold
    flexible_got, found_by = replies.final_number(answer)
    return {"expected": gold, "got": strict_got, "strict": strict, "lone_number": lone_number(answer) is not None,
            "flexible": strict or (flexible_got is not None and _same_number(flexible_got, gold)),
            "flexible_got": flexible_got, "flexible_rule": found_by,
            "unparsable": answer is not None and flexible_got is None, "answered": answer is not None}


def _same_number(got: str, gold: str) -> bool:
    try:
        return replies.canonical_number(got) == replies.canonical_number(gold)
    except ArithmeticError:  # decimal's InvalidOperation: a gold that is no number compares as text
        return got == gold


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

    def answer_contract(self, task: Task) -> AnswerContract:
        return CONTRACT

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        """Strict (upstream's rule on the answer put into the contract) decides; flexible and
        unparsable are reported beside it (see the module)."""
        details = grade(answer, episode.task.gold)
        return Score(1.0 if details["strict"] else 0.0, details["strict"], details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The gold worked solution, which ends with `#### n`, as the final reply (`react`: ReAct's)."""
        return [final_reply(agent, task.data["solution"])]
