"""A crash script for the state-graph tests: a draft → review loop of three model calls, run to its end or
killed by SIGKILL after the n-th model call (`python graph_crash.py JOURNAL [KILL_AFTER]`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.kill import run_to_the_end_or_killed  # noqa: E402

from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.teams.state_graph import END, StateGraph, append  # noqa: E402
from agentzoo.types import ModelRequest  # noqa: E402

from typing import Annotated  # noqa: E402

from pydantic import BaseModel  # noqa: E402


class Essay(BaseModel):
    task: str
    answer: str | None = None
    verdicts: Annotated[list[str], append] = []


def reply_to(request: ModelRequest) -> str:
    text = request.messages[-1]["content"]
    if text.startswith("Write"):
        return f"draft {text.count('again') + 1}"
    return "approve" if text.endswith("draft 2") or text.startswith("Review strictly") else "revise"


def graph(model, review_prompt: str = "Review") -> StateGraph:
    async def write(state, ctx):
        again = " again" * len(state.verdicts)
        reply = await ctx.model(model, ModelRequest(messages=[{"role": "user", "content": f"Write{again}: {state.task}"}]))
        return {"answer": reply.message["content"]}

    async def review(state, ctx):
        reply = await ctx.model(model, ModelRequest(messages=[{"role": "user", "content": f"{review_prompt}: {state.answer}"}]))
        return {"verdicts": [reply.message["content"]]}

    return (StateGraph(Essay, name="essay").add_node("write", write).add_node("review", review)
            .add_edge("write", "review")
            .add_router("review", lambda s: END if s.verdicts[-1] == "approve" else "write", ["write", END]))


if __name__ == "__main__":
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    run_to_the_end_or_killed(graph(ScriptedModel(reply_to)), "an essay on tides", sys.argv[1], kill_after)
