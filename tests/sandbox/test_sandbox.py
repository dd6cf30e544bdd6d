"""The sandbox as a user drives it: persistence, host tools, limits, restarts, the journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from agentzoo import Budget, Journal, replay, resume, run
from agentzoo.errors import BudgetExceeded, SandboxUnavailable, ToolError
from agentzoo.runtime.context import Context
from agentzoo.sandbox import Limits, Sandbox, probe
from agentzoo.sandbox.bridge import RESUMED_NOTE, CodeExecutor
from agentzoo.tools import ToolSet, tool

SAFE = [r for r in probe() if r.name != "unsafe"]
AVAILABLE = [r.name for r in SAFE if r.available]
pytestmark = pytest.mark.skipif(not AVAILABLE, reason="no isolation tier works here: "
                                + "; ".join(f"{r.name}: {r.reason}" for r in SAFE))


@pytest.fixture(params=AVAILABLE)
async def sandbox(request):
    async with Sandbox(tier=request.param, limits=Limits(wall_seconds=3, output_bytes=1000)) as sb:
        yield sb


async def test_state_persists_and_a_final_expression_is_shown(sandbox):
    first = await sandbox.execute("import math\nx = 6 * 7")
    second = await sandbox.execute("print(math.sqrt(x * x))\nx + 1")
    assert (first.ok, first.stdout) == (True, "")
    assert second.stdout == "42.0\n43\n"
    assert second.tier == sandbox.tier and not second.state_lost


async def test_an_exception_is_a_result_with_the_code_traceback_only(sandbox):
    result = await sandbox.execute("def f():\n    return 1 / 0\nf()")
    assert not result.ok and result.error["type"] == "ZeroDivisionError"
    assert 'File "<action>", line 2, in f' in result.error["traceback"]
    assert "main.py" not in result.error["traceback"]  # the worker's own frames are hidden
    assert (await sandbox.execute("print('next')")).stdout == "next\n"


async def test_final_answer_ends_the_action_with_a_json_value(sandbox):
    result = await sandbox.execute("final_answer({'total': 3, 'items': [1, 2]})\nprint('never')")
    assert result.ok and result.answered and result.answer == {"total": 3, "items": [1, 2]}
    assert result.stdout == ""


async def test_host_tools_are_functions_whose_calls_cross_back_as_json():
    calls = []

    async def serve(name, args):
        calls.append((name, args))
        if args["a"] < 0:
            raise ValueError("a must not be negative")
        return {"sum": args["a"] + args["b"]}

    spec = {"name": "add", "description": "Add.", "parameters": {"type": "object", "properties": {"a": {}, "b": {}}}}
    async with Sandbox(tools=[spec]) as sb:
        result = await sb.execute("total = 0\nfor i in range(3):\n    total += add(i, b=10)['sum']\nprint(total)",
                                  call_tool=serve)
        failed = await sb.execute("try:\n    add(-1, 1)\nexcept ToolError as e:\n    print('caught', e)",
                                  call_tool=serve)
        not_json = await sb.execute("add({1, 2}, 3)", call_tool=serve)
    assert result.stdout == "33\n"
    assert calls[:3] == [("add", {"a": 0, "b": 10}), ("add", {"a": 1, "b": 10}), ("add", {"a": 2, "b": 10})]
    assert failed.stdout == "caught ValueError: a must not be negative\n"
    assert not_json.error["type"] == "TypeError" and "plain JSON" in not_json.error["message"]
    assert len(calls) == 4  # the set never left the sandbox


async def test_a_budget_error_inside_a_tool_call_ends_the_action_and_propagates():
    async def serve(name, args):
        raise BudgetExceeded(budget="tokens", limit=10, used=12, budget_scope="", at_scope="")

    spec = {"name": "spend", "parameters": {"type": "object", "properties": {}}}
    async with Sandbox(tools=[spec]) as sb:
        with pytest.raises(BudgetExceeded):
            await sb.execute("spend()", call_tool=serve)
        after = await sb.execute("print('fresh')")  # a new worker takes over
    assert after.stdout == "fresh\n"


async def test_output_is_capped_and_the_rest_counted(sandbox):
    result = await sandbox.execute("import os\nprint('x' * 100_000)\n_ = os.write(2, b'e' * 5000)")
    assert len(result.stdout) == 1000 and result.stdout_dropped == 100_001 - 1000
    assert len(result.stderr) == 1000 and result.stderr_dropped == 4000


async def test_the_wall_clock_interrupts_python_and_keeps_the_state(sandbox):
    await sandbox.execute("kept = 'yes'")
    result = await sandbox.execute("while True:\n    pass", timeout=0.5)
    assert result.error["type"] == "TimeoutError" and not result.state_lost
    assert (await sandbox.execute("print(kept)")).stdout == "yes\n"


async def test_code_that_ignores_the_interrupt_is_killed_and_the_next_action_starts_fresh(sandbox):
    await sandbox.execute("kept = 'yes'")
    result = await sandbox.execute("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                   "time.sleep(60)", timeout=0.5)
    assert result.error["type"] == "TimeoutError" and result.state_lost
    assert "state" in result.error["message"]
    after = await sandbox.execute("print('kept' in globals())")
    assert after.stdout == "False\n" and not after.state_lost


async def test_a_crashed_worker_is_reported_and_replaced(sandbox):
    await sandbox.execute("kept = 1")
    result = await sandbox.execute("import os\nos._exit(3)")
    assert result.error["type"] == "WorkerCrashed" and "exit status 3" in result.error["message"]
    assert result.state_lost
    assert (await sandbox.execute("print('alive')")).stdout == "alive\n"


async def test_threads_left_running_restart_the_worker(sandbox):
    result = await sandbox.execute("import threading, time\nthreading.Thread(target=time.sleep, args=(60,)).start()")
    assert result.ok and result.state_lost and "thread" in result.notes[0]
    assert (await sandbox.execute("print('alive')")).stdout == "alive\n"


async def test_files_are_copied_into_the_work_directory(tmp_path):
    (tmp_path / "data.txt").write_text("seeded")
    async with Sandbox(files=str(tmp_path)) as sb:
        result = await sb.execute("print(open('data.txt').read())\n_ = open('out.txt', 'w').write('x')")
    assert result.stdout == "seeded\n"
    assert sorted(os.listdir(tmp_path)) == ["data.txt"]  # the host's directory is not written


async def test_the_environment_is_an_allowlist(sandbox, monkeypatch):
    result = await sandbox.execute("import os\nprint(sorted(os.environ))")
    names = eval(result.stdout)
    assert "PATH" in names and not any("KEY" in n or "TOKEN" in n or n.startswith("AGENTZOO") for n in names)


async def test_unsafe_must_be_asked_for_by_name():
    with pytest.raises(SandboxUnavailable, match="allow_unsafe=True"):
        await Sandbox(tier="unsafe").start()
    with pytest.raises(SandboxUnavailable, match="unknown sandbox tier 'docker'"):
        await Sandbox(tier="docker").start()
    async with Sandbox(tier="unsafe", allow_unsafe=True) as sb:
        result = await sb.execute("print(1)")
    assert result.tier == "unsafe" and result.notes[0].startswith("UNSAFE")


# --- the journal ------------------------------------------------------------------------------


@tool
def lookup(key: str) -> dict:
    """Look a key up."""
    LOOKUPS.append(key)
    return {"key": key, "value": len(key)}


LOOKUPS: list[str] = []


class CodeOnlyAgent:
    """Runs fixed code actions: enough to show how executions are journaled."""

    def __init__(self, actions, sandbox):
        self.actions = actions
        self.executor = CodeExecutor(sandbox, ToolSet([lookup]))

    async def run(self, task: str, ctx: Context):
        try:
            outputs = []
            for code in self.actions:
                ctx.step()
                outputs.append(await self.executor.execute(ctx, code))
            return " | ".join(r.stdout.strip() or str(r.error) for r in outputs)
        finally:
            await self.executor.close()


ACTIONS = ["n = sum(lookup(k)['value'] for k in ['a', 'bb', 'ccc'])\nprint(n)", "print(n * 2)"]


async def test_executions_and_their_tool_calls_are_journaled_and_replay_runs_nothing(tmp_path):
    LOOKUPS.clear()
    journal = Journal(tmp_path / "j.db")
    agent = CodeOnlyAgent(ACTIONS, Sandbox(tools=ToolSet([lookup])))
    live = await run(agent, "sum", journal=journal)
    assert live.ok and live.answer == "6 | 12" and LOOKUPS == ["a", "bb", "ccc"]
    entries = [(e.scope, e.kind, e.name) for e in journal.entries(live.run_id)]
    # An execution is written when it ends, after the tool calls it made.
    assert entries == [("code#1", "tool", "lookup"), ("code#1", "tool", "lookup"), ("code#1", "tool", "lookup"),
                       ("", "sandbox", "exec"), ("", "sandbox", "exec")]
    assert list(journal.entries(live.run_id))[3].result["tier"] in AVAILABLE

    # A sandbox that cannot start proves replay never needs one.
    replayed = await replay(CodeOnlyAgent(ACTIONS, Sandbox(tier="no-such-tier")), live.run_id, journal=journal)
    assert replayed.answer == live.answer and LOOKUPS == ["a", "bb", "ccc"]


async def test_a_budget_counts_the_tool_calls_made_from_code(tmp_path):
    LOOKUPS.clear()
    journal = Journal(tmp_path / "j.db")
    agent = CodeOnlyAgent(ACTIONS, Sandbox(tools=ToolSet([lookup])))
    result = await run(agent, "sum", journal=journal, budgets=Budget(steps=1))
    assert not result.ok and "steps" in str(result.error)
    LOOKUPS.clear()


async def test_resume_serves_recorded_actions_and_says_their_state_is_gone(tmp_path):
    journal = Journal(tmp_path / "j.db")
    live = await run(CodeOnlyAgent(ACTIONS[:1], Sandbox(tools=ToolSet([lookup]))), "sum", journal=journal)
    # The same run, as if it had died after its first action: resume it with a second action.
    resumed = await resume(CodeOnlyAgent(ACTIONS, Sandbox(tools=ToolSet([lookup]))), live.run_id, journal=journal)
    second = list(journal.entries(resumed.run_id))[-1].result
    assert second["state_lost"] and second["notes"][0] == RESUMED_NOTE
    assert "NameError" in resumed.answer


# --- the command line -------------------------------------------------------------------------


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "sandbox", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_cli_run_prints_one_json_object(tmp_path):
    (tmp_path / "ok.py").write_text("print('hi')\n")
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(30)\n")
    done = _cli("run", "ok.py", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert {"ok", "stdout", "stderr", "error", "tier", "duration_s", "limits"} <= set(out)
    assert (out["ok"], out["stdout"], out["tier"]) == (True, "hi\n", AVAILABLE[0])
    slow = _cli("run", "slow.py", "--timeout", "0.5", "--memory", "256", cwd=tmp_path)
    out = json.loads(slow.stdout)
    assert slow.returncode == 1 and out["error"]["type"] == "TimeoutError"
    assert out["limits"]["memory_mb"] == 256 and out["limits"]["wall_seconds"] == 0.5


def test_cli_probe_names_every_tier(tmp_path):
    done = _cli("probe", "--json", cwd=tmp_path)
    reports = json.loads(done.stdout)
    assert [r["name"] for r in reports] == ["bwrap", "landlock", "unsafe"]
    assert all(r["reason"] for r in reports)


async def test_the_landlock_tier_measures_the_work_directory_and_stops_a_disk_filler():
    if "landlock" not in AVAILABLE:
        pytest.skip("the landlock tier does not work here")
    limits = Limits(disk_mb=8, tmp_mb=8, file_size_mb=4, wall_seconds=20)
    async with Sandbox(tier="landlock", limits=limits) as sb:
        result = await sb.execute("i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * 2**20)\n    i += 1")
        after = await sb.execute("import os\nprint(len(os.listdir('.')))")
    assert result.error["type"] == "DiskLimitExceeded" and result.state_lost
    assert result.duration_s < 5
    assert after.stdout == "0\n"  # a fresh work directory


@pytest.mark.alone  # as `nobody` (no uid of their own) every landlock sandbox's tasks count together
async def test_landlock_sandboxes_each_keep_their_own_process_budget_however_many_start_after_them():
    """Without a user namespace RLIMIT_NPROC counts every task of the sandbox's uid, threads too. All as
    `nobody`, a sandbox started after a few others got a limit below what existed (its worker could not
    start its watchdog thread), and one started before twenty others could not start a process. A root host
    now gives each its own uid (`sandbox.uids`): the limit is the sandbox's alone."""
    if "landlock" not in AVAILABLE:
        pytest.skip("the landlock tier does not work here")
    code = "import os, subprocess\nprint(os.getuid(), [subprocess.run(['true']).returncode for _ in range(5)])"
    sandboxes = [Sandbox(tier="landlock", limits=Limits(processes=16)) for _ in range(21)]
    try:
        for sb in sandboxes:
            await sb.start()  # from about the fourth on: SandboxError ("can't start new thread")
        first, last = await sandboxes[0].execute(code), await sandboxes[-1].execute(code)
    finally:
        for sb in sandboxes:
            await sb.close()
    assert last.ok and last.stdout.endswith(" [0, 0, 0, 0, 0]\n"), last
    if os.geteuid() != 0:
        return  # only root can give each its own uid: the first one's budget is taken by the twenty
    assert first.ok and first.stdout.endswith(" [0, 0, 0, 0, 0]\n"), first  # before: 5 × BlockingIOError
    uids = {int(first.stdout.split()[0]), int(last.stdout.split()[0])}
    assert len(uids) == 2 and not uids & {0, 65534}
    assert {r.name: r for r in probe()}["landlock"].reason.endswith("each sandbox runs as a uid of its own")


