"""The agent spec from the command line, as a user meets it: every `run` flag applied or refused, experiment
files equal to flags, user code under `eval`, bundles that replay elsewhere, and runs that rebuild themselves."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentzoo import Journal
from helpers.cli import agentzoo

ROOT = Path(__file__).parent.parent
TOOLS = "agentzoo.examples.demo:add"


def az(*args, env=None, check=True, cwd=None, timeout=180):
    return agentzoo(*args, env={"AGENTZOO_OFFLINE": "1", **(env or {})}, check=check, cwd=cwd, timeout=timeout)


def script(tmp_path, replies, name="script.json"):
    path = tmp_path / name
    path.write_text(json.dumps(replies))
    return path


def last_run(journal):
    with Journal(journal) as j:
        info = j.list_runs(1)[0]
        return info, list(j.entries(info.run_id))


# --- every `run` flag is applied or refused ------------------------------------------------------

APPLIED = [
    (["--temperature", "0.3"], "tool-calling", lambda cfg, req: cfg["sampling"]["temperature"] == 0.3 and req["temperature"] == 0.3),
    (["--max-tokens", "64"], "tool-calling", lambda cfg, req: cfg["sampling"]["max_tokens"] == 64 and req["max_tokens"] == 64),
    (["--top-p", "0.9"], "tool-calling", lambda cfg, req: req["top_p"] == 0.9),
    (["--seed", "7"], "tool-calling", lambda cfg, req: req["seed"] == 7),
    (["--system", "Be terse."], "tool-calling", lambda cfg, req: req["messages"][0]["content"] == "Be terse."),
    (["--max-steps", "4"], "tool-calling", lambda cfg, req: cfg["max_steps"] == 4),
    (["--format", "react"], "tool-calling", lambda cfg, req: cfg["action_format"] == "react" and "tools" not in req),
    (["--agent-opt", "repeat_limit=2"], "tool-calling", lambda cfg, req: cfg["options"] == {"repeat_limit": 2}),
    (["--budget-calls", "5"], "tool-calling", lambda cfg, req: cfg["budgets"] == {"model_calls": 5}),
    (["--role-model", "critic=scripted:other.json"], "tool-calling", lambda cfg, req: cfg["models"] == {"critic": "scripted:other.json"}),
    (["--tool-mode", "json"], "tool-calling", lambda cfg, req: cfg["tool_mode"] == "json" and req["tool_mode"] == "json"),
    (["--tier", "bwrap"], "codeact", lambda cfg, req: cfg["sandbox"]["tier"] == "bwrap"),
    (["--sandbox-timeout", "5"], "codeact", lambda cfg, req: cfg["sandbox"]["wall_seconds"] == 5),
    (["--action-mode", "json"], "codeact", lambda cfg, req: cfg["action_format"] == "json"),
    (["--max-steps", "3"], "cot-sc", None),  # refused below: cot-sc has no step limit
]


@pytest.mark.parametrize("flags,agent,check", [a for a in APPLIED if a[2]],
                         ids=lambda v: "" if callable(v) else str(v)[:30])  # a function's repr differs per process
def test_a_run_flag_is_applied_to_the_spec_and_the_requests(tmp_path, flags, agent, check):
    replies = (["Answer: 5"] if agent == "codeact" else ["Final Answer: 5"] if "react" in flags
               else ['{"final_answer": "5"}'] if "--tool-mode" in flags else ["5"])
    path = script(tmp_path, replies)
    script(tmp_path, ["unused"], name="other.json")  # the --role-model case names it
    az("run", "2+3?", "--agent", agent, "--model", f"scripted:{path}", "--tools", TOOLS, *flags,
       "--journal", tmp_path / "j.db", cwd=tmp_path)
    info, entries = last_run(tmp_path / "j.db")
    request = next(e.request for e in entries if e.kind == "model")
    assert check(info.config, request), (info.config, request)


@pytest.mark.parametrize("flags,agent,named", [
    (["--tier", "bwrap"], "cot", "--tier"),
    (["--unsafe"], "llm-debate", "--unsafe"),
    (["--sandbox-memory", "256"], "self-refine", "--sandbox-"),
    (["--max-steps", "3"], "cot-sc", "--max-steps"),
    (["--format", "react"], "magentic-one", "--format"),
    (["--action-mode", "text"], "tool-calling", "action_format 'text' is not one of tool-calling's"),
    (["--agent-opt", "paths=3"], "cot-sc", "unknown option 'paths'"),
    (["--agent-opt", "n=lots"], "cot-sc", "option n='lots' is not a valid int"),
    (["--max-steps", "0"], "tool-calling", "--max-steps: Input should be greater than or equal to 1"),
    (["--budget-usd", "-1"], "tool-calling", "--budget-usd: Input should be greater than or equal to 0"),
    (["--temperature", "9"], "tool-calling", "--temperature: Input should be less than or equal to 2"),
    (["--agent", "cot@fancy"], None, "unknown preset; presets: few-shot, zero-shot"),
    (["--temperature", "0.5"], "cot-sc", "would be overridden by cot-sc's own per-role setting (temperature"),
    (["--max-tokens", "64"], "agentless", "would be overridden by agentless's own per-role setting (max_tokens"),
    (["--tool-mode", "json"], "codeact", "tool_mode 'json' (--tool-mode)"),
    (["--tool-mode", "yaml"], "tool-calling", "--tool-mode: Input should be 'native', 'json' or 'react'"),
    (["--agent", "no-such-agent"], None, "unknown agent 'no-such-agent' (known: tool-calling, "),
    (["--agent", "tool-caling"], None, "unknown agent 'tool-caling'; did you mean 'tool-calling'?"),
])
def test_a_run_flag_that_would_not_apply_is_refused_by_name(tmp_path, flags, agent, named):
    path = script(tmp_path, ["5"])
    args = ["run", "2+3?", "--model", f"scripted:{path}", *flags, "--journal", tmp_path / "j.db"]
    if agent:
        args += ["--agent", agent]
    out = az(*args, check=False, cwd=tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert named in out.stderr, out.stderr
    assert not (tmp_path / "j.db").exists() or not Journal(tmp_path / "j.db").list_runs(), "nothing ran"


def test_a_spec_file_runs_and_flags_override_it(tmp_path):
    path = script(tmp_path, ["42"])
    spec = tmp_path / "agent.yaml"
    spec.write_text(f"agent: tool-calling\nmodel: scripted:{path}\nsystem: From the file.\nsampling: {{temperature: 0.1}}\n")
    az("run", "q", "--spec", spec, "--temperature", "0.2", "--journal", tmp_path / "j.db", cwd=tmp_path)
    info, entries = last_run(tmp_path / "j.db")
    assert info.config["system"] == "From the file." and info.config["sampling"]["temperature"] == 0.2


# --- experiment files: the same matrix as flags gives the same rows -------------------------------

def rows_of(folder: Path) -> dict[str, dict]:
    db = sqlite3.connect(folder / "results.db")
    try:
        return {key: json.loads(row) for key, row in db.execute("SELECT key, row FROM samples")}
    finally:
        db.close()


STABLE = ("env", "task", "agent", "model", "seed", "reward", "success", "answer", "status", "model_calls",
          "tool_calls", "input_tokens", "output_tokens")


def test_an_experiment_file_runs_variants_side_by_side_and_equals_the_flags(tmp_path):
    exp = tmp_path / "exp.yaml"
    exp.write_text("""
