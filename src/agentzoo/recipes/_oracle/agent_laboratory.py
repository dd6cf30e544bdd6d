"""The oracle player of Agent Laboratory: every role answers so that the lab keeps the task's gold program.

Each request is told by its phase template (`gold.Marker`) and, in the two-role phases, by its role's system
prompt. The literature review adds the corpus's papers one by one (those not yet listed in the prompt); the
postdoc gives a plan and an interpretation at once; the SW engineer submits data-loading code that runs; the
ML engineer (and code repair) replace the program with the gold (the workspace's gold actions write it over
train.py); the reward model scores the gold 1 and anything else 0.1, so the gold is kept; the professor edits
the report's title; the reviewers write a line; the PhD student finishes ("n").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from ..agent_laboratory import literature
from ..agent_laboratory.roles import PROMPTS
from .gold import Gold, Marker, OracleError, not_recognised

Player = Callable[[ModelRequest], Any]
DATA_CODE = "import csv\nwith open('data/train.csv') as f:\n    print(len(list(csv.DictReader(f))), 'training rows')"
TEMPLATES = ("literature_review", "plan_formulation", "data_preparation", "mle_command", "code_repair", "reward",
             "results_interpretation", "report_command", "review", "decision")


def fenced(word: str, body: str, args: str = "") -> str:
    return f"```{word}{' ' + args if args else ''}\n{body}\n```"


def agent_laboratory(gold: Gold) -> Player:
    markers = {name: Marker.of(PROMPTS / f"{name}.j2") for name in TEMPLATES}
    postdoc, sw_engineer = Marker.of(PROMPTS / "role_postdoc.j2"), Marker.of(PROMPTS / "role_sw-engineer.j2")
    def play(request: ModelRequest) -> str:
        program = _gold_program(gold)  # read when asked: a gold that is not a workspace's is refused then
        system = str(request.messages[0].get("content") or "") if request.messages else ""
        prompt = str(request.messages[-1].get("content") or "") if request.messages else ""
        phase = next((name for name, marker in markers.items() if marker.found_in(prompt)), None)
        if phase == "literature_review":
            paper = next(p for p in literature.corpus().papers if f"[{p.id}]" not in prompt)
            return fenced("ADD_PAPER", f"{paper.id}\n{paper.title}")
        if phase == "plan_formulation":
            return fenced("PLAN", "Run the gold program.") if postdoc.found_in(system) else "Agreed."
        if phase == "data_preparation":
            return fenced("SUBMIT_CODE", DATA_CODE) if sw_engineer.found_in(system) else "Read the csv."
        if phase in ("mle_command", "code_repair"):
            return fenced("REPLACE", program)
        if phase == "reward":
            return fenced("SCORE", "1.0" if program in prompt else "0.1")
        if phase == "results_interpretation":
            return fenced("INTERPRETATION", "The gold program beats the baseline.") if postdoc.found_in(system) \
                else "It does."
        if phase == "report_command":
            return fenced("EDIT", "# Report: the gold program", "0 0")
        if phase == "review":
            return "Clear and correct. Overall: 7/10."
        if phase == "decision":
            return "n"
        raise not_recognised("agent-laboratory", request)

    return play


def _gold_program(gold: Gold) -> str:
    """The program the gold writes over train.py (the workspace's `Write File` action)."""
    for step in gold.steps:
        for call in (step.get("tool_calls") or []) if isinstance(step, dict) else []:
            name, _, rest = str(call.get("arguments", {}).get("action", "")).partition("\n")
            if name.strip() == "Write File":
                try:
                    action_input = json.loads(rest)
                except json.JSONDecodeError:
                    continue
                if action_input.get("file_name") == "train.py":
                    return str(action_input["content"])
    raise OracleError(f"agent-laboratory: the gold of {gold.env} writes no train.py (it acts in a workspace)")
