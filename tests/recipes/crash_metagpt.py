"""Run a team in its own process, optionally SIGKILLing itself right after the journal has
recorded its N-th model call (a listener runs after the entry is committed); or resume it.

usage: python crash_metagpt.py run    TEAM JOURNAL TASK_FILE [KILL_AFTER_N_MODEL_CALLS]
       python crash_metagpt.py resume TEAM JOURNAL

TEAM is `metagpt` (the recipe, played by metagpt_script.play) or `fanout` (a pipeline whose
second round runs three roles concurrently, each making two model calls that yield to the
event loop, so that their calls interleave). Prints one JSON line: run id, status, answer,
and the model calls this process made (the requests' scopes are in the journal).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).parent))

from agentzoo import Journal, ScriptedModel  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.teams.pipeline import DocumentRole, Message, Pipeline, Turn, write_document  # noqa: E402

SOLVERS = 3


class Note(BaseModel):
    text: str


async def fanout_play(request) -> str:
    """Every role of the fan-out team: it names itself in the system prompt."""
    await asyncio.sleep(0)  # yield, so that concurrent roles' calls interleave
    who = request.messages[0]["content"]
    step = sum(1 for m in request.messages if m["role"] == "assistant")
    return json.dumps({"text": f"{who} says {step}"})


class Solver:
    """Two model calls in a row (a draft, then a final), then one Solution message."""

    watch = frozenset({"Plan"})

    def __init__(self, index: int, model) -> None:
        self.name, self.model = f"solver_{index}", model

    async def act(self, turn: Turn, ctx) -> Message:
        texts = []
        for part in ("draft", "final"):
            messages = [{"role": "system", "content": f"{self.name} {part}"},
                        {"role": "user", "content": turn.news[0].content}]
            written = await write_document(ctx, self.model, messages, Note)
            texts.append(written.document.text)
        return Message(" / ".join(texts), "Solution", document={"text": texts[-1]})


def fanout(model) -> Pipeline:
    def prompt(name):
        return lambda turn: [{"role": "system", "content": name},
                             {"role": "user", "content": "\n".join(m.content for m in turn.news)}]

    planner = DocumentRole("planner", model, watch=["UserRequirement"], action="Plan", schema=Note,
                           prompt=prompt("planner"))
    judge = DocumentRole("judge", model, watch=["Solution"], action="Verdict", schema=Note, prompt=prompt("judge"))
    return Pipeline([planner, *(Solver(i, model) for i in range(1, SOLVERS + 1)), judge],
                    schemas={"Solution": Note}, n_round=5)


def build(team: str):
    if team == "metagpt":
        from metagpt_script import play

        from agentzoo.recipes import build_recipe

        model = ScriptedModel(play)
        return build_recipe("metagpt", model), model
    model = ScriptedModel(fanout_play)
    return fanout(model), model


def main() -> None:
    mode, team, journal_path = sys.argv[1:4]
    agent, model = build(team)
    journal = Journal(journal_path)
    if mode == "resume":
        result = asyncio.run(runner.resume(agent, journal.get_run("latest").run_id, journal=journal))
    else:
        task = Path(sys.argv[4]).read_text()
        kill_after = int(sys.argv[5]) if len(sys.argv) > 5 else None
        seen = 0

        def killer(entry, served):
            nonlocal seen
            if entry.kind == "model" and not served:
                seen += 1
                if seen == kill_after:
                    os.kill(os.getpid(), signal.SIGKILL)

        result = asyncio.run(runner.run(agent, task, journal=journal, listeners=[killer]))
    print(json.dumps({"run_id": result.run_id, "status": result.status, "answer": result.answer,
                      "model_calls": model.calls, "error": result.error}), flush=True)


if __name__ == "__main__":
    main()