name: three codeact formats
agents:
  - {agent: codeact, action_format: code, label: codeact-code}
  - {agent: codeact, action_format: json, label: codeact-json}
  - {agent: codeact, action_format: text, label: codeact-text}
envs:
  - {name: gsm8k, limit: 2}
  - {name: humaneval, limit: 2}
models: [oracle]
seeds: 1
baseline: codeact-code
""")
    az("eval", exp, "--out", tmp_path / "file", cwd=tmp_path, timeout=300)
    summary = (tmp_path / "file" / "summary.md").read_text()
    for label in ("codeact-code", "codeact-json", "codeact-text"):
        assert label in summary
    from_file = rows_of(tmp_path / "file")
    assert len(from_file) == 3 * 2 * 2

    # The same matrix as flags: labels differ (flags name agents by their text), so compare per variant.
    az("eval", "--env", "gsm8k,humaneval", "--limit", "2", "--agent", "codeact", "--model", "oracle",
       "--out", tmp_path / "flags", cwd=tmp_path, timeout=300)
    from_flags = rows_of(tmp_path / "flags")
    assert len(from_flags) == 4
    for key, row in from_flags.items():
        twin = from_file[key.replace("|codeact|", "|codeact-code|")]
        assert {k: row[k] for k in STABLE if k != "agent"} == {k: twin[k] for k in STABLE if k != "agent"}


def test_experiment_file_errors_name_the_file_the_line_and_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("agents:\n  - agent: cot-sc\n    options: {n: 3}\n    colour: red\nenvs: [gsm8k]\nmodels: [oracle]\n")
    out = az("eval", bad, check=False, cwd=tmp_path)
    assert out.returncode == 2 and f"{bad}:4: agents.0.colour: unknown key" in out.stderr, out.stderr
    # a misspelling says what it is close to, and wins over the key it leaves missing
    bad.write_text("agents: [cot]\nenvs:\n  - {name: gsm8k, limit: 2}\nmodles: [oracle]\n")
    out = az("eval", bad, check=False, cwd=tmp_path)
    assert out.returncode == 2 and f"{bad}:4: modles: unknown key; did you mean 'models'?" in out.stderr, out.stderr
    bad.write_text("agents: [cot]\nenvs:\n  - {name: gsm8k, limitt: 2}\nmodels: [oracle]\n")
    out = az("eval", bad, check=False, cwd=tmp_path)
    assert out.returncode == 2 and f"{bad}:3: envs.0.limitt: unknown key; did you mean 'limit'?" in out.stderr
    bad.write_text("agents: [cot]\nenvs:\n  - {name: gsm8k, limit: 0}\nmodels: [oracle]\n")
    out = az("eval", bad, check=False, cwd=tmp_path)
    assert out.returncode == 2 and f"{bad}:3: envs.0.limit" in out.stderr and "greater than or equal to 1" in out.stderr
    bad.write_text("agents: [cot]\nenvs: [gsm8k]\nmodels: [oracle]\nbaseline: cot-sc\n")
    out = az("eval", bad, check=False, cwd=tmp_path)
    assert out.returncode == 2 and f"{bad}:4: baseline" in out.stderr and "not one of the agents' labels" in out.stderr


@pytest.mark.parametrize("example", sorted(p for p in (ROOT / "experiments").glob("*.yaml")
                                            if not p.name.startswith("synth-")), ids=lambda p: p.name)
def test_the_shipped_experiment_files_load(example):  # synthesis files (synth-*.yaml): tests/synth/test_synth_cli.py
    from agentzoo.eval.experiment import load_experiment

    the_plan = load_experiment(example)
    if len(the_plan.agents) == 1:  # one agent against its environment's own bar (MLAgentBench: beat the baseline script)
        assert the_plan.experiment.baseline is None
    else:  # a comparison names the agent the others are paired with
        assert the_plan.experiment.baseline in the_plan.agents


@pytest.mark.parametrize("flags,named", [
    (["--limit", "0"], "--limit"), (["--limit", "-1"], "--limit"), (["--seeds", "0"], "--seeds"),
    (["--concurrency", "0"], "--concurrency"), (["--max-steps", "0"], "--max-steps"),
    (["--budget-usd", "-2"], "--budget-usd"), (["--agent-opt", "n=x", "--agent", "cot-sc"], "option n='x'"),
    (["--agent", "cot", "--max-steps", "2"], "max_steps (--max-steps) does not apply to 'cot'"),
])
def test_eval_refuses_bad_values_before_any_model_call(tmp_path, flags, named):
    out = az("eval", "--env", "gsm8k", "--model", "oracle", "--out", tmp_path / "r", *flags, check=False, cwd=tmp_path)
    assert out.returncode == 2 and named in out.stderr, out.stdout + out.stderr
    assert not (tmp_path / "r" / "results.db").exists()


# --- user code under eval, and consent when a journal names it ------------------------------------

USER_ENV = '''
from agentzoo.envs.base import Episode, Score, Task
from agentzoo import tool


class Echo:
    """Say the word back."""
    name = "echo"
    answer_kind = "text"

    def __init__(self, tasks_file=None):
        self.words = ["apple", "pear", "plum"]

    def tasks(self):
        return [Task("echo", f"echo/{i}", f"Say {w}.", w) for i, w in enumerate(self.words)]

    def episode(self, task):
        @tool
        def shout(word: str) -> str:
            """Shout a word.

            Args:
                word: the word
            """
            return word.upper()
        return Episode(task, tools=[shout])

    async def score(self, episode, answer, scoring):
        ok = (answer or "").strip().lower() == episode.task.gold
        return Score(float(ok), ok)

    def oracle(self, task, agent):
        return [{"tool_calls": [{"name": "shout", "arguments": {"word": task.gold}}]}, task.gold]
'''

USER_AGENT = '''
from agentzoo import ToolCallingAgent


def build(model, tools=(), *, system=None, sampling=None, steps: int = 4):
    """Mine: a tool-calling agent with my own step limit."""
    return ToolCallingAgent(model, tools, system=system, max_steps=steps, sampling=sampling)
'''


def test_a_user_agent_and_a_user_environment_run_under_eval_and_need_consent_to_load_again(tmp_path):
    elsewhere = tmp_path / "mycode"
    elsewhere.mkdir()
    (elsewhere / "myenv.py").write_text(USER_ENV)
    (elsewhere / "myagent.py").write_text(USER_AGENT)
    env_name, agent_name = f"{elsewhere / 'myenv.py'}:Echo", f"{elsewhere / 'myagent.py'}:build"
    az("eval", "--env", env_name, "--agent", agent_name, "--agent-opt", "steps=3", "--model", "oracle",
       "--out", tmp_path / "r", cwd=tmp_path)
    rows = rows_of(tmp_path / "r")
    assert len(rows) == 3 and all(r["success"] and r["tool_calls"] == 1 for r in rows.values())
    run_id = next(iter(rows.values()))["run_id"]
    journal = tmp_path / "r" / "journal.db"
    # The journal names user code: replay loads none of it unless told (tools are stand-ins; the agent is code).
    out = az("replay", run_id, "--journal", journal, check=False, cwd=tmp_path)
    assert out.returncode == 2 and "without your consent" in out.stderr and "myagent.py" in out.stderr
    out = az("replay", run_id, "--journal", journal, "--agent", agent_name, cwd=tmp_path)
    assert "finished" in out.stdout
    az("replay", run_id, "--journal", journal, "--trust", cwd=tmp_path)


# --- bundles ----------------------------------------------------------------------------------------

def test_a_bundle_of_an_eval_replays_in_another_folder_with_no_model_call(tmp_path):
    home = tmp_path / "a"
    home.mkdir()
    az("eval", "--env", "gsm8k,humaneval", "--limit", "2", "--agent", "tool-calling,codeact", "--model", "oracle",
       "--out", home / "r", cwd=home, timeout=300)
    az("bundle", home / "r", "-o", tmp_path / "eval.azb", cwd=home)
    shutil.rmtree(home)  # nothing of the original folder is left
    other = tmp_path / "b"
    other.mkdir()
    out = az("replay", tmp_path / "eval.azb", cwd=other, env={"HOME": str(other)})
    assert "replayed 8 runs" in out.stdout and "8 finished as recorded, 0 failed" in out.stdout
    exported = az("export", tmp_path / "eval.azb", cwd=other).stdout.strip().splitlines()
    assert len(exported) == 8 and all(json.loads(line)["messages"] for line in exported)
    shown = az("show", tmp_path / "eval.azb", cwd=other)
    assert "8 runs in" in shown.stdout
    assert not list(other.iterdir()), "opening a bundle writes nothing into the working folder"


def test_a_bundle_is_refused_when_it_is_not_one(tmp_path):
    fake = tmp_path / "x.azb"
    fake.write_bytes(b"PK\x03\x04 not really a zip")
    out = az("replay", fake, check=False, cwd=tmp_path)
    assert out.returncode == 2 and "is not an agentzoo bundle" in out.stderr, out.stderr


# --- runs that rebuild themselves -------------------------------------------------------------------

def test_a_team_recipe_run_made_by_eval_in_a_tool_environment_replays_and_forks_from_the_command_line(tmp_path):
    az("eval", "--env", "tau-retail", "--agent", "magentic-one", "--model", "oracle", "--limit", "1", "--no-anchor",
       "--out", tmp_path / "r", cwd=tmp_path, timeout=300)
    (row,) = rows_of(tmp_path / "r").values()
    assert row["success"] and row["tool_calls"] > 0
    journal = tmp_path / "r" / "journal.db"
    replayed = az("replay", row["run_id"], "--journal", journal, cwd=tmp_path)
    assert f"run {row['run_id']} · finished" in replayed.stdout and f"{row['tool_calls']} tool calls" in replayed.stdout
    forked = az("fork", row["run_id"], "--journal", journal, "--set", "magentic-one.max_json_retries=2",
                "--set", "sampling.temperature=0.2", cwd=tmp_path)
    assert f"diverged from {row['run_id']} at scope 'orchestrator' seq 0: $.temperature added" in forked.stdout
    with Journal(journal) as j:
        child = next(r for r in j.list_runs(10) if r.parent_id == row["run_id"])
    assert child.config["options"]["max_json_retries"] == 2 and child.config["sampling"]["temperature"] == 0.2
    assert child.config["env"]["name"] == "tau-retail" and child.status == "finished"


def test_a_run_started_from_python_with_a_built_agent_replays_from_the_command_line(tmp_path):
    code = f'''
import asyncio, json
import agentzoo
from agentzoo.builder import build
from agentzoo.runtime.spec import AgentSpec

open({str(tmp_path / "s.json")!r}, "w").write(json.dumps([{{"tool_calls": [{{"name": "add", "arguments": {{"a": 2, "b": 3}}}}]}}, "5"]))
built = build(AgentSpec(agent="tool-calling", model="scripted:{tmp_path / "s.json"}", tools=["{TOOLS}"]))
with agentzoo.Journal({str(tmp_path / "j.db")!r}) as journal:
    result = asyncio.run(agentzoo.run(built.agent, "2+3?", journal=journal))  # no config given
print(result.run_id)
'''
    made = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    out = az("replay", "latest", "--journal", tmp_path / "j.db", cwd=tmp_path)
    assert "answer: 5" in out.stdout and "1 tool calls" in out.stdout


def test_a_run_of_a_hand_made_agent_says_why_it_cannot_rebuild(tmp_path):
    import asyncio

    import agentzoo
    from agentzoo import ScriptedModel, ToolCallingAgent

    with Journal(tmp_path / "j.db") as journal:
        asyncio.run(agentzoo.run(ToolCallingAgent(ScriptedModel(["hi"])), "q", journal=journal))
    out = az("replay", "latest", "--journal", tmp_path / "j.db", check=False, cwd=tmp_path)
    assert out.returncode == 2 and "started from Python with an agent made by hand" in out.stderr
