"""Resume never repeats a completed effect, whatever the model: a scripted list model goes on from
the step where the run stopped (after a kill -9 of `agentzoo run`, and after an in-process failure),
and a function script, which has no place to keep, is not asked for the calls served."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from agentzoo import Journal, ScriptedModel, ToolCallingAgent, tool
from agentzoo.runtime import runner
from agentzoo.runtime.budgets import Budget

SRC = Path(__file__).resolve().parents[2] / "src"
AGENTZOO = [sys.executable, "-m", "agentzoo.cli.main"]
SCRIPT = [{"content": "First 1 + 2.", "tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]},
          {"tool_calls": [{"name": "add", "arguments": {"a": 3, "b": 3}}]},
          {"tool_calls": [{"name": "add", "arguments": {"a": 6, "b": 4}}]},
          "The sum is 10."]
CALLS = ["add 1 2", "add 3 3", "add 6 4"]

# A tool for the command line: counts its calls in $COUNTER, and kills its own process (kill -9)
# instead of making the call numbered $KILL_AT, as a crash in the middle of a run would.
TOOLS = '''
import os, signal

def add(a: int, b: int) -> int:
    """Add two integers."""
    path = os.environ["COUNTER"]
    done = open(path).read().splitlines() if os.path.exists(path) else []
    if os.environ.get("KILL_AT") == str(len(done) + 1):
        os.kill(os.getpid(), signal.SIGKILL)
    with open(path, "a") as f:
        f.write(f"add {a} {b}\\n")
    return a + b
'''


def counting_agent(model, counter: list[str]):
    @tool
    def add(a: int, b: int) -> int:
        """Add two integers."""
        counter.append(f"add {a} {b}")
        return a + b

    return ToolCallingAgent(model, [add], system="Add things.")


async def test_resume_of_a_failed_run_goes_on_from_the_step_where_it_stopped(tmp_path):
    reference_calls: list[str] = []
    reference = await runner.run(counting_agent(ScriptedModel(SCRIPT), reference_calls), "Add up.")
    assert reference.answer == "The sum is 10." and reference_calls == CALLS

    calls: list[str] = []
    with Journal(tmp_path / "j.db") as journal:
        stopped = await runner.run(counting_agent(ScriptedModel(SCRIPT), calls), "Add up.", journal=journal,
                                   budgets=Budget(model_calls=2))
        assert stopped.error["type"] == "BudgetExceeded" and calls == CALLS[:2]
        model = ScriptedModel(SCRIPT)  # the same script, as `agentzoo resume` rebuilds it from the run's config
        resumed = await runner.resume(counting_agent(model, calls), stopped.run_id, journal=journal)
        assert resumed.ok and resumed.answer == "The sum is 10."
        assert calls == CALLS  # no completed tool call made again
        assert [r.messages[-1]["content"] for r in model.requests] == ["6", "10"]  # only steps 3 and 4 asked
        assert resumed.messages == reference.messages  # tool call ids included: the same conversation
        entries = list(journal.entries(stopped.run_id))
        assert [e.kind for e in entries] == ["model", "tool"] * 3 + ["model"]
        assert all(e.status == "ok" for e in entries)


async def test_a_function_script_is_not_asked_for_served_calls_and_resume_matches_the_reference(tmp_path):
    def play(request):
        asked.append(len(request.messages))
        turn = sum(1 for m in request.messages if m["role"] == "assistant")
        return SCRIPT[turn]

    asked: list[int] = []
    reference = await runner.run(counting_agent(ScriptedModel(play), []), "Add up.")
    asked.clear()
    calls: list[str] = []
    with Journal(tmp_path / "j.db") as journal:
        stopped = await runner.run(counting_agent(ScriptedModel(play), calls), "Add up.", journal=journal,
                                   budgets=Budget(model_calls=3))
        assert stopped.error["type"] == "BudgetExceeded" and len(asked) == 3
        asked.clear()
        resumed = await runner.resume(counting_agent(ScriptedModel(play), calls), stopped.run_id, journal=journal)
    assert resumed.answer == "The sum is 10." and calls == CALLS
    assert asked == [8]  # asked once, for the last answer; the three served calls never reached it
    assert resumed.messages == reference.messages


def _cli(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if k != "KILL_AT"}
    full.update(PYTHONPATH=str(SRC), COUNTER=str(tmp_path / "calls.txt"), **env)
    return subprocess.run(AGENTZOO + args, capture_output=True, text=True, timeout=60, env=full, cwd=tmp_path)


def test_agentzoo_resume_after_kill_9_goes_on_with_the_script(tmp_path):
    import json

    (tmp_path / "script.json").write_text(json.dumps(SCRIPT))
    (tmp_path / "tools.py").write_text(TOOLS)
    journal = tmp_path / "j.db"
    run = ["run", "Add up.", "--model", f"scripted:{tmp_path / 'script.json'}", "--tools",
           f"{tmp_path / 'tools.py'}:add", "--journal", str(journal)]

    killed = _cli(run, tmp_path, KILL_AT="3")  # dies instead of making the third tool call
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    counter = tmp_path / "calls.txt"
    assert counter.read_text().splitlines() == CALLS[:2]

    resumed = _cli(["resume", "latest", "--trust", "--journal", str(journal)], tmp_path)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "The sum is 10." in resumed.stdout
    assert counter.read_text().splitlines() == CALLS  # the two completed calls were not made again
    with Journal(journal) as j:
        run_info = j.get_run("latest")
        assert run_info.status == "finished" and run_info.answer == "The sum is 10."
        entries = list(j.entries(run_info.run_id))
        assert [e.kind for e in entries] == ["model", "tool"] * 3 + ["model"]
        assert [json.loads(e.request["arguments"]) for e in entries if e.kind == "tool"] == \
            [{"a": 1, "b": 2}, {"a": 3, "b": 3}, {"a": 6, "b": 4}]
        assert j.integrity_check() == "ok"
