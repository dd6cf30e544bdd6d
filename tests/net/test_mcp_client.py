"""Tools from MCP servers as journaled effects: real registry servers (mcp-server-time, mcp-server-git on a
temporary repository), the command line (run, replay with the server gone, resume after SIGKILL), streamable
HTTP, and a hostile server (tests/helpers/hostile_mcp.py) that hangs, crashes, breaks its schema or floods."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel, ToolCallingAgent
from agentzoo.builder import Trust, build, build_async
from agentzoo.errors import ConfigError, McpSchemaError, McpStartError, UntrustedCodeError
from agentzoo.models.registry import model_name_of
from agentzoo.net.mcp_client import McpServers
from agentzoo.runtime import runner
from agentzoo.runtime.spec import AgentSpec, McpServerSpec
from agentzoo.tools import ApprovalPolicy
from helpers import cli

PY = sys.executable
HELPERS = Path(__file__).parent.parent / "helpers"
HOSTILE = f"{PY} {HELPERS / 'hostile_mcp.py'}"
TIME = f"{PY} -m mcp_server_time --local-timezone Europe/Paris"


def call(name, arguments, id="c1"):
    return {"tool_calls": [{"id": id, "name": name, "arguments": arguments}]}


def tool_messages(model):
    """The tool messages the model was sent, in order."""
    return [m for m in model.requests[-1].messages if m["role"] == "tool"]


def tool_entries(journal, run_id):
    return [e for e in journal.entries(run_id) if e.kind == "tool"]


def alive(pid):
    """The process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.fixture
