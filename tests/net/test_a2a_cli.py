"""A remote A2A agent named on the command line (`agentzoo run --a2a-agent URL`) or in a spec (`a2a:`) is a
tool the agent calls: named and described by its card, journaled, replayed with its server stopped, and only
sent tasks from a journal with the user's consent."""

from __future__ import annotations

import json

import pytest
from test_a2a import serve  # tests/net/test_a2a.py: an `agentzoo serve --a2a` process on a scripted model

from agentzoo import Journal
from agentzoo.builder import Trust, build
from agentzoo.errors import UntrustedCodeError
from agentzoo.runtime.spec import AgentSpec
from helpers import cli

REMOTE_ANSWER = "Paris."


def agentzoo(*args, cwd):
    return cli.agentzoo(*args, cwd=cwd, env={"AGENTZOO_OFFLINE": "1", "AGENTZOO_JOURNAL": str(cwd / "journal.db")},
                        check=False, timeout=120)


def test_a_remote_agent_named_on_the_command_line_is_a_tool_and_replays_with_its_server_stopped(tmp_path):
    server = serve(tmp_path / "remote", [REMOTE_ANSWER])
    script = tmp_path / "ask.json"  # the served agent's card names it `tool-calling`
    script.write_text(json.dumps([{"tool_calls": [{"name": "tool-calling", "arguments": {"task": "Capital of France?"}}]},
                                  "The remote agent says: Paris."]))
    try:
        done = agentzoo("run", "Ask the remote agent", "--a2a-agent", server.url, "--model", f"scripted:{script}",
                        cwd=tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "← tool-calling Paris." in done.stdout and "answer: The remote agent says: Paris." in done.stdout
        assert len(server.runs("Capital of France?")) == 1
    finally:
        server.stop()
    again = agentzoo("replay", "latest", cwd=tmp_path)  # the server is gone: every effect comes from the journal
    assert again.returncode == 0, again.stdout + again.stderr
    assert "answer: The remote agent says: Paris." in again.stdout
    with Journal(tmp_path / "journal.db") as journal:  # the run's spec names the remote agent, for resume and fork
        assert journal.list_runs(1)[0].config["a2a"] == [{"url": server.url}]


def test_a_remote_agent_a_journal_names_is_not_sent_tasks_without_consent(tmp_path):
    (tmp_path / "x.json").write_text('["hi"]')
    spec = AgentSpec(model=f"scripted:{tmp_path / 'x.json'}", a2a=["http://127.0.0.1:9/"])
    with pytest.raises(UntrustedCodeError, match=r"remote A2A agent 'http://127.0.0.1:9/'.*--trust"):
        build(spec, trust=Trust())
    assert build(spec, trust=Trust(names=frozenset({"http://127.0.0.1:9/"}))).spec.recorded_tools[0].name == "remote_agent"


def test_a_remote_agent_must_be_an_http_url(tmp_path):
    done = agentzoo("run", "hi", "--a2a-agent", "ftp://example.org/", "--model", "scripted:x.json", cwd=tmp_path)
    assert done.returncode == 2 and "must be an http(s):// URL of an A2A agent" in done.stdout + done.stderr
    with pytest.raises(ValueError, match="http"):
        AgentSpec(model="m", a2a=[{"url": "not a url"}])
