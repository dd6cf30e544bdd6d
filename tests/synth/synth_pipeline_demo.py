"""A small pipeline for the synthesis tests, importable and runnable in its own process.

Stages: `write` (one model call per seed: a question), `answer` (one call per question: an answer), `judge`
(a committee of 3 rubric judges; scores come from the scripted judge model, by a hash of the example), and
`dedup` (a batch stage: identical answers kept once). Every reply is a pure function of the request.

usage: python synth_pipeline_demo.py JOURNAL [KILL_AFTER_MODEL_CALL_N]   → prints the run id
"""

import hashlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from helpers import kill  # noqa: E402

from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.runtime.context import Context  # noqa: E402
from agentzoo.synth.judges import Committee, RubricJudge, judge_stage  # noqa: E402
from agentzoo.synth.pipeline import Drop, Pipeline, Stage  # noqa: E402
from agentzoo.types import ModelRequest  # noqa: E402

SEEDS = [{"topic": t} for t in ("rivers", "bridges", "maps", "tides", "clocks", "bells")]


def reply(request) -> str:
    last = request.messages[-1]["content"]
    if "# Rubric" in last:  # a judge: scores by a hash of the example and the judge's scope-free text
        digest = int(hashlib.sha256(last.encode()).hexdigest(), 16)
        return json.dumps({"reasons": "scripted", "score": 1 + digest % 5})
    if last.startswith("Write a question about"):
        return f"What is special about {last.rsplit(' ', 1)[-1]}"
    return "An answer." if "tides" in last or "clocks" in last else f"Because of {last.rsplit(' ', 1)[-1]}."


def generous_judge(request) -> str:
    """A judge that passes everything (for a model per role: `--role-model judge=...:generous_judge`)."""
    return json.dumps({"reasons": "generous", "score": 5})


def refuses_tides(request) -> str:
    """`reply`, except that a request about tides is refused by the endpoint (a 400 that fails the run)."""
    from agentzoo.errors import BadRequestError

    if "tides" in request.messages[-1]["content"]:
        raise BadRequestError("HTTP 400: the endpoint refused the request")
    return reply(request)


def model() -> ScriptedModel:
    return ScriptedModel(reply, name="demo")


def pipeline(m) -> Pipeline:
    async def write(item, ctx: Context):
        if item["topic"] == "maps":
            return Drop("off topic")
        r = await ctx.model(m, ModelRequest(messages=[{"role": "user",
                                                        "content": f"Write a question about {item['topic']}"}]))
        return [{"question": r.text}]

    async def answer(item, ctx: Context):
        r = await ctx.model(m, ModelRequest(messages=[{"role": "user", "content": item["question"]}]))
        return [{**item, "answer": r.text}]

    async def dedup(items, ctx):
        seen, out = set(), []
        for item in items:
            if item["answer"] not in seen:
                seen.add(item["answer"])
                out.append(item)
        return out

    judge = Committee.of(RubricJudge(m, "Is the answer relevant to the question?", threshold=2), 3)
    return Pipeline("demo", [Stage("write", write), Stage("answer", answer, concurrency=2),
                             Stage("dedup", dedup, batch=True),
                             Stage("judge", judge_stage(judge, lambda i: f"Q: {i['question']}\nA: {i['answer']}"))],
                    seeds=SEEDS)


def main() -> None:
    kill_after = int(sys.argv[2]) if len(sys.argv) > 2 else None
    kill.run_to_the_end_or_killed(pipeline(model()), "demo", sys.argv[1], kill_after)


if __name__ == "__main__":
    main()
