"""The command line, as a user runs it: real processes, a fake OpenAI-compatible server."""

import json
from pathlib import Path

import pytest

from agentzoo import Journal
from agentzoo.testing.fake_openai import FakeOpenAIServer, add_agent
from helpers.cli import agentzoo

ROOT = Path(__file__).parent.parent
TOOLS = "agentzoo.examples.demo:add"


def az(*args, env=None, check=True, cwd=None):
    return agentzoo(*args, env=env, check=check, cwd=cwd, timeout=60)


def test_demo_runs_without_a_model_and_says_how_to_configure_one(tmp_path):
    out = az("demo", "--scripted", "--journal", tmp_path / "j.db")  # without it: the local model (tests/models)
    assert "Running the shipped example with a scripted model" in out.stdout
    assert "answer: (17 + 25) * 3 = 126" in out.stdout
    assert "→ add(" in out.stdout and "← add 42" in out.stdout and "← multiply 126" in out.stdout
    assert "export OPENAI_API_KEY" in out.stdout and "openai-compatible:<model-name>@<base_url>" in out.stdout


def test_run_without_a_model_says_exactly_what_to_set(tmp_path):
    out = az("run", "hello", "--journal", tmp_path / "j.db", check=False)
    assert out.returncode == 2
    assert "No model is configured" in out.stderr and "AGENTZOO_MODEL" in out.stderr
    assert "http://localhost:11434/v1" in out.stderr


@pytest.mark.parametrize("spec,message", [
    ("gpt-4o", "expected <kind>:<details>"),
    ("openai:gpt-4o-mini", "needs OPENAI_API_KEY"),
    ("openai-compatible:llama", "expected openai-compatible:<model-name>@<base_url>"),
    # an endpoint of one's own under the wrong kind would be sent to api.openai.com as a model's name
    ("openai:llama@http://127.0.0.1:9/v1", "a server of your own is openai-compatible:llama@http://127.0.0.1:9/v1"),
    ("scripted:/nope.json", "scripted model file /nope.json"),
    ("claude:opus", "unknown kind 'claude'"),
])
def test_bad_model_strings_are_named(tmp_path, spec, message):
    out = az("run", "x", "--model", spec, "--journal", tmp_path / "j.db", check=False)
    assert out.returncode == 2 and message in out.stderr


def test_bad_tool_spec_is_named(tmp_path):
    script = Path(__file__).parent.parent / "src/agentzoo/examples/demo_script.json"
    out = az("run", "x", "--model", f"scripted:{script}", "--tools", "agentzoo.examples.demo:nope",
             "--journal", tmp_path / "j.db", check=False)
    assert out.returncode == 2 and "has no 'nope'" in out.stderr


