"""`agentzoo mcp serve`, driven by the official MCP client against a real server process (stdio and HTTP)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client, MCPError, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from agentzoo import Journal
from helpers.cli import agentzoo

TOOLS_FILE = '''
from agentzoo.tools import tool


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first addend
        b: the second addend
    """
    return a + b


@tool(touches={"write"})
def save(path: str, text: str) -> dict:
    """Write text to a file."""
    with open(path, "w") as f:
        f.write(text)
    return {"path": path, "chars": len(text)}
'''

# A model that is a function of the request: it answers each task by name, fails on request, and holds
# tasks named "together" until three of them are in flight at once (so serialised calls would never finish).
MODEL_FILE = '''
import asyncio
import sys
import types

from agentzoo.errors import QuotaExceededError

# The file is loaded again for every run's model: what the runs share lives in a module of its own.
state = sys.modules.setdefault("mcp_test_together", types.ModuleType("mcp_test_together"))


async def play(request):
    task = next(m["content"] for m in request.messages if m["role"] == "user")
    if task.startswith("fail"):
        return QuotaExceededError("the provider's quota is used up")
    if task.startswith("together"):
        if not hasattr(state, "everyone"):
            state.everyone, state.arrived = asyncio.Event(), set()
        state.arrived.add(task)
        if len(state.arrived) == 3:
            state.everyone.set()
        await asyncio.wait_for(state.everyone.wait(), 60)
    return f"answer to: {task}"
