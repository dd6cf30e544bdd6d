"""Writes runs to a journal from a process of its own: the concurrent-writers test and bench/journal_stores.py.

usage: python journal_writer.py LOCATION RUNS STEPS TAG

Starts RUNS runs at once on one event loop, each of STEPS model calls (a scripted model) with a tool call
between them; the tool is not declared pure, so each of its calls is committed before its result is used.
Prints the run ids, one per line, and the seconds the runs took, on the last line.
"""

import asyncio
import sys
import time

import agentzoo
from agentzoo import Journal, ScriptedModel, ToolCallingAgent, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def adder(steps: int) -> ToolCallingAgent:
    script = [{"tool_calls": [{"name": "add", "arguments": {"a": i, "b": 1}}]} for i in range(steps - 1)]
    return ToolCallingAgent(ScriptedModel(script + ["done"]), [add], system="Add.", max_steps=steps + 1)


async def main(location: str, runs: int, steps: int, tag: str) -> None:
    with Journal(location) as journal:
        started = time.perf_counter()
        results = await asyncio.gather(*(agentzoo.run(adder(steps), f"{tag} {i}", journal=journal)
                                         for i in range(runs)))
        took = time.perf_counter() - started
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    print("\n".join(r.run_id for r in results))
    print(took)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]))