async def test_an_action_that_writes_past_the_disk_limit_between_two_checks_is_still_stopped(monkeypatch):
    """The work directory is measured at the end of every action too: with checks too far apart to see it (an idle
    machine writes 24 MB in less than one interval), the filler that finishes in time is still caught."""
    if "landlock" not in AVAILABLE:
        pytest.skip("the landlock tier does not work here")
    import agentzoo.sandbox.host as sandbox_host

    monkeypatch.setattr(sandbox_host, "DISK_CHECK_SECONDS", 60.0)
    limits = Limits(disk_mb=8, tmp_mb=8, file_size_mb=4, wall_seconds=20)
    async with Sandbox(tier="landlock", limits=limits) as sb:
        result = await sb.execute("for i in range(6):\n    open(f'f{i}', 'wb').write(b'x' * 2**22)\nprint('wrote')")
        after = await sb.execute("import os\nprint(len(os.listdir('.')))")
    assert result.error["type"] == "DiskLimitExceeded" and result.state_lost, result
    assert after.stdout == "0\n"  # a fresh work directory


@tool(touches={"write"})
def delete_file(path: str) -> str:
    """Delete a file on the host."""
    DELETED.append(path)
    return "deleted"


DELETED: list[str] = []


async def test_tool_calls_from_code_are_validated_and_policy_checked(tmp_path):
    from agentzoo.tools import ApprovalPolicy

    class Agent:
        def __init__(self, approve):
            tools = ToolSet([lookup, delete_file])
            self.executor = CodeExecutor(Sandbox(tools=tools), tools,
                                         ApprovalPolicy(approver=lambda name, args, touches: approve))

        async def run(self, task, ctx):
            try:
                code = ("for call in (lambda: lookup(key=3), lambda: delete_file('/etc/passwd')):\n"
                        "    try:\n        print(call())\n    except ToolError as e:\n        print('refused:', e)")
                return (await self.executor.execute(ctx, code)).stdout
            finally:
                await self.executor.close()

    DELETED.clear()
    journal = Journal(tmp_path / "j.db")
    denied = await run(Agent(False), "t", journal=journal)
    # Validated before it ran, then refused by the policy: the code reads why, as ToolError.
    assert denied.answer.startswith("refused: ToolArgumentsError: invalid arguments for lookup")
    assert denied.answer.splitlines()[-1] == "refused: ApprovalDenied: the user denied this call"
    assert DELETED == []
    allowed = await run(Agent(True), "t", journal=journal)
    assert allowed.answer.splitlines()[-1] == "deleted" and DELETED == ["/etc/passwd"]


