"""A crash script for the task-DAG tests: a model plans three sub-tasks (two in parallel, then one that waits for
both) and a model does each; run to its end or killed by SIGKILL after the n-th model call
(`python dag_crash.py JOURNAL [KILL_AFTER]`)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.kill import run_to_the_end_or_killed  # noqa: E402

from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.teams.task_dag import AgentExecutor, ModelPlanner, TaskDAG  # noqa: E402
from agentzoo.types import AgentResult, ModelRequest  # noqa: E402

PLAN = {"subtasks": [{"key": "a", "goal": "find the width", "after": []},
                     {"key": "b", "goal": "find the height", "after": []},
                     {"key": "c", "goal": "multiply them", "after": ["a", "b"]}]}


def reply_to(request: ModelRequest) -> str:
    text = request.messages[-1]["content"]
    if text.startswith("Break this goal"):
        return json.dumps(PLAN)
    if text.startswith("find the width"):
        return "width 3"
    if text.startswith("find the height"):
        return "height 4"
    return "area 12"


class Worker:
    name = "worker"

    def __init__(self, model):
        self.model = model

    async def run(self, task, ctx):
        reply = await ctx.model(self.model, ModelRequest(messages=[{"role": "user", "content": task}]))
        return AgentResult(answer=reply.text)


def dag(model) -> TaskDAG:
    return TaskDAG(ModelPlanner(model), AgentExecutor(Worker(model)))


if __name__ == "__main__":
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    run_to_the_end_or_killed(dag(ScriptedModel(reply_to)), "the area of the box", sys.argv[1], kill_after)
