"""A scripted model that plays every AgentCoder role on HumanEval, MBPP and GSM8K:

    agentzoo eval --env humaneval,mbpp,gsm8k --agent agentcoder \\
        --model scripted:tests/recipes/agentcoder_script.py:play --limit 2

It finds the task in the request by its text and answers from the benchmark's gold, so the
recipe's answer is right and the report shows success; the programmer is wrong at first, so every
code task goes through one round of test feedback:
- programmer: a function that returns None, then, once it is shown failing tests, the gold function;
- test designer: the benchmark's own asserts (HumanEval's `check` body with `candidate` renamed to
  the function, MBPP's `test_list`);
- a plain request (GSM8K, which the recipe answers directly): `#### <gold>`.

The gold lookups are shared with `codecor_script.py`.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from agentzoo.envs.base import Task
from agentzoo.envs.code import HumanEval, MBPP
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.types import ModelRequest


@lru_cache(maxsize=1)
def _tasks() -> tuple[list[Task], list[Task], list[Task]]:
    return HumanEval().tasks(), MBPP().tasks(), GSM8K().tasks()


def find_task(text: str) -> Task | None:
    """The benchmark task whose text the request holds."""
    humaneval, mbpp, gsm8k = _tasks()
    for task in humaneval:
        if task.data["prompt"].rstrip() in text:
            return task
    for task in mbpp:
        if task.data["text"] in text and task.data["tests"][0] in text:
            return task
    for task in gsm8k:
        if task.prompt.split("\n\n", 1)[1] in text:
            return task
    return None


def entry_point(task: Task) -> str:
    return task.data["entry_point"] if task.env == "humaneval" else task.data["function"]


def gold_code(task: Task) -> str:
    if task.env == "humaneval":
        return task.data["prompt"] + task.gold
    return task.gold.replace("\r\n", "\n")


def wrong_code(task: Task) -> str:
    return f"def {entry_point(task)}(*args, **kwargs):\n    return None\n"


def gold_tests(task: Task) -> list[str]:
    """The benchmark's own asserts on the function."""
    if task.env == "mbpp":
        return list(task.data["tests"])
    name = entry_point(task)

    class Rename(ast.NodeTransformer):
        def visit_Name(self, node: ast.Name) -> ast.Name:
            return ast.Name(name, node.ctx) if node.id == "candidate" else node

    tree = ast.parse(task.data["test"])
    check = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "check")
    asserts = [ast.unparse(Rename().visit(n)) for n in check.body if isinstance(n, ast.Assert)]
    return asserts or [f"assert callable({name})"]


def fenced(code: str) -> str:
    return f"```python\n{code.strip()}\n```"


def last_user(request: ModelRequest) -> str:
    return next(m["content"] for m in reversed(request.messages) if m["role"] == "user")


def system_of(request: ModelRequest) -> str:
    return next((m["content"] for m in request.messages if m["role"] == "system"), "")


def play(request: ModelRequest) -> str:
    text, system = last_user(request), system_of(request)
    task = find_task(text)
    if task is None:
        raise AssertionError(f"no benchmark task in the request: {text[:200]!r}")
    if task.env == "gsm8k":
        return f"Working it through from the numbers given.\n#### {task.gold}"
    if "You are the test designer" in system:
        return "Basic, edge and large cases:\n\n" + fenced("\n".join(gold_tests(task)))
    if "You are the programmer" in system:
        if "Your last version of" in text:
            return "The tests show it returned None; here is the full logic.\n\n" + fenced(gold_code(task))
        return "First attempt.\n\n" + fenced(wrong_code(task))
    raise AssertionError(f"unknown role: {system[:200]!r}")