def repo(tmp_path):
    path = tmp_path / "repo"
    path.mkdir()
    git = ["git", "-C", str(path), "-c", "user.name=Ada", "-c", "user.email=ada@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    (path / "notes.txt").write_text("first\n")
    subprocess.run([*git, "add", "notes.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "Add the first notes"], check=True)
    (path / "todo.txt").write_text("untracked\n")
    return path


async def run_spec(spec, script, journal, **options):
    """Build `spec` with its MCP servers, run it on a scripted model, stop the servers."""
    model = ScriptedModel(script, name=model_name_of(spec.model))  # the name a replay's stand-in model has
    built = await build_async(spec, model=model, **options)
    try:
        result = await runner.run(built.agent, "task", journal=journal, config=built.spec.to_config())
    finally:
        await built.aclose()
    return result, model, built


# --- real registry servers -------------------------------------------------------------------------


async def test_time_server_result_reaches_the_model_and_the_journal(journal):
    spec = AgentSpec(model="scripted", mcp=[TIME])
    script = [call("get_current_time", '{"timezone": "Asia/Tokyo"}'), "It is late in Tokyo."]
    result, model, built = await run_spec(spec, script, journal)

    assert result.ok and result.answer == "It is late in Tokyo."
    sent = json.loads(tool_messages(model)[0]["content"])  # its structured result, as JSON
    assert sent["timezone"] == "Asia/Tokyo" and set(sent) == {"timezone", "datetime", "day_of_week", "is_dst"}
    [entry] = tool_entries(journal, result.run_id)
    assert entry.name == "get_current_time" and entry.status == "ok" and not entry.side_effects
    assert json.loads(entry.result["content"]) == sent
    # The journal's config says which servers the run used, and holds their tools' schemas for a replay.
    config = journal.get_run(result.run_id).config
    assert config["mcp"] == [{"server": TIME}]
    recorded = {t["name"]: t for t in config["recorded_tools"]}
    assert set(recorded) == {"get_current_time", "convert_time"}
    assert recorded["get_current_time"]["touches"] == ["read"]  # it declares readOnlyHint
    assert recorded["get_current_time"]["parameters"]["required"] == ["timezone"]


async def test_git_server_on_a_temporary_repository(journal, repo):
    spec = AgentSpec(model="scripted", mcp=[f"{PY} -m mcp_server_git --repository {repo}"])
    script = [call("git_status", json.dumps({"repo_path": str(repo)})),
              call("git_log", json.dumps({"repo_path": str(repo)}), id="c2"), "One commit, one untracked file."]
    result, model, built = await run_spec(spec, script, journal)

    assert result.ok
    status, log = tool_messages(model)
    assert "todo.txt" in status["content"] and "Add the first notes" in log["content"]
    entries = tool_entries(journal, result.run_id)
    assert [e.name for e in entries] == ["git_status", "git_log"] and all(e.status == "ok" for e in entries)
    touches = {t.name: t.touches for t in built.spec.recorded_tools}
    assert touches["git_log"] == ["read"] and touches["git_commit"] == ["write"]


async def test_a_replay_needs_no_server(journal, repo):
    spec = AgentSpec(model="scripted", mcp=[f"{PY} -m mcp_server_git --repository {repo}"])
    script = [call("git_log", json.dumps({"repo_path": str(repo)})), "done"]
    result, model, _ = await run_spec(spec, script, journal)
    subprocess.run(["rm", "-rf", str(repo)], check=True)

    stored = AgentSpec.from_config(journal.get_run(result.run_id).config)
    again = build(stored, replay=True)  # no server is started, no command run
    replayed = await runner.replay(again.agent, result.run_id, journal=journal)
    assert replayed.ok, replayed.error
    assert replayed.live_effects == 0 and replayed.messages == result.messages
    assert "Add the first notes" in replayed.messages[2]["content"]


async def test_servers_a_journal_names_need_consent(journal):
    spec = AgentSpec(model="scripted", mcp=[HOSTILE])
    with pytest.raises(UntrustedCodeError, match="hostile_mcp.py") as info:
        await build_async(spec, trust=Trust())
    assert "--trust" in str(info.value)
    with pytest.raises(ConfigError, match="build_async"):  # a sync build cannot start them
        build(spec, model=ScriptedModel(["unused"]))


# --- behaviour the agent depends on ---------------------------------------------------------------


async def test_arguments_are_checked_against_the_declared_schema_before_the_call(journal, tmp_path):
    counter = tmp_path / "calls.txt"
    spec = AgentSpec(model="scripted", mcp=[f"{HOSTILE} --counter {counter}"])
    script = [call("count", '{"label": 7}'), call("count", '{"label": "a"}', id="c2"), "done"]
    result, model, _ = await run_spec(spec, script, journal)
    refused, counted = tool_messages(model)
    assert refused["content"].startswith("Error") and "7 is not of type 'string'" in refused["content"]
    assert counted["content"].startswith("counted 1 (pid ")
    assert counter.read_text() == "a\n"  # the refused call never reached the server


async def test_approval_follows_the_declared_hints(tmp_path):
    async with McpServers([f"{HOSTILE} --counter {tmp_path / 'n.txt'}"]) as mcp:
        touches = {t.name: t.touches for t in mcp.tools}
        assert touches["echo"] == {"read"} and touches["count"] == {"write"}
        assert touches["hang"] == {"network"}  # declares nothing: it leaves the process, effect unknown
        model = ScriptedModel([call("count", '{"label": "x"}'), call("echo", '{"text": "hi"}', id="c2"), "ok"])
        agent = ToolCallingAgent(model, mcp.tools, policy=ApprovalPolicy(require_approval_for=["write"]))
        await agentzoo.run(agent, "task")
    denied, echoed = tool_messages(model)
    assert "needs approval" in denied["content"] and echoed["content"] == "hi"
    assert not (tmp_path / "n.txt").exists()


async def test_resources_and_prompts(journal):
    spec = AgentSpec(model="scripted", mcp=[HOSTILE])
    script = [call("list_resources", "{}"), call("read_resource", '{"uri": "memo://readme"}', id="c2"), "Friday"]
    result, model, _ = await run_spec(spec, script, journal)
    listed, read = tool_messages(model)
    assert json.loads(listed["content"]) == [{"server": "hostile_mcp", "uri": "memo://readme", "name": "readme",
                                              "mimeType": "text/plain"}]
    assert read["content"] == "The memo says: ship on Friday."
    assert [e.name for e in tool_entries(journal, result.run_id)] == ["list_resources", "read_resource"]

    async with McpServers([HOSTILE]) as mcp:
        assert await mcp.prompts() == [{"server": "hostile_mcp", "name": "greet", "description": "Greet someone.",
                                        "arguments": ["name"]}]
        assert await mcp.get_prompt("greet", {"name": "Ada"}) == [{"role": "user", "content": "Say hello to Ada."}]


async def test_two_servers_with_the_same_tools_need_a_prefix():
    with pytest.raises(ConfigError, match="two MCP tools are named 'echo'.*prefix"):
        await McpServers([HOSTILE, HOSTILE]).start()
    async with McpServers([McpServerSpec(server=HOSTILE, prefix="a"), McpServerSpec(server=HOSTILE, prefix="b")]) as mcp:
        names = [t.name for t in mcp.tools]
        assert "a_echo" in names and "b_echo" in names
        assert await next(t for t in mcp.tools if t.name == "b_echo").invoke({"text": "via b"}) == "via b"


async def test_servers_stop_with_the_run_and_leave_no_process():
    mcp = await McpServers([HOSTILE, TIME]).start()
    pids = [s.wire.process.pid for s in mcp.servers]
    assert all(alive(pid) for pid in pids)
    await mcp.aclose()
    assert not any(alive(pid) for pid in pids)


# --- a hostile server ---------------------------------------------------------------------------


@pytest.mark.parametrize("tool,error_type,says", [
    ("hang", "McpTimeoutError", "did not answer the call of 'hang' within 1s; the call was cancelled; it may have "
                                "taken effect before it was cancelled"),  # it declares nothing: it may write
    ("violate", "McpOutputSchemaError", "breaks the output schema it declares: 'seven' is not of type 'integer'"),
    ("fail", "McpToolError", "the disk is on fire"),
])
async def test_a_failed_call_is_fed_back_and_the_run_goes_on(tmp_path, tool, error_type, says):
    path = tmp_path / "j.db"
    spec = AgentSpec(model="scripted", mcp=[{"server": HOSTILE, "timeout": 1}])
    with Journal(path) as journal:
        script = [call(tool, "{}"), call("echo", '{"text": "still here"}', id="c2"), "done"]
        result, model, _ = await run_spec(spec, script, journal)
    failed, echoed = tool_messages(model)
    assert f"{error_type}: " in failed["content"] and says in failed["content"]
    assert echoed["content"] == "still here" and result.ok
    with Journal(path) as journal:  # the journal opens and shows the run, the failure recorded
        assert journal.integrity_check() == "ok" and journal.get_run("latest").status == "finished"
        first, second = tool_entries(journal, result.run_id)
        assert first.status == "ok" and first.result["is_error"] and first.result["error_type"] == error_type
        assert second.result["content"] == "still here"


async def test_a_50_mb_answer_is_refused_without_holding_it(tmp_path):
    path = tmp_path / "j.db"
    spec = AgentSpec(model="scripted", mcp=[HOSTILE])
    tracemalloc.start()
    try:
        with Journal(path) as journal:
            script = [call("flood", '{"mb": 50}'), call("echo", '{"text": "still here"}', id="c2"), "done"]
            result, model, _ = await run_spec(spec, script, journal)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    refused, echoed = tool_messages(model)
    assert "McpResultTooLargeError" in refused["content"] and "over the limit of 8,388,608" in refused["content"]
    assert "is 50,000,1" in refused["content"]  # its exact size: 50 MB of text and the JSON-RPC around it
    assert echoed["content"] == "still here" and result.ok
    assert peak < 20_000_000  # read to its end, never held
    stored = sum(p.stat().st_size for p in tmp_path.glob("j.db*"))
    assert stored < 1_000_000


async def test_a_server_that_dies_mid_call_ends_the_run_and_loses_nothing(tmp_path):
    path = tmp_path / "j.db"
    spec = AgentSpec(model="scripted", mcp=[HOSTILE])
    with Journal(path) as journal:
        result, model, built = await run_spec(spec, [call("echo", '{"text": "before"}'),
                                                     call("crash", "{}", id="c2"), "never"], journal)
    assert result.status == "failed" and result.error["type"] == "McpServerDied"
    assert result.error["infrastructure"] is True  # an eval retries the sample
    assert "exited with status 3" in result.error["message"]
    assert "crashing in the middle of a call, on purpose" in result.error["message"]  # its stderr
    assert not alive(built.mcp.servers[0].wire.process.pid)
    with Journal(path) as journal:
        assert journal.integrity_check() == "ok"
        run = journal.get_run("latest")
        assert run.status == "failed" and run.error["type"] == "McpServerDied"
        echo, crash = tool_entries(journal, run.run_id)
        assert echo.status == "ok" and echo.result["content"] == "before"
        assert crash.status == "error" and crash.error["type"] == "McpServerDied"


@pytest.mark.parametrize("server,says,start_timeout", [
    (f"{HOSTILE} die-at-start", ["did not start", "exited with status 2",
                                 "cannot start: the config file /nowhere/config.toml is missing"], 30),
    ("/nonexistent/mcp-server --port 1", ["'/nonexistent/mcp-server --port 1'", "could not start",
                                          "No such file or directory"], 30),
    (f"{HOSTILE} hang-at-start", ["did not start", "did not answer"], 1),
])
async def test_a_server_that_cannot_start_says_why(server, says, start_timeout):
    mcp = McpServers([server], start_timeout=start_timeout)
    with pytest.raises(McpStartError) as info:
        await mcp.start()
    for text in says:
        assert text in str(info.value)
    process = mcp.servers[0].wire.process
    assert process is None or not alive(process.pid)


async def test_a_server_declaring_a_schema_that_is_not_json_schema_is_refused():
    with pytest.raises(McpSchemaError, match="tool 'broken' with an input schema that is not valid JSON Schema: "
                                             "'integr' is not valid"):
        await McpServers([f"{HOSTILE} bad-schema"]).start()


# --- streamable HTTP ------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def http_server(tmp_path):
    """The hostile server over streamable HTTP on 127.0.0.1; its URL."""
    port = free_port()
    process = subprocess.Popen([PY, HELPERS / "hostile_mcp.py", "--http", str(port)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "the HTTP MCP server did not start"
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/mcp"
    process.kill()
    process.wait()


async def test_streamable_http_server(journal, http_server):
    spec = AgentSpec(model="scripted", mcp=[http_server])
    script = [call("echo", '{"text": "over HTTP"}'), call("flood", '{"mb": 20}', id="c2"),
              call("read_resource", '{"uri": "memo://readme"}', id="c3"), "done"]
    result, model, _ = await run_spec(spec, script, journal)
    echoed, flooded, read = tool_messages(model)
    assert echoed["content"] == "over HTTP" and read["content"] == "The memo says: ship on Friday."
    assert "McpResultTooLargeError" in flooded["content"] and "over the limit of 8,388,608" in flooded["content"]
    assert journal.get_run(result.run_id).config["mcp"] == [{"server": http_server}]
    assert [e.name for e in tool_entries(journal, result.run_id)] == ["echo", "flood", "read_resource"]


async def test_an_http_server_that_dies_mid_call_ends_the_run(journal, http_server):
    spec = AgentSpec(model="scripted", mcp=[http_server])
    result, _, _ = await run_spec(spec, [call("crash", "{}"), "never"], journal)
    assert result.status == "failed" and result.error["type"] == "McpServerDied"
    assert http_server in result.error["message"] and result.error["infrastructure"]
    with pytest.raises(McpStartError, match="did not start: .*ConnectError"):  # and it is gone
        await McpServers([http_server]).start()


# --- the command line -----------------------------------------------------------------------------


def az(*args, env=None, check=True, timeout=120):
    return cli.agentzoo(*args, env=env, check=check, timeout=timeout)


def test_cli_run_then_replay_with_the_server_gone(tmp_path, repo):
    journal = tmp_path / "j.db"
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"tool_calls": [{"name": "git_log", "arguments": {"repo_path": str(repo)}}]},
                                  "The last commit adds the first notes."]))
    server = f"{PY} -m mcp_server_git --repository {repo}"
    out = az("run", "What was the last commit?", "--mcp", server, "--model", f"scripted:{script}", "--journal", journal)
    assert "The last commit adds the first notes." in out.stdout

    subprocess.run(["rm", "-rf", str(repo)], check=True)  # the server cannot even start any more
    out = az("replay", "latest", "--journal", journal)
    assert "The last commit adds the first notes." in out.stdout
    lines = [json.loads(line) for line in az("show", "latest", "--json", "--journal", journal).stdout.splitlines()]
    [entry] = [e for e in lines if e["kind"] == "tool"]
    assert entry["name"] == "git_log" and "Add the first notes" in entry["result"]["content"]

    out = az("resume", "latest", "--journal", journal, check=False)  # naming a server needs consent
    assert out.returncode == 2 and "MCP server" in out.stderr and "--trust" in out.stderr


def test_cli_mcp_as_json_with_a_prefix(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"tool_calls": [{"name": "clock_get_current_time",
                                                   "arguments": {"timezone": "Asia/Tokyo"}}]}, "late"]))
    server = json.dumps({"server": TIME, "prefix": "clock", "timeout": 20})
    az("run", "time?", "--mcp", server, "--model", f"scripted:{script}", "--journal", tmp_path / "j.db")
    lines = [json.loads(line) for line in az("show", "latest", "--json", "--journal", tmp_path / "j.db").stdout.splitlines()]
    [entry] = [e for e in lines if e["kind"] == "tool"]
    assert entry["name"] == "clock_get_current_time" and '"timezone":"Asia/Tokyo"' in entry["result"]["content"]
    with Journal(tmp_path / "j.db") as journal:
        assert journal.get_run("latest").config["mcp"] == [{"server": TIME, "prefix": "clock", "timeout": 20.0}]


