"""A scripted model that plays every MetaGPT role, for the harness and the tests.

    agentzoo eval --env humaneval,gsm8k --agent metagpt --model scripted:tests/recipes/metagpt_script.py:play

It reads who is asked (the system prompt's persona) and for what (the prompt's `Action:` line)
and answers as that role would: valid PRD, design and task documents; for a HumanEval or GSM8K
task (found by the requirement's text) the gold code, marked with the task's id so that the QA
engineer can write the benchmark's own tests for it; a RunCode verdict read from the real
output of the test run in the sandbox.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from agentzoo.types import ModelRequest


@lru_cache(maxsize=1)
def tasks() -> dict[str, object]:
    """Every HumanEval and GSM8K task, by prompt and by id."""
    from agentzoo.envs.code import HumanEval
    from agentzoo.envs.gsm8k import GSM8K

    out: dict[str, object] = {}
    for task in [*HumanEval().tasks(), *GSM8K().tasks()]:
        out[task.prompt] = out[task.id] = task
    return out


def play(request: ModelRequest) -> str:
    system, prompt = request.messages[0]["content"], request.messages[1]["content"]
    action = re.search(r"^Action: (.+)$", prompt, re.M).group(1).strip()
    return ACTIONS[action](prompt)


def document(data: dict) -> str:
    return f"[CONTENT]\n{json.dumps(data, indent=2)}\n[/CONTENT]"


def requirement(prompt: str) -> str:
    found = re.search(r"## Original requirement\n(.*?)\n\n(?:Write the product|## System design|## Code of)",
                      prompt, re.S)
    return found.group(1) if found else ""


def prd(prompt: str) -> str:
    text = requirement(prompt)
    return document({
        "Language": "en_us", "Programming Language": "Python", "Original Requirements": text,
        "Project Name": "solution", "Product Goals": ["Solve the task exactly as stated"],
        "User Stories": ["As a user, I want the stated result"], "Competitive Analysis": ["A hand-written solution"],
        "Competitive Quadrant Chart": "quadrantChart\n    title Solutions\n    \"Ours\": [0.8, 0.8]",
        "Requirement Analysis": "One Python file implements the requirement.",
        "Requirement Pool": [["Implement the requirement", "P0"]], "UI Design draft": "none",
        "Anything UNCLEAR": "Nothing.",
    })


def design(prompt: str) -> str:
    return document({
        "Implementation approach": "Plain Python, no third-party library.", "File list": ["main.py"],
        "Data structures and interfaces": "classDiagram\n    class Main", "Program call flow": None,
        "Anything UNCLEAR": "Nothing.",
    })


def task_list(prompt: str) -> str:
    return document({
        "Required packages": [], "Required Other language third-party packages": [],
        "Logic Analysis": [["main.py", "the whole solution"]], "Task list": ["main.py"],
        "Full API spec": "", "Shared Knowledge": "", "Anything UNCLEAR": "Nothing.",
    })


def code(prompt: str) -> str:
    task = tasks().get(requirement(prompt))
    if task is None:
        return "```python\nprint('hello')\n```"
    if task.env == "gsm8k":
        return f"```python\n# task {task.id}\nANSWER = {task.gold!r}\nprint(ANSWER)\n```\n#### {task.gold}"
    return f"```python\n# task {task.id}\n{(task.data['prompt'] + task.gold).rstrip()}\n```"


def task_of_code(prompt: str):
    found = re.search(r"^# task (\S+)$", prompt, re.M)
    return tasks().get(found.group(1)) if found else None


def tests(prompt: str) -> str:
    task = task_of_code(prompt)
    if task is None:
        body = "class TestMain(unittest.TestCase):\n    def test_imports(self):\n        import main\n"
    elif task.env == "gsm8k":
        body = (f"class TestAnswer(unittest.TestCase):\n    def test_answer(self):\n"
                f"        import main\n        self.assertEqual(str(main.ANSWER), {task.gold!r})\n")
    else:
        body = (f"from main import *\n\n{task.data['test']}\n\nclass TestSolution(unittest.TestCase):\n"
                f"    def test_check(self):\n        check({task.data['entry_point']})\n")
    return f"```python\nimport unittest\n\n{body}```"


def verdict(prompt: str) -> str:
    errors = re.search(r"## Standard error\n```text\n(.*?)```", prompt, re.S).group(1)
    passed = re.search(r"\n\nOK\b", errors) is not None and "FAILED" not in errors
    return document({"Instruction": "All tests pass." if passed else "The code fails its tests; fix the code.",
                     "File To Rewrite": "" if passed else "main.py", "Status": "PASS" if passed else "FAIL",
                     "Send To": "NoOne" if passed else "Engineer"})


def review(prompt: str) -> str:
    return document({"Code Review": [], "Code Review Result": "LGTM"})


def debug(prompt: str) -> str:
    return "```python\n" + re.search(r"## Tests \(.*?\)\n```python\n(.*?)```", prompt, re.S).group(1) + "```"


ACTIONS = {"WritePRD": prd, "WriteDesign": design, "WriteTasks": task_list, "WriteCode": code,
           "WriteCodeReview": review, "WriteCodeReview (rewrite)": code, "WriteTest": tests, "RunCode": verdict,
           "DebugError": debug}
