"""A scripted model for the ADAS tests: it plays the meta agent and the agents' LLM calls.

Used as `ScriptedModel(play)` and on the command line as `--model scripted:tests/search/adas_play.py:play`.
The meta agent (recognised by its system prompt) proposes `GENERATED`, marked with the size of the
archive it saw (so each generation's candidate is new code); an agent's call answers every field, and its answer field holds the GSM8K gold number for two
tasks in three (by a hash of the task, so the same task always gets the same verdict), else a wrong one.
Every reply is a pure function of the request.
"""

from __future__ import annotations

import hashlib
import json

from agentzoo.envs.gsm8k import GSM8K
from agentzoo.prompts import render
from agentzoo.search.adas.meta import PROMPTS

META_SYSTEM = render(PROMPTS / "meta_system.j2")
GOLD = {t.prompt: t.gold for t in GSM8K().tasks()}
GENERATED = '''def forward(self, task):
    # Two solvers at different temperatures; the second sees the first's work.
    first = LLMAgent(["thinking", "answer"], "First Solver", temperature=0.3)
    second = LLMAgent(["thinking", "answer"], "Second Solver", temperature=0.7)
    thinking, answer = first([task], "Solve the task step by step.")
    thinking, answer = second([task, thinking, answer], "Check the work above and give the final answer.")
    return answer
'''


def is_meta(request) -> bool:
    return request.messages[0]["content"] == META_SYSTEM


def task_of(request) -> str:
    """The task text of an agent call's prompt (`agent_user.j2`)."""
    user = request.messages[1]["content"]
    body = user.split("# Task\n", 1)[1]
    return body.split("\n\n###", 1)[0].split("\n\n# Instruction", 1)[0].strip()


def solves(task: str) -> bool:
    return int(hashlib.sha256(task.encode()).hexdigest(), 16) % 3 != 0


def fields_of(request) -> list[str]:
    return [line.split('"')[1] for line in request.messages[0]["content"].splitlines() if line.startswith('- "')]


def archive_size(request) -> int:
    return request.messages[1]["content"].count('"fitness":"')  # one per archive entry (compact JSON)


def meta_reply(request) -> str:
    turn = sum(1 for m in request.messages if m["role"] == "user")
    size = archive_size(request)
    return json.dumps({"reflection": f"review {turn}", "thought": "Two solvers, the second checks the first.",
                       "name": f"Checked Solver {size}", "code": GENERATED + f"# design {size}\n"})


def agent_reply(request) -> str:
    task = task_of(request)
    gold = GOLD.get(task)
    answer = gold if gold is not None and solves(task) else "-1"
    values = {}
    for field in fields_of(request):
        if "answer" in field:
            values[field] = answer
        elif field == "correct":
            values[field] = "True"
        elif field == "choice":
            values[field] = "Math Professor"
        else:
            values[field] = f"my {field}"
    return json.dumps(values)


def play(request) -> str:
    return meta_reply(request) if is_meta(request) else agent_reply(request)
