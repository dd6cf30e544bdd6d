"""Oversized output cannot swamp a run: a model response over its cap (plain, never-ending or
streamed), a reply with too many tool calls, a sandbox's oversized tool call and a tool's huge
result each end or are refused with a typed error, without being retried, and what the run had
finished stays in the journal."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agentzoo import Journal, OpenAICompatible, ScriptedModel, ToolCallingAgent, run
from agentzoo.errors import ResponseTooLargeError, TooManyToolCallsError
from agentzoo.models.retry import RetryPolicy
from agentzoo.runtime.context import Context
from agentzoo.sandbox import Sandbox
from agentzoo.sandbox.bridge import CodeExecutor
from agentzoo.testing.fake_openai import FakeOpenAIServer
from agentzoo.tools import ToolSet, tool

# A policy that would retry anything retryable, quickly: the point is that these are not retried.
RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02)
TOOL_TURN = {"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def journal_bytes(path: Path) -> bytes:
    return b"".join(f.read_bytes() for f in sorted(path.parent.glob(path.name + "*")))


def assert_failed_after_one_tool_round(journal: Journal, result, error_type: str) -> None:
    """The run failed with `error_type`, and the model call and tool call before it are kept."""
    assert not result.ok and result.error["type"] == error_type
    entries = list(journal.entries(result.run_id))
    assert [(e.kind, e.status) for e in entries] == [("model", "ok"), ("tool", "ok"), ("model", "error")]
    assert entries[1].result["content"] == "3" and entries[2].error["type"] == error_type
    info = journal.get_run(result.run_id)
    assert info.status == "failed" and info.error["type"] == error_type


@pytest.mark.parametrize("big", [
    {"body": "x" * 300_000, "content_type": "application/json"},  # declared by Content-Length
    {"sse": ["x" * 10_000] * 30, "done": False},                  # chunked: counted as it comes
], ids=["content-length", "chunked"])
async def test_an_oversized_response_stops_at_the_cap_and_is_not_retried(tmp_path, big):
    journal = Journal(tmp_path / "j.db")
    async with FakeOpenAIServer([TOOL_TURN, big]) as srv:
        async with OpenAICompatible("m", base_url=srv.base_url, retry=RETRY, max_response_bytes=100_000) as model:
            result = await run(ToolCallingAgent(model, [add]), "t", journal=journal)
    assert srv.count == 2  # the big one was read once
    assert_failed_after_one_tool_round(journal, result, "ResponseTooLargeError")
    message = result.error["message"]
    assert "max_response_bytes=100,000" in message and "OpenAICompatible(..., max_response_bytes=N)" in message
    journal.close()
    assert b"x" * 1000 not in journal_bytes(tmp_path / "j.db")


async def test_a_body_that_never_ends_is_read_to_the_cap_once():
    """A server that sends chunks forever: reading stops at the cap and the connection is dropped."""
    connections = 0
    sent = 0

    async def endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections, sent
        connections += 1
        while (await reader.readline()) not in (b"\r\n", b""):  # the request head
            pass
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"x" * 16384
        try:
            while True:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                await writer.drain()
                sent += len(chunk)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(endless, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with OpenAICompatible("m", base_url=f"http://127.0.0.1:{port}/v1", retry=RETRY,
                                    max_response_bytes=256_000) as model:
            from agentzoo.types import ModelRequest

            with pytest.raises(ResponseTooLargeError, match="max_response_bytes=256,000") as info:
                await asyncio.wait_for(model.complete(ModelRequest(messages=[{"role": "user", "content": "hi"}])), 30)
        assert not info.value.retryable and connections == 1
    finally:
        server.close()
    # What the server managed to push is bounded by the cap plus what the socket buffers held.
    assert sent < 64 << 20


async def test_an_oversized_stream_stops_at_the_cap(tmp_path):
    journal = Journal(tmp_path / "j.db")
    piece = {"choices": [{"index": 0, "delta": {"content": "y" * 1000}}]}
    shown: list[str] = []
    async with FakeOpenAIServer([TOOL_TURN, {"sse": [piece] * 200}]) as srv:
        async with OpenAICompatible("m", base_url=srv.base_url, retry=RETRY, stream=True,
                                    max_response_bytes=50_000) as model:
            result = await run(ToolCallingAgent(model, [add]), "t", journal=journal, on_delta=shown.append)
    assert srv.count == 2
    assert_failed_after_one_tool_round(journal, result, "ResponseTooLargeError")
    assert "the stream was cut after" in result.error["message"]
    assert len("".join(shown)) <= 50_000


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_too_many_tool_calls_in_one_reply_end_the_call(tmp_path, stream):
    journal = Journal(tmp_path / "j.db")
    runaway = {"tool_calls": [{"name": "add", "arguments": {"a": i, "b": i}} for i in range(50)]}
    async with FakeOpenAIServer([TOOL_TURN, runaway]) as srv:
        async with OpenAICompatible("m", base_url=srv.base_url, retry=RETRY, stream=stream,
                                    max_tool_calls=8) as model:
            result = await run(ToolCallingAgent(model, [add]), "t", journal=journal)
    assert srv.count == 2
    assert_failed_after_one_tool_round(journal, result, "TooManyToolCallsError")
    assert "max_tool_calls=8" in result.error["message"]
    assert issubclass(TooManyToolCallsError, __import__("agentzoo").errors.UnexpectedModelBehavior)


# --- tools called from sandboxed code ---------------------------------------------------------------


@tool
def lookup(key: str) -> dict:
    """Look a key up."""
    return {"key": key[:10], "length": len(key)}


@tool
def dump(n: int) -> str:
    """Return n bytes of data."""
    return "z" * n


class CodeAgent:
    def __init__(self, code: str, **executor_options):
        tools = ToolSet([lookup, dump])
        self.code = code
        self.executor = CodeExecutor(Sandbox(tier="unsafe", allow_unsafe=True, tools=tools), tools,
                                     **executor_options)

    async def run(self, task: str, ctx: Context):
        try:
            first = await self.executor.execute(ctx, "print(lookup(key='before'))")
            second = await self.executor.execute(ctx, self.code)
            return first.stdout + second.stdout + str(second.error or "")
        finally:
            await self.executor.close()


OVERSIZED = """
for make in (lambda: lookup(key="x" * 300_000), lambda: dump(n=50_000)):
    try:
        make()
    except ToolError as e:
        print("refused:", str(e)[:110])