def test_cli_a_server_that_cannot_start_is_a_clean_error(tmp_path):
    out = az("run", "hi", "--mcp", f"{HOSTILE} die-at-start", "--model", "scripted:x.json", "--journal",
             tmp_path / "j.db", check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "McpStartError" in out.stderr and "config file /nowhere/config.toml is missing" in out.stderr


PLAY = '''
import asyncio, os
from pathlib import Path


async def play(request):
    """Count once; then, while the block file exists, wait (to be killed)."""
    if not any(m["role"] == "tool" for m in request.messages):
        return {"tool_calls": [{"name": "count", "arguments": {"label": "once"}}]}
    while Path(os.environ["BLOCK_FILE"]).exists():
        await asyncio.sleep(0.05)
    return "counted"
'''


def test_cli_resume_after_sigkill_does_not_repeat_a_finished_mcp_call(tmp_path):
    journal, counter, block = tmp_path / "j.db", tmp_path / "calls.txt", tmp_path / "block"
    (tmp_path / "play.py").write_text(PLAY)
    block.touch()
    env = dict(os.environ, BLOCK_FILE=str(block))
    child = subprocess.Popen([PY, "-m", "agentzoo.cli.main", "run", "count once", "--mcp",
                              f"{HOSTILE} --counter {counter}", "--model", f"scripted:{tmp_path / 'play.py'}:play",
                              "--journal", journal], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not done_counting(journal):  # the call finished and is in the journal: the model now waits
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.communicate()
    block.unlink()

    out = az("resume", "latest", "--trust", "--journal", journal, env={"BLOCK_FILE": str(block)})
    assert "counted" in out.stdout
    assert counter.read_text() == "once\n"  # the server was started again; the call was not
    with Journal(journal) as j:
        run = j.get_run("latest")
        assert run.status == "finished" and run.answer == "counted"
        entries = list(j.entries(run.run_id))
        assert len({e.key for e in entries}) == len(entries) and all(e.status == "ok" for e in entries)


def done_counting(path):
    if not path.exists():
        return False
    try:
        with Journal(path) as j:
            runs = j.list_runs(1)
            return bool(runs) and any(e.kind == "tool" and e.status == "ok" for e in j.entries(runs[0].run_id))
    except Exception:  # the child is creating it
        return False


# --- evals ----------------------------------------------------------------------------------------


def test_eval_mcp_each_sample_starts_its_own_server(tmp_path):
    counter, out = tmp_path / "calls.txt", tmp_path / "out"
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"tool_calls": [{"name": "count", "arguments": {"label": "sample"}}]}, "42"]))
    az("eval", "--env", "gsm8k", "--limit", "2", "--model", f"scripted:{script}", "--mcp",
       f"{HOSTILE} --counter {counter}", "--concurrency", "2", "--out", out, timeout=300)
    assert counter.read_text() == "sample\nsample\n"
    with Journal(out / "journal.db") as journal:
        runs = journal.list_runs(10)
        assert len(runs) == 2 and all(r.status == "finished" for r in runs)
        assert all(r.config["mcp"] == [{"server": f"{HOSTILE} --counter {counter}"}] for r in runs)
        answers = [tool_entries(journal, r.run_id)[0].result["content"] for r in runs]
    assert len({a.partition("(pid ")[2] for a in answers}) == 2  # a server of its own per sample