async def test_tools_may_be_given_as_tool_objects_and_bad_ones_are_named():
    from agentzoo.errors import SandboxError

    async def serve(name, args):
        return {"key": args["key"], "value": 1}

    async with Sandbox(tools=[lookup]) as sb:
        assert (await sb.execute("lookup('k')['value']", call_tool=serve)).stdout == "1\n"
    with pytest.raises(SandboxError, match="Python identifier; got 'not a tool'"):
        Sandbox(tools=["not a tool"])
    with pytest.raises(SandboxError, match="math.sqrt"):
        Sandbox(tools=[{"name": "math.sqrt", "parameters": {}}])


async def test_fresh_programs_share_a_sandbox_without_seeing_each_other(sandbox):
    await sandbox.execute("kept = 'persistent'")
    first = await sandbox.execute("import os\nsecret = 1\nopen('left.txt', 'w').write('x')\n"
                                  "open(os.environ['TMPDIR'] + '/t', 'w').write('y')\nprint('ran')", fresh=True)
    second = await sandbox.execute("import os\nprint('secret' in globals(), 'kept' in globals(), os.listdir('.'), "
                                   "os.listdir(os.environ['TMPDIR']))", fresh=True)
    assert first.stdout == "ran\n" and second.stdout == "False False [] []\n"
    assert (await sandbox.execute("print(kept)")).stdout == "persistent\n"  # the persistent state is untouched
    failing = await sandbox.execute("assert 1 + 1 == 3", fresh=True)
    looping = await sandbox.execute("while True:\n    pass", fresh=True, timeout=0.5)
    dying = await sandbox.execute("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", fresh=True)
    assert failing.error["type"] == "AssertionError"
    assert looping.error["type"] == "TimeoutError" and not looping.state_lost
    assert dying.error["type"] == "ProcessDied" and "SIGKILL" in dying.error["message"]
    assert (await sandbox.execute("print(kept)")).stdout == "persistent\n"


