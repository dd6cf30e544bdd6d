"""Run the crash-test agent in its own process; optionally SIGKILL itself right after the
journal has recorded the N-th tool call (a listener runs after the entry is committed).

usage: python crash_agent.py JOURNAL BASE_URL TASK_FILE [KILL_AFTER_TOOL_N]
"""

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: its helpers package

from helpers import kill  # noqa: E402

from agentzoo import Journal  # noqa: E402
from agentzoo.builder import build  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.runtime.spec import AgentSpec  # noqa: E402

TOOLS = f"{Path(__file__).with_name('crash_tools.py')}:add"


def spec(base_url: str) -> AgentSpec:
    return AgentSpec(agent="tool-calling", model=f"openai-compatible:fake@{base_url}", tools=[TOOLS],
                     system="Add things.", max_steps=20)


def main() -> None:
    journal_path, base_url, task_file = sys.argv[1:4]
    kill_after = int(sys.argv[4]) if len(sys.argv) > 4 else None
    killer = kill.killer(kill_after, "tool")

    built = build(spec(base_url))
    journal = Journal(journal_path)
    result = asyncio.run(runner.run(built.agent, Path(task_file).read_text(), journal=journal,
                                    config=built.spec.to_config(), listeners=[killer]))
    print(result.run_id, result.status, result.answer, flush=True)


if __name__ == "__main__":
    main()