print(lookup(key="after"))
"""


async def test_oversized_tool_calls_from_code_are_refused_before_the_journal(tmp_path):
    journal = Journal(tmp_path / "j.db")
    result = await run(CodeAgent(OVERSIZED, max_value_bytes=20_000), "t", journal=journal)
    assert result.ok
    lines = result.answer.splitlines()
    assert lines[0] == "{'key': 'before', 'length': 6}"
    assert lines[1].startswith("refused: ToolArgumentsError: the arguments are 300,")
    assert lines[2].startswith("refused: ToolResultTooLarge: the result of dump is 50,002 bytes of JSON, over the limit")
    assert lines[3] == "{'key': 'after', 'length': 5}"
    entries = list(journal.entries(result.run_id))
    refused = [e for e in entries if e.kind == "tool" and "arguments_refused" in e.request]
    assert [e.request["arguments_refused"] for e in refused] == [{"chars": 300_010, "limit": 100_000}]
    assert entries[0].status == "ok" and journal.get_run(result.run_id).status == "finished"
    journal.close()
    raw = journal_bytes(tmp_path / "j.db")
    assert b"x" * 1000 not in raw and b"z" * 25_000 not in raw


async def test_an_action_cannot_push_more_than_its_share_through_tool_calls(tmp_path):
    journal = Journal(tmp_path / "j.db")
    code = ("done = 0\nfor i in range(100):\n    try:\n        lookup(key='k' * 20_000); done += 1\n"
            "    except ToolError as e:\n        print('stopped after', done, str(e)[:60]); break")
    result = await run(CodeAgent(code, max_bytes_per_action=100_000), "t", journal=journal)
    assert result.ok and "stopped after 4 ToolArgumentsError: this action's tool calls passed" in result.answer
    journal.close()
    assert len(journal_bytes(tmp_path / "j.db")) < 1_000_000  # 100 calls would have written 2 MB


async def test_a_huge_tool_result_for_the_model_is_cut_with_a_marker(tmp_path):
    journal = Journal(tmp_path / "j.db")
    model = ScriptedModel([{"tool_calls": [{"name": "dump", "arguments": {"n": 5_000_000}}]}, "ok"])
    result = await run(ToolCallingAgent(model, [dump]), "t", journal=journal)
    assert result.ok
    tool_message = model.requests[1].messages[-1]["content"]
    assert "characters cut" in tool_message and len(tool_message) < 25_000
    journal.close()
    assert len(journal_bytes(tmp_path / "j.db")) < 1_000_000
