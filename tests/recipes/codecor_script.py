"""A scripted model that plays every CodeCoR role on HumanEval, MBPP and GSM8K:

    agentzoo eval --env humaneval,mbpp,gsm8k --agent codecor \\
        --model scripted:tests/recipes/codecor_script.py:play --limit 2

It finds the task in the request by its text and answers from the benchmark's gold (see
`agentcoder_script.py`), so the answer is right; every first candidate is wrong, so each code task
goes through one repair round:
- prompt agent: a short guide; test agent: the benchmark's own asserts;
- coding agent: a function that returns None, then, with repair advice, the gold function;
- repair agent: advice to implement the described logic;
- a review (the agent scoring its own outputs): 8 for every output;
- a plain request (GSM8K, which the recipe answers directly): `#### <gold>`.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from agentzoo.types import ModelRequest


def _load_sibling(name: str):
    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"_agentzoo_recipes_{name}", path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


gold = _load_sibling("agentcoder_script")


def play(request: ModelRequest) -> str:
    text, system = gold.last_user(request), gold.system_of(request)
    task = gold.find_task(text)
    if task is None:
        raise AssertionError(f"no benchmark task in the request: {text[:200]!r}")
    if task.env == "gsm8k":
        return f"Working it through from the numbers given.\n#### {task.gold}"
    if "Judge your own work" in text:
        items = re.findall(r"^#(\d+)$", text, re.M)
        return "\n".join(f"#{n}: 8" for n in items)
    if "You are the prompt agent" in system:
        name = gold.entry_point(task)
        return f"1. `{name}` takes the inputs the task names.\n2. Handle empty inputs.\n3. Compute the result."
    if "You are the test agent" in system:
        return gold.fenced("\n".join(gold.gold_tests(task)))
    if "You are the repair agent" in system:
        return "The function ignores its inputs and returns None: implement the logic the task describes."
    if "You are the coding agent" in system:
        if "The repair agent's advice" in text:
            return "Following the advice.\n\n" + gold.fenced(gold.gold_code(task))
        return gold.fenced(gold.wrong_code(task))
    raise AssertionError(f"unknown role: {system[:200]!r}")
