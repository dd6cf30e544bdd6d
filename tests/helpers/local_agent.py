"""A run of local effects (a pure script, a pure tool) with one non-local tool in the middle,
for the crash test of batched commits. Run as a child: SIGKILLs itself when the listener sees
the effect numbered KILL_AT (0-based, in the order the gateway performs them).

usage: python local_agent.py JOURNAL COUNTER_FILE KILL_AT
"""

import asyncio
import os
import signal
import sys

from agentzoo import Journal, ScriptedModel, ToolCallingAgent, tool
from agentzoo.runtime import runner

# add, add, note, add, then the answer: effects m0 add m1 add m2 note m3 add m4
SCRIPT = [("add", '{"a": 1, "b": 2}'), ("add", '{"a": 3, "b": 3}'), ("note", '{"text": "6"}'),
          ("add", '{"a": 6, "b": 4}'), None]


def play(request):
    k = sum(1 for m in request.messages if m.get("role") == "assistant")
    step = SCRIPT[k]
    if step is None:
        return "The sum is 10."
    return {"tool_calls": [{"id": f"c{k}", "name": step[0], "arguments": step[1]}]}


def build(counter_file):
    @tool(touches=())
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    @tool  # default: touches {"read"}, so it is committed before the run goes on
    def note(text: str) -> str:
        """Write a note."""
        with open(counter_file, "a", encoding="utf-8") as f:
            f.write(text + "\n")
        return "noted"

    return ToolCallingAgent(ScriptedModel(play, local=True), [add, note], max_steps=10)


def main():
    journal_path, counter_file, kill_at = sys.argv[1], sys.argv[2], int(sys.argv[3])
    seen = 0

    def killer(entry, served):
        nonlocal seen
        if seen == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        seen += 1

    result = asyncio.run(runner.run(build(counter_file), "Add up.", journal=Journal(journal_path),
                                    listeners=[killer]))
    print(result.answer)


if __name__ == "__main__":
    main()