'''

SCRIPT = [{"content": "Adding.", "tool_calls": [{"name": "add", "arguments": {"a": 2, "b": 3}}]}, "The sum is 5."]


def serve_args(*args) -> list[str]:
    return ["-m", "agentzoo.cli.main", "mcp", "serve", *map(str, args)]


def az(*args, check=True):
    return agentzoo(*args, check=check, timeout=60)


@asynccontextmanager
async def stdio_session(*args):
    params = StdioServerParameters(command=sys.executable, args=serve_args(*args), env=dict(os.environ))
    async with Client(params) as client:
        yield client


@pytest.fixture
def files(tmp_path):
    (tmp_path / "tools.py").write_text(TOOLS_FILE)
    (tmp_path / "model.py").write_text(MODEL_FILE)
    (tmp_path / "script.json").write_text(json.dumps(SCRIPT))
    return tmp_path


async def test_function_tools_are_listed_with_their_schema_and_hints_and_called_over_stdio(files):
    async with stdio_session("--tools", f"{files}/tools.py:add,{files}/tools.py:save") as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        assert list(listed) == ["add", "save"]
        assert listed["add"].description == "Add two integers."
        assert listed["add"].input_schema["properties"]["a"] == {"type": "integer", "description": "the first addend"}
        assert listed["add"].input_schema["required"] == ["a", "b"]
        assert listed["add"].annotations.read_only_hint is True and listed["add"].annotations.open_world_hint is False
        assert listed["save"].annotations.read_only_hint is False and listed["save"].annotations.destructive_hint

        added = await client.call_tool("add", {"a": 2, "b": 40})
        assert not added.is_error and added.content[0].text == "42"
        saved = await client.call_tool("save", {"path": str(files / "out.txt"), "text": "hello"})
        assert saved.structured_content == {"path": str(files / "out.txt"), "chars": 5}
        assert (files / "out.txt").read_text() == "hello"

        bad = await client.call_tool("add", {"a": "two"})  # a tool error the calling model can read, not a crash
        assert bad.is_error
        assert bad.content[0].text.splitlines() == [
            "invalid arguments for add:",
            '- a: Input should be a valid integer, unable to parse string as an integer (got "two")',
            "- b: Field required"]
        with pytest.raises(MCPError, match="there is no tool 'subtract'; the tools are add, save"):
            await client.call_tool("subtract", {"a": 1, "b": 2})
        assert (await client.call_tool("add", {"a": 1, "b": 1})).content[0].text == "2"  # the server lives on


async def test_an_agent_call_is_a_run_in_the_journal_that_replays_without_the_model(files):
    journal = files / "j.db"
    script = files / "script.json"
    async with stdio_session("--agent", "adder=tool-calling", "--model", f"scripted:{script}",
                             "--agent-tools", f"{files}/tools.py:add", "--journal", journal) as client:
        (tool,) = (await client.list_tools()).tools
        assert tool.name == "adder" and "It may use these tools: add." in tool.description
        assert tool.input_schema["required"] == ["task"] and tool.output_schema["required"][:2] == ["answer", "run_id"]
        assert tool.annotations.read_only_hint is True and tool.annotations.open_world_hint is True

        result = await client.call_tool("adder", {"task": "What is 2 + 3?"})
        assert not result.is_error and result.content[0].text == "The sum is 5."
        data = result.structured_content
        assert data["answer"] == "The sum is 5." and data["status"] == "finished" and data["cost_usd"] == 0
        assert data["usage"]["input_tokens"] > 0 and data["usage"]["output_tokens"] > 0

        missing = await client.call_tool("adder", {"question": "2 + 3?"})
        assert missing.is_error and "- task: Field required" in missing.content[0].text
        assert "- question: Extra inputs are not permitted" in missing.content[0].text

    run_id = data["run_id"]
    with Journal(journal) as j:
        assert [r.run_id for r in j.list_runs()] == [run_id]  # the bad call started no run
        run = j.get_run(run_id)
        assert run.status == "finished" and run.task == "What is 2 + 3?" and run.answer == "The sum is 5."
        assert [e.kind for e in j.entries(run_id)] == ["model", "tool", "model"]
    shown = az("show", run_id, "--journal", journal).stdout
    assert "task: What is 2 + 3?" in shown and "answer: The sum is 5." in shown

    script.unlink()  # no model to call: the replay serves every effect from the journal
    replayed = az("replay", run_id, "--journal", journal).stdout
    assert "answer: The sum is 5." in replayed and "finished" in replayed


async def test_one_server_publishes_several_agents_each_with_its_own_options(files):
    journal = files / "j.db"
    async with stdio_session("--agent", "tool-calling", "--agent", "thinker=cot@zero-shot",
                             "--agent-opt", "tool-calling.repeat_limit=5", "--model", f"scripted:{files}/model.py:play",
                             "--journal", journal) as client:
        listed = (await client.list_tools()).tools
        assert [t.name for t in listed] == ["tool-calling", "thinker"]
        assert listed[1].description.startswith('Give a task to the agentzoo agent "cot": Chain-of-thought')
        first = await client.call_tool("tool-calling", {"task": "one"})
        second = await client.call_tool("thinker", {"task": "two"})
    with Journal(journal) as j:
        acting, thinking = (j.get_run(r.structured_content["run_id"]) for r in (first, second))
    assert acting.config["options"] == {"repeat_limit": 5}
    assert thinking.config["agent"] == "cot" and thinking.config["preset"] == "zero-shot"
    assert "repeat_limit" not in thinking.config["options"]


def test_two_tools_of_one_name_are_refused_at_start(files):
    out = az("mcp", "serve", "--tools", f"{files}/tools.py:add", "--agent", "add=tool-calling",
             "--model", f"scripted:{files}/script.json", check=False)
    assert out.returncode == 2
    assert "two published tools are named 'add': name an agent's tool with --agent TOOL=AGENT" in out.stderr


@pytest.mark.parametrize("touches,read_only,destructive,open_world", [
    ((), True, None, False),
    (("read",), True, None, False),
    (("read", "write"), False, True, False),
    (("network",), False, False, True),
    (("money",), False, True, True),
])
def test_what_a_tool_touches_becomes_its_mcp_hints(touches, read_only, destructive, open_world):
    from agentzoo.server.mcp_server import annotations_for

    hints = annotations_for(touches)
    assert (hints.read_only_hint, hints.destructive_hint, hints.open_world_hint) == (read_only, destructive, open_world)


async def test_concurrent_calls_of_an_agent_are_separate_runs(files):
    journal = files / "j.db"
    async with stdio_session("--agent", "tool-calling", "--model", f"scripted:{files}/model.py:play",
                             "--journal", journal) as client:
        tasks = [f"together {n}" for n in range(3)]  # each run's model waits until all three runs are under way
        results = await asyncio.gather(*(client.call_tool("tool-calling", {"task": t}) for t in tasks))
    assert [r.content[0].text for r in results] == [f"answer to: {t}" for t in tasks]
    run_ids = [r.structured_content["run_id"] for r in results]
    assert len(set(run_ids)) == 3
    with Journal(journal) as j:
        assert {j.get_run(rid).task: j.get_run(rid).answer for rid in run_ids} == {t: f"answer to: {t}" for t in tasks}


async def test_a_failed_run_is_a_tool_error_that_names_its_run(files):
    journal = files / "j.db"
    async with stdio_session("--agent", "tool-calling", "--model", f"scripted:{files}/model.py:play",
                             "--journal", journal) as client:
        result = await client.call_tool("tool-calling", {"task": "fail, please"})
    data = result.structured_content
    assert result.is_error and data["status"] == "failed" and data["answer"] is None
    assert data["error"] == {"type": "QuotaExceededError", "message": "the provider's quota is used up"}
    assert result.content[0].text == (f"the run {data['run_id']} failed: QuotaExceededError: "
                                      "the provider's quota is used up")
    with Journal(journal) as j:
        assert j.get_run(data["run_id"]).status == "failed"


async def test_streamable_http_on_loopback_answers_only_callers_with_the_key(files):
    journal = files / "j.db"
    server = subprocess.Popen([sys.executable, *serve_args(
        "--http", "--port", 0, "--api-key", "s3cret", "--tools", f"{files}/tools.py:add", "--agent", "tool-calling",
        "--model", f"scripted:{files}/model.py:play", "--journal", journal)], stdout=subprocess.PIPE, text=True)
    try:
        banner = server.stdout.readline()
        assert banner.startswith("agentzoo mcp: serving add, tool-calling at http://127.0.0.1:"), banner
        url = banner.split(" at ")[1].split(",")[0]
        async with httpx2.AsyncClient() as anonymous:
            refused = await anonymous.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
        assert refused.status_code == 401 and "Bearer" in refused.json()["error"]

        async with httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"}) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                assert [t.name for t in (await client.list_tools()).tools] == ["add", "tool-calling"]
                assert (await client.call_tool("add", {"a": 1, "b": 2})).content[0].text == "3"
                result = await client.call_tool("tool-calling", {"task": "over HTTP"})
        assert result.content[0].text == "answer to: over HTTP"
    finally:
        server.terminate()
        server.wait(timeout=30)
    with Journal(journal) as j:
        assert j.get_run(result.structured_content["run_id"]).answer == "answer to: over HTTP"


def test_refuses_to_serve_beyond_loopback_without_a_key(files):
    env = {k: v for k, v in os.environ.items() if k != "AGENTZOO_SERVE_KEY"}
    out = subprocess.run([sys.executable, *serve_args("--http", "--host", "0.0.0.0", "--tools", f"{files}/tools.py:add")],
                         capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2 and out.stdout == ""
    assert "--host 0.0.0.0 serves beyond this machine: give --api-key KEY" in out.stderr


def test_over_stdio_only_protocol_messages_reach_stdout(tmp_path):
    """A tool that prints (when loaded and when called) and a child process that writes to fd 1 must not put a
    byte between the protocol's messages: it all goes to stderr. Spoken by hand (the 2025-06-18 handshake), so
    that every line of stdout is seen, and without PYTHONUNBUFFERED, as a client launches it."""
    (tmp_path / "noisy.py").write_text(textwrap.dedent('''
        import os, subprocess, sys
        print("loading the noisy tools")

        def shout(text: str) -> str:
            """Shout."""
            print("shouting", text)
            subprocess.run([sys.executable, "-c", "print('a child process speaks')"], check=True)
            os.write(1, b"a raw write to fd 1\\n")
            return text.upper()
    '''))
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "shout", "arguments": {"text": "hi"}}},
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    server = subprocess.Popen([sys.executable, *serve_args("--tools", f"{tmp_path}/noisy.py:shout")], env=env,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    replies = []
    for message in messages:
        server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()
        if "id" in message:
            replies.append(json.loads(server.stdout.readline()))
    out, err = server.communicate(timeout=60)  # closing stdin ends the session
    assert server.returncode == 0, err
    assert replies[0]["result"]["serverInfo"]["name"] == "agentzoo"
    assert replies[1]["result"]["content"] == [{"type": "text", "text": "HI"}]
    assert out == ""
    for noise in ("loading the noisy tools", "shouting hi", "a child process speaks", "a raw write to fd 1"):
        assert noise in err
