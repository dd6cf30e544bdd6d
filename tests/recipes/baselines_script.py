"""A scripted model that plays every role of the baseline recipes (cot, cot-sc, self-refine,
reflexion, llm-debate) on GSM8K, HumanEval and MBPP tasks.

    agentzoo eval --env humaneval,gsm8k --agent self-refine --limit 2 \\
        --model scripted:tests/recipes/baselines_script.py:play

It finds the benchmark task quoted in the request (the task prompt appears verbatim in the
recipes' user messages), looks up its gold answer, and answers as the role its system prompt
names. It makes mistakes on purpose, so that each recipe's protocol has something to do and still
ends with the right answer:
- chain of thought: right, except a sample whose seed is 4 mod 5 (CoT-SC outvotes it);
- self-refine: the first draft is wrong, the feedback says so (REFINE) until the draft is right
  (STOP), the refinement is right;
- reflexion: the first attempt is wrong; an attempt made with lessons in the prompt is right; the
  judge compares with the gold, the reflection names the mistake; the test writer gives HumanEval's
  own asserts;
- debate: in the first round the agent whose seed is 1 mod 3 is wrong; after reading the others,
  everyone is right.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from agentzoo.envs.code import HumanEval, MBPP, extract_code
from agentzoo.envs.gsm8k import GSM8K, extract_answer
from agentzoo.types import ModelRequest


@lru_cache(maxsize=None)
def _tasks(env: type) -> list[Any]:
    return env().tasks()


def task_in(request: ModelRequest) -> Any:
    """The benchmark task whose prompt the request quotes (the first user message that holds one).
    Environments load on first need (MBPP's take the longest), once per load of this file."""
    users = [m.get("content") or "" for m in request.messages if m.get("role") == "user"]
    for env in (GSM8K, HumanEval, MBPP):
        for content in users:
            for task in _tasks(env):
                if task.prompt in content:
                    return task
    raise LookupError("the request quotes no GSM8K, HumanEval or MBPP task")


def right(task: Any) -> str:
    if task.env == "gsm8k":
        return task.data["solution"]  # the gold worked solution, ending with "#### n"
    return f"Here is the function.\n\n```python\n{gold_code(task)}\n```"


def wrong(task: Any) -> str:
    if task.env == "gsm8k":
        return f"I add everything up too quickly.\n#### {int(task.gold) + 1}"
    if task.env == "humaneval":
        return f"Here is the function.\n\n```python\n{task.data['prompt']}    return None\n```"
    return f"Here is the function.\n\n```python\ndef {task.data['function']}(*args):\n    return None\n```"


def gold_code(task: Any) -> str:
    if task.env == "humaneval":
        return (task.data["prompt"] + task.gold).rstrip()
    return task.gold.replace("\r\n", "\n").rstrip()


def is_right(task: Any, answer: str) -> bool:
    if task.env == "gsm8k":
        return extract_answer(answer) == task.gold
    return extract_code(answer).strip() == gold_code(task).strip()


def tests_for(task: Any) -> str:
    if task.env == "humaneval":
        asserts = [line.strip().replace("candidate(", f"{task.data['entry_point']}(")
                   for line in task.data["test"].split("\n") if line.strip().startswith("assert")]
    elif task.env == "mbpp":
        asserts = task.data["tests"]
    else:
        return "This task is not about a function: I have no unit tests for it."
    return "```python\n" + "\n".join(asserts) + "\n```"


def last_user(request: ModelRequest) -> str:
    return next(m.get("content") or "" for m in reversed(request.messages) if m.get("role") == "user")


def play(request: ModelRequest) -> str:
    """Answer `request` as the role its system prompt gives (see the module docstring)."""
    system = (request.messages[0].get("content") or "") if request.messages else ""
    task = task_in(request)
    seed = request.seed
    if "Work through the problem one step at a time" in system:                 # cot, cot-sc paths
        return wrong(task) if seed is not None and seed % 5 == 4 else right(task)
    if "You review a draft answer" in system:                                   # self-refine feedback
        draft = last_user(request).split("The draft answer to review:", 1)[1]
        if is_right(task, draft):
            return "Every step checks out and the answer has the requested form.\nVERDICT: STOP"
        return "The final result is wrong: recompute it step by step.\nVERDICT: REFINE"
    if "You improve an answer using the reviews" in system:                     # self-refine refiner
        return right(task)
    if "You may have tried this task before" in system:                         # reflexion actor
        return right(task) if "Lessons from your earlier failed attempts" in last_user(request) else wrong(task)
    if "Solve the task you are given" in system:                                # self-refine generator
        return wrong(task)
    if "You check whether an answer solves a task" in system:                   # reflexion judge
        attempt = last_user(request).split("The answer to check:", 1)[1]
        return ("It is correct.\nVERDICT: PASS" if is_right(task, attempt)
                else "The result does not follow from the task.\nVERDICT: FAIL")
    if "An attempt at a task was judged a failure" in system:                   # reflexion self-reflection
        return "I rushed the last step and gave a wrong result; next time I will recheck every step."
    if "You write unit tests for a Python function" in system:                  # reflexion test writer
        return tests_for(task)
    if "Answer the task on your own first" in system:                           # debater
        debating = "other agents' answers" in last_user(request)
        return wrong(task) if not debating and seed is not None and seed % 3 == 1 else right(task)
    raise LookupError(f"no baseline role has this system prompt: {system[:80]!r}")

