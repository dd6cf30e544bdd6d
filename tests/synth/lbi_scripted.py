"""A scripted model for the learn-by-interact tests: every reply a pure function of the request.

- the instructor gets two tasks; the agent walks south, south, east (by how many actions it has taken);
- the relabeller names the actions it was shown (`Walk south then east from row 1`), so every stretch gets
  its own instruction;
- a judge passes (5) every example except the whole three-step walks (1);
- a retrieval query is `exit maze east`.
"""

import json
import re

from agentzoo.models.scripted import ScriptedModel

WALK = ["south", "south", "east"]


def reply(request) -> str:
    last = request.messages[-1]["content"]
    if "different tasks that a user could ask" in last:
        return json.dumps({"tasks": ["Walk to the bottom row of the maze", "Reach the exit of the maze"]})
    if "Write the instruction that this stretch" in last:
        actions = re.findall(r"^Action \d+: (.+)$", last, re.M)
        found = re.search(r"Start:\n.*?(row \d+, column \d+)", last)
        start = found.group(1) if found else "the start"
        return f"Instruction: Walk {' then '.join(actions)} from {start}"
    if "# Rubric" in last:
        steps = len(re.findall(r"^Action \d+:", last, re.M))
        return json.dumps({"reasons": "scripted", "score": 1 if steps == 3 else 5})
    if "search query" in last:
        return "exit maze east"
    taken = sum(m["role"] == "assistant" for m in request.messages)
    return f"I should move.\nAction: {WALK[taken % len(WALK)]}"


def model() -> ScriptedModel:
    return ScriptedModel(reply, name="lbi")


def pipeline(m):
    from agentzoo.envs.registry import get_env
    from agentzoo.synth.pipelines.learn_by_interact import build

    return build(m, get_env("gridworld"), limit=1, seed=0, max_steps=3, committee=3)


def main() -> None:
    """usage: python lbi_scripted.py JOURNAL [KILL_AFTER_MODEL_CALL_N]   → prints the run id"""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package
    from helpers import kill

    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    kill.run_to_the_end_or_killed(pipeline(model()), "lbi", sys.argv[1], kill_after)


if __name__ == "__main__":
    main()