async def test_a_pool_lends_warm_sandboxes():
    from agentzoo.sandbox.pool import SandboxPool

    pool = SandboxPool(2)
    try:
        async with pool.sandbox() as a, pool.sandbox() as b:
            assert a is not b
        async with pool.sandbox() as c:
            assert c in (a, b) and (await c.execute("print(1)", fresh=True)).stdout == "1\n"
    finally:
        await pool.aclose()


@pytest.mark.parametrize("tier", AVAILABLE)
async def test_a_worker_that_cannot_be_started_leaves_no_folder_and_no_uid_held(tier, monkeypatch):
    """The launch makes a folder (and on a root host may lend a uid) before the worker starts: a start that
    fails (no process can be made: EAGAIN, ENOMEM) gives both back, so that failures do not use up the block."""
    import agentzoo.sandbox.host as sandbox_host

    async def cannot_start(*args, **kwargs):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(sandbox_host.WorkerProcess, "start", cannot_start)
    sb = Sandbox(tier=tier)
    with pytest.raises(sandbox_host.SandboxError, match="could not start"):
        await sb.start()
    launched = sb._plan
    assert launched is not None and (launched.base_dir or tier == "bwrap")  # bwrap's folders are its own tmpfs
    assert not launched.base_dir or not os.path.exists(launched.base_dir)
    if launched.uid_lease is not None:
        assert launched.uid_lease._holder.fileno() == -1  # its name is free for another sandbox