def test_eval_refuses_to_start_when_a_server_cannot(tmp_path):
    out = az("eval", "--env", "gsm8k", "--limit", "2", "--model", "oracle", "--mcp", f"{HOSTILE} die-at-start",
             "--out", tmp_path / "out", check=False)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "McpStartError" in out.stderr and "config file /nowhere/config.toml is missing" in out.stderr
    assert not (tmp_path / "out" / "results.db").exists()


def test_experiment_files_name_servers_for_every_agent(tmp_path):
    from agentzoo.eval.experiment import load_experiment

    path = tmp_path / "exp.yaml"
    path.write_text(f"""
agents:
  - tool-calling
  - {{agent: tool-calling, label: own, mcp: [{{server: "{TIME}", timeout: 5}}]}}
envs: [gsm8k]
models: [oracle]
mcp:
  - "{HOSTILE}"
""")
    plan = load_experiment(path)
    assert plan.agents["tool-calling"].mcp == [McpServerSpec(server=HOSTILE)]
    assert plan.agents["own"].mcp == [McpServerSpec(server=TIME, timeout=5)]
    path.write_text(path.read_text().replace('  - "' + HOSTILE + '"', "  - {server: x, timout: 3}"))
    with pytest.raises(ConfigError, match=r"exp.yaml:\d+: mcp.0.timout: unknown key"):
        load_experiment(path)