def test_a_tool_module_in_the_current_folder_named_as_a_module_says_to_name_its_file(tmp_path):
    script = Path(__file__).parent.parent / "src/agentzoo/examples/demo_script.json"
    (tmp_path / "mytools.py").write_text("def add(a: int, b: int) -> int:\n    return a + b\n")
    (tmp_path / "broken.py").write_text("import no_such_dependency_here\n")
    run = ("run", "x", "--model", f"scripted:{script}", "--journal", tmp_path / "j.db")
    # `python -m` puts the current folder on the path: the console script a user runs does not
    out = az(*run, "--tools", "mytools:add", check=False, cwd=tmp_path, env={"PYTHONSAFEPATH": "1"})
    assert out.returncode == 2 and "mytools.py is in this folder: name it by its file, mytools.py:add" in out.stderr
    # the file is found, and fails on an import of its own: that is what is said, with no hint
    out = az(*run, "--tools", "broken:add", check=False, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert out.returncode == 2 and "No module named 'no_such_dependency_here'" in out.stderr
    assert "in this folder" not in out.stderr


def test_run_streams_steps_then_replay_reproduces_it_byte_for_byte_offline(tmp_path):
    journal = tmp_path / "j.db"
    with FakeOpenAIServer(add_agent(4)) as srv:
        live = az("run", "Add things up.", "--model", f"openai-compatible:fake@{srv.base_url}", "--tools", TOOLS,
                  "--journal", journal)
        assert srv.count == 4
    # The server is gone: a replay that touched the network would fail.
    replayed = az("replay", "latest", "--journal", journal)
    live_lines = live.stdout.splitlines()
    assert live_lines[0].startswith("model openai-compatible:fake@")
    assert replayed.stdout.splitlines() == live_lines[1:]
    assert "step 4 model fake" in replayed.stdout and "answer: The answer is 6." in replayed.stdout
    with Journal(journal) as j:
        assert len(j.list_runs()) == 1  # replay writes nothing


def test_fork_with_a_changed_system_prompt_reports_where_it_diverged(tmp_path):
    journal = tmp_path / "j.db"
    with FakeOpenAIServer(add_agent(3)) as srv:
        az("run", "Add.", "--model", f"openai-compatible:fake@{srv.base_url}", "--tools", TOOLS, "--journal", journal)
        parent_calls = srv.count
        out = az("fork", "latest", "--system", "Be terse.", "--journal", journal)
        assert srv.count == parent_calls * 2  # every call diverged: the system prompt is in each
    assert "diverged from" in out.stdout and "at scope '<root>' seq 0" in out.stdout
    assert "$.messages[0] has" not in out.stdout and "$.messages" in out.stdout
    with Journal(journal) as j:
        child, parent = j.list_runs()
        assert child.parent_id == parent.run_id and child.config["system"] == "Be terse."
    shown = az("show", child.run_id, "--journal", journal)
    assert f"forked from {parent.run_id}" in shown.stdout and "diverged from parent at scope '<root>' seq 0" in shown.stdout


def test_fork_without_changes_is_served_entirely(tmp_path):
    journal = tmp_path / "j.db"
    with FakeOpenAIServer(add_agent(3)) as srv:
        az("run", "Add.", "--model", f"openai-compatible:fake@{srv.base_url}", "--tools", TOOLS, "--journal", journal)
        out = az("fork", "latest", "--journal", journal)
        assert srv.count == 3
    assert "no divergence" in out.stdout and out.stdout.count("(from journal)") == 5


def test_runs_show_and_export(tmp_path):
    journal = tmp_path / "j.db"
    az("demo", "--scripted", "--journal", journal)
    runs = az("runs", "--journal", journal)
    assert "finished" in runs.stdout and "What is (17 + 25)" in runs.stdout
    shown = az("show", "latest", "--journal", journal)
    assert "answer: (17 + 25) * 3 = 126" in shown.stdout and "per scope" in shown.stdout
    as_json = az("show", "latest", "--json", "--journal", journal)
    assert [json.loads(line)["kind"] for line in as_json.stdout.splitlines()] == ["model", "tool", "model", "tool", "model"]

    openai_line = json.loads(az("export", "latest", "--format", "openai-jsonl", "--journal", journal).stdout)
    roles = [m["role"] for m in openai_line["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert openai_line["messages"][2]["tool_calls"][0]["function"] == {"name": "add", "arguments": '{"a":17,"b":25}'}
    assert openai_line["tools"][0]["function"]["name"] == "add"

    out_file = tmp_path / "train.jsonl"
    az("export", "latest", "--format", "sharegpt", "--out", out_file, "--journal", journal)
    record = json.loads(out_file.read_text())
    assert [(t["from"], t["loss"]) for t in record["conversations"]] == [
        ("human", False), ("gpt", True), ("function_call", True), ("observation", False),
        ("gpt", True), ("function_call", True), ("observation", False), ("gpt", True)]
    assert json.loads(record["conversations"][2]["value"]) == {"name": "add", "arguments": {"a": 17, "b": 25}}

    bad = az("export", "latest", "--format", "alpaca", "--journal", journal, check=False)
    assert bad.returncode == 2 and "openai-jsonl, sharegpt" in bad.stderr
    missing = az("show", "nope", "--journal", journal, check=False)
    assert missing.returncode == 1 and "no run 'nope'" in missing.stderr


def test_budget_flag_stops_the_run_with_a_clear_error(tmp_path):
    with FakeOpenAIServer(add_agent(5)) as srv:
        out = az("run", "Add.", "--model", f"openai-compatible:fake@{srv.base_url}", "--tools", TOOLS,
                 "--budget-calls", "2", "--journal", tmp_path / "j.db", check=False)
        assert srv.count == 2
    assert out.returncode == 1
    assert "failed: BudgetExceeded: budget 'model_calls' of the run ran out: used 2 of 2" in out.stdout


def test_react_format_against_the_server(tmp_path):
    replies = [{"content": "Thought: add\nAction: add\nAction Input: {\"a\": 2, \"b\": 2}"},
               {"content": "Thought: done\nFinal Answer: 4"}]
    with FakeOpenAIServer(replies) as srv:
        out = az("run", "2+2?", "--format", "react", "--model", f"openai-compatible:fake@{srv.base_url}",
                 "--tools", TOOLS, "--journal", tmp_path / "j.db")
        assert "tools" not in srv.requests[0] and srv.requests[0]["stop"] == ["\nObservation:"]
        assert srv.requests[1]["messages"][-1] == {"role": "user", "content": "Observation: 4"}
    assert "answer: 4" in out.stdout


def test_api_key_never_reaches_the_journal_or_the_output(tmp_path):
    journal = tmp_path / "j.db"
    key = "sk-test-NEVER-SHOW-ME-42"
    with FakeOpenAIServer([{"content": "hi"}, {"status": 401, "echo_authorization": True}]) as srv:
        ok = az("run", "hi", "--model", f"openai-compatible:fake@{srv.base_url}", "--journal", journal,
                env={"AGENTZOO_API_KEY": key})
        assert srv.headers[0]["Authorization"] == f"Bearer {key}"
        failed = az("run", "hi", "--model", f"openai-compatible:fake@{srv.base_url}", "--journal", journal,
                    env={"AGENTZOO_API_KEY": key}, check=False)
    assert failed.returncode == 1 and "AuthenticationError" in failed.stdout
    for text in (ok.stdout, ok.stderr, failed.stdout, failed.stderr):
        assert key not in text and "NEVER-SHOW" not in text
    for path in tmp_path.iterdir():
        assert b"NEVER-SHOW" not in path.read_bytes(), path


def test_stream_flag_shows_text_as_it_arrives(tmp_path):
    with FakeOpenAIServer([{"content": "The answer is forty-two."}]) as srv:
        out = az("run", "Answer.", "--stream", "--model", f"openai-compatible:fake@{srv.base_url}",
                 "--journal", tmp_path / "j.db")
        assert srv.requests[0]["stream"] is True
    assert "step 1 streaming: The answer is forty-two." in out.stdout
    assert "answer: The answer is forty-two." in out.stdout


def test_run_a_codeact_agent_from_the_command_line(tmp_path):
    script = tmp_path / "script.json"
    code = "total = 0\nfor n in (1, 2, 3):\n    total = add(total, n)\nprint(total)"
    script.write_text(json.dumps([f"Action:\n{code}\nEnd Action", "Answer: 6"]))
    out = az("run", "Add 1, 2 and 3.", "--agent", "codeact", "--model", f"scripted:{script}", "--tools", TOOLS,
             "--max-steps", "3", "--journal", tmp_path / "j.db")
    assert "answer: 6" in out.stdout and "sandbox exec" in out.stdout
    with Journal(tmp_path / "j.db") as j:
        run = j.list_runs()[0]
        assert run.config["agent"] == "codeact" and run.config["max_steps"] == 3 and run.config["version"] == 1
        kinds = [(e.scope, e.kind) for e in j.entries(run.run_id)]
    assert kinds.count(("code#1", "tool")) == 3 and kinds.count(("", "sandbox")) == 1


def test_commands_that_read_runs_refuse_a_journal_that_is_not_there_and_make_none(tmp_path):
    """A mistyped --journal used to become a new empty journal ("has no runs yet"), left behind."""
    for command in (["show", "latest"], ["replay", "latest"], ["export", "latest"], ["resume", "latest"],
                    ["runs"], ["bundle", "latest", "-o", tmp_path / "b.azb"]):
        out = az(*command, "--journal", tmp_path / "typo" / "j.db", check=False, cwd=tmp_path)
        assert out.returncode == 2 and f"no journal at {tmp_path / 'typo' / 'j.db'}: check the path" in out.stderr, \
            (command, out.stderr)
    assert list(tmp_path.iterdir()) == []
    # no journal yet where the default one would be: said as such, and still nothing made
    out = agentzoo("runs", check=False, cwd=tmp_path, unset=("AGENTZOO_JOURNAL",))
    assert out.returncode == 0 and "no runs in .agentzoo/journal.db yet; try `agentzoo demo`" in out.stdout
    out = agentzoo("show", "latest", check=False, cwd=tmp_path, unset=("AGENTZOO_JOURNAL",))
    assert out.returncode == 2 and "no run has been made here yet" in out.stderr
    assert list(tmp_path.iterdir()) == []
