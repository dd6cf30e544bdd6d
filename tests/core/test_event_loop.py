"""agentzoo's own event loop (runtime/event_loop.py) and what must hold on it as on asyncio's: the
choice itself, model calls with their clocks, and the sandbox worker's process."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from agentzoo.errors import ConfigError, ProviderTimeout
from agentzoo.models.openai_compat import OpenAICompatible
from agentzoo.models.retry import RetryPolicy
from agentzoo.runtime import event_loop
from agentzoo.runtime.event_loop import run_loop
from agentzoo.sandbox.process import WorkerProcess
from agentzoo.testing.fake_openai import FakeOpenAIServer
from agentzoo.types import ModelRequest

pytest.importorskip("uvloop")

LOOPS = ["asyncio", "uvloop"]
REQUEST = ModelRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=8)


async def _loop_name() -> str:
    return event_loop.name()


def test_the_loop_is_uvloop_unless_asyncio_is_asked_for(monkeypatch):
    monkeypatch.delenv("AGENTZOO_EVENT_LOOP", raising=False)
    assert run_loop(_loop_name()) == "uvloop"
    monkeypatch.setenv("AGENTZOO_EVENT_LOOP", "asyncio")
    assert run_loop(_loop_name()) == "asyncio"
    monkeypatch.setenv("AGENTZOO_EVENT_LOOP", " UVLOOP ")
    assert run_loop(_loop_name()) == "uvloop"


def test_a_bad_choice_is_a_config_error_that_names_the_variable(monkeypatch):
    monkeypatch.setenv("AGENTZOO_EVENT_LOOP", "trio")
    coro = _loop_name()
    with pytest.raises(ConfigError, match="AGENTZOO_EVENT_LOOP='trio'.*auto, uvloop, asyncio"):
        run_loop(coro)
    assert coro.cr_frame is None  # closed, not left to warn that it was never awaited


def test_without_uvloop_auto_falls_back_and_an_explicit_ask_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    monkeypatch.delenv("AGENTZOO_EVENT_LOOP", raising=False)
    assert run_loop(_loop_name()) == "asyncio"
    monkeypatch.setenv("AGENTZOO_EVENT_LOOP", "uvloop")
    with pytest.raises(ConfigError, match="uvloop is not installed"):
        event_loop.loop_factory()


def _on(loop: str, monkeypatch, main):
    monkeypatch.setenv("AGENTZOO_EVENT_LOOP", loop)
    return run_loop(main)


@pytest.mark.parametrize("loop", LOOPS)
def test_latencies_are_measured_finer_than_the_loops_clock(loop, monkeypatch):
    # uvloop's loop.time() counts whole milliseconds: durations read from it would all be multiples of
    # 1 ms (and a fast call 0). The attempt records and the reply's latency must not be.
    async def main():
        async with OpenAICompatible("m", base_url=srv.base_url) as model:
            return [await model.complete(REQUEST) for _ in range(5)]

    with FakeOpenAIServer({"content": "ok", "chunk_delay": 0.0005}) as srv:
        replies = _on(loop, monkeypatch, main())
    seconds = [r.attempts[0]["seconds"] for r in replies] + [r.latency.total_s for r in replies]
    assert all(s > 0 for s in seconds)
    assert any(round(s * 1e6) % 1000 for s in seconds), seconds


@pytest.mark.parametrize("loop", LOOPS)
def test_the_first_byte_clock_cuts_a_silent_server_on_either_loop(loop, monkeypatch):
    async def main():
        async with OpenAICompatible("m", base_url=srv.base_url, first_byte_timeout=0.2,
                                    retry=RetryPolicy(max_attempts=1)) as model:
            await model.complete(REQUEST)

    with FakeOpenAIServer({"hang": True}) as srv:
        with pytest.raises(ProviderTimeout, match="first-byte timeout.*0.2 s"):
            _on(loop, monkeypatch, main())


@pytest.mark.parametrize("loop", LOOPS)
def test_a_worker_process_gives_its_output_and_exit_status(loop, monkeypatch):
    async def main():
        proc = await WorkerProcess.start(["sh", "-c", "echo out; echo err >&2; exit 3"], pass_fds=(),
                                         env={"PATH": "/usr/bin:/bin"}, cwd=None, user=None)
        out, err = await proc.stdout.read(), await proc.stderr.read()
        return out, err, await proc.wait(), proc.returncode

    assert _on(loop, monkeypatch, main()) == (b"out\n", b"err\n", 3, 3)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_wait_given_up_does_not_stop_the_next_one_from_seeing_the_exit(loop, monkeypatch):
    async def main():
        proc = await WorkerProcess.start(["sleep", "30"], pass_fds=(), env={"PATH": "/usr/bin:/bin"}, cwd=None,
                                         user=None)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), 0.05)
        assert proc.returncode is None
        os.killpg(proc.pid, 9)  # a session of its own, as the sandbox worker's
        return await asyncio.wait_for(proc.wait(), 5)

    assert _on(loop, monkeypatch, main()) == -9


@pytest.mark.skipif(os.geteuid() != 0, reason="switching to another user needs root")
@pytest.mark.parametrize("loop", LOOPS)
def test_a_root_host_starts_the_worker_as_nobody_on_either_loop(loop, monkeypatch):
    # uvloop's own subprocess support refuses user=/group=/extra_groups=; the worker must still drop root.
    async def main():
        proc = await WorkerProcess.start(["sh", "-c", "id -u; id -g; id -G"], pass_fds=(),
                                         env={"PATH": "/usr/bin:/bin"}, cwd="/", user=65534)
        out = await proc.stdout.read()
        await proc.wait()
        return out.decode().split()

    assert _on(loop, monkeypatch, main()) == ["65534", "65534", "65534"]


@pytest.mark.parametrize("loop", LOOPS)
def test_sandboxed_code_runs_and_a_crashed_worker_is_reported_on_either_loop(loop, monkeypatch):
    from agentzoo.sandbox import Sandbox

    async def main():
        async with Sandbox() as sandbox:
            first = await sandbox.execute("x = 6 * 7\nprint(x)")
            crashed = await sandbox.execute("import os\nos._exit(3)")
            after = await sandbox.execute("print('again')")
        return first, crashed, after

    first, crashed, after = _on(loop, monkeypatch, main())
    assert first.ok and first.stdout.strip() == "42"
    assert not crashed.ok and crashed.state_lost
    assert after.ok and after.stdout.strip() == "again"


@pytest.mark.parametrize("loop", LOOPS)
def test_a_call_cut_by_its_deadline_is_named_so_on_either_loop(loop, monkeypatch):
    # A timer may go off a little before its instant by the loop's clock (uvloop keeps whole
    # milliseconds): the error must still say which bound ended the call.
    async def attempt(_n: int) -> str:
        await asyncio.sleep(10)
        return "never"

    async def main():
        messages = []
        for _ in range(30):
            with pytest.raises(ProviderTimeout) as info:  # on uvloop, a third of these were a TypeError
                await RetryPolicy(deadline=0.05).run(attempt, deadline=100)
            messages.append(str(info.value))
        return messages

    messages = _on(loop, monkeypatch, main())
    assert all("the 0.05 s deadline passed" in m for m in messages), messages


def test_a_worker_whose_output_cannot_be_watched_is_not_left_running(monkeypatch):
    import subprocess

    started: list[subprocess.Popen] = []
    real_popen = subprocess.Popen

    def popen(*args, **kwargs):
        started.append(real_popen(*args, **kwargs))
        return started[-1]

    async def refuse(*_args, **_kwargs):
        raise OSError("no pipes today")

    async def main():
        monkeypatch.setattr(asyncio.get_running_loop(), "connect_read_pipe", refuse)
        with pytest.raises(OSError, match="no pipes today"):
            await WorkerProcess.start(["sleep", "30"], pass_fds=(), env={"PATH": "/usr/bin:/bin"}, cwd=None,
                                      user=None)

    monkeypatch.setattr(subprocess, "Popen", popen)
    _on("asyncio", monkeypatch, main())
    assert len(started) == 1 and started[0].returncode is not None  # killed and reaped
