"""Oracle players for the code-writing teams: AgentCoder, CodeCoR and MetaGPT.

Whoever writes code writes the gold function; whoever writes tests writes asserts the gold passes
(`Gold.tests`, from the benchmark's own tests); a reviewer scores every output 10 and approves.
So the generated tests really run on the gold code in the sandbox, and pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...prompts import render
from ...types import ModelRequest
from .. import agentcoder as _agentcoder
from .. import codecor as _codecor
from .. import metagpt as _metagpt
from .gold import Gold, Marker, last_user, not_recognised, system_of, user_texts

Player = Callable[[ModelRequest], Any]
MODULE = "main"  # the one file of the oracle's MetaGPT design is main.py
_ITEM = re.compile(r"^#(\d+)$", re.M)  # an output listed for review (codecor's review.j2)


def agentcoder(gold: Gold) -> Player:
    programmer = Marker.of(_agentcoder.PROMPTS / "programmer_system.j2")
    designer = Marker.of(_agentcoder.PROMPTS / "test_designer_system.j2")

    def play(request: ModelRequest) -> str:
        system = system_of(request)
        if designer.found_in(system):
            return gold.tests_reply()
        if programmer.found_in(system):
            return gold.reply
        raise not_recognised("agentcoder", request)

    return play


def codecor(gold: Gold) -> Player:
    # A role's system prompt is team.j2 with the role's own name and duty, after the run's system
    # prompt if there is one: rendered here from the recipe's own table of roles.
    roles = {name: render(_codecor.PROMPTS / "team.j2", context=None, role=role, duty=duty)
             for name, (role, duty, *_) in _codecor._ROLES.items()}
    review = Marker.of(_codecor.PROMPTS / "review.j2")

    def play(request: ModelRequest) -> str:
        system, last = system_of(request), last_user(request)
        role = next((name for name, text in roles.items() if system.endswith(text)), None)
        if role is None:
            raise not_recognised("codecor", request)
        if review.found_in(last):
            return "\n".join(f"#{n}: 10" for n in _ITEM.findall(last))
        if role == "prompt_agent":
            return ("1. The function takes the inputs the task names and returns what it describes.\n"
                    "2. The examples and the edge cases the task mentions must hold.\n"
                    "3. Compute the result directly, as the description says.")
        if role == "test_agent":
            return gold.tests_reply()
        if role == "repair_agent":
            return "The code does what the task asks; where a test disagrees, the test is wrong."
        return gold.reply

    return play


def metagpt(gold: Gold) -> Player:
    actions = {name: Marker.of(_metagpt.PROMPTS / f"{template}.j2") for name, template in (
        ("prd", "write_prd"), ("design", "write_design"), ("tasks", "write_tasks"), ("code", "write_code"),
        ("review", "review_code"), ("rewrite", "rewrite_code"), ("tests", "write_test"), ("verdict", "run_code"),
        ("debug", "debug_error"))}
    answers: dict[str, Callable[[], str]] = {
        "prd": _prd, "design": _design, "tasks": _tasks, "code": lambda: gold.reply, "rewrite": lambda: gold.reply,
        "review": lambda: _document({"Code Review": [], "Code Review Result": "LGTM"}),
        "tests": lambda: _unit_tests(gold), "debug": lambda: _unit_tests(gold),
        "verdict": lambda: _document({"Instruction": "The tests pass: approved.", "File To Rewrite": "",
                                      "Status": "PASS", "Send To": "NoOne"}),
    }

    def play(request: ModelRequest) -> str:
        users = user_texts(request)
        asked = users[0] if users else ""  # the action's prompt; later user turns are format feedback
        for name, marker in actions.items():
            if marker.found_in(asked):
                return answers[name]()
        raise not_recognised("metagpt", request)

    return play


def _document(data: dict[str, Any]) -> str:
    return f"[CONTENT]\n{json.dumps(data, indent=2)}\n[/CONTENT]"


def _prd() -> str:
    return _document({
        "Language": "en_us", "Programming Language": "Python",
        "Original Requirements": "The function the requirement describes.", "Project Name": "solution",
        "Product Goals": ["Do exactly what the requirement says"],
        "User Stories": ["As a user, I get the stated result"],
        "Competitive Analysis": ["A hand-written reference solution"],
        "Competitive Quadrant Chart": 'quadrantChart\n    title Solutions\n    "Ours": [0.8, 0.8]',
        "Requirement Analysis": "One Python file implements the requirement.",
        "Requirement Pool": [["Implement the requirement", "P0"]], "UI Design draft": "none",
        "Anything UNCLEAR": "Nothing.",
    })


def _design() -> str:
    return _document({"Implementation approach": "Plain Python, no third-party library.",
                      "File list": [f"{MODULE}.py"], "Data structures and interfaces": "classDiagram\n    class Main",
                      "Program call flow": "sequenceDiagram\n    participant Main", "Anything UNCLEAR": "Nothing."})


def _tasks() -> str:
    return _document({"Required packages": [], "Required Other language third-party packages": [],
                      "Logic Analysis": [[f"{MODULE}.py", "the whole solution"]], "Task list": [f"{MODULE}.py"],
                      "Full API spec": "", "Shared Knowledge": "", "Anything UNCLEAR": "Nothing."})


def _unit_tests(gold: Gold) -> str:
    """The gold's asserts as one unittest case that imports the engineer's module."""
    body = "".join(f"        {test}\n" for test in gold.tests) or f"        import {MODULE}\n"
    return (f"```python\nimport unittest\n\nfrom {MODULE} import *\n\n\nclass TestSolution(unittest.TestCase):\n"
            f"    def test_solution(self):\n{body}```")
