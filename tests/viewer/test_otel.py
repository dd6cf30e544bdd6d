"""Runs as OpenTelemetry GenAI spans: names and attributes checked against the semantic conventions'
registry (the SDK's in-memory exporter), a live run through the gateway listener, and spans sent
over OTLP/HTTP to a receiver on 127.0.0.1 that decodes the protobuf."""

from __future__ import annotations

import asyncio
import gzip
import os
import subprocess
import sys
import threading
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as registry  # noqa: E402
from opentelemetry.trace import SpanKind, StatusCode  # noqa: E402

import agentzoo  # noqa: E402
from agentzoo import Journal, ScriptedModel, ToolCallingAgent  # noqa: E402
from agentzoo.viewer import otel  # noqa: E402

from .runs import add, call, fork_pair, team_run, tool_run  # noqa: E402

CURRENT = {getattr(registry, name) for name in dir(registry) if name.startswith("GEN_AI_")}
# Renamed away in the conventions: emitting these would look right and read wrong.
DEPRECATED = {registry.GEN_AI_SYSTEM, registry.GEN_AI_USAGE_PROMPT_TOKENS, registry.GEN_AI_USAGE_COMPLETION_TOKENS,
              registry.GEN_AI_PROMPT, registry.GEN_AI_COMPLETION}
OPERATIONS = {v.value for v in registry.GenAiOperationNameValues}


def exported(journal, run_id):
    memory = InMemorySpanExporter()
    provider = otel.tracer_provider(memory, batch=False)
    count = otel.export_run(provider, journal.get_run(run_id), journal.entries(run_id))
    provider.shutdown()
    spans = memory.get_finished_spans()
    assert len(spans) == count
    return spans


def by_name(spans):
    out = {}
    for s in spans:
        out.setdefault(s.name, []).append(s)
    return out


def test_every_gen_ai_attribute_is_a_current_name_of_the_conventions(journal):
    run_id = asyncio.run(team_run(journal))
    tool_id = asyncio.run(tool_run(journal))
    for span in exported(journal, run_id) + exported(journal, tool_id):
        names = set(span.attributes)
        gen_ai = {n for n in names if n.startswith("gen_ai.")}
        assert gen_ai <= CURRENT, (span.name, gen_ai - CURRENT)
        assert not names & DEPRECATED
        assert {n for n in names - gen_ai if "." in n} <= {"error.type"} | {n for n in names if n.startswith("agentzoo.")}
        if "gen_ai.operation.name" in names:
            assert span.attributes["gen_ai.operation.name"] in OPERATIONS


def test_a_tool_run_is_an_agent_span_with_chat_and_tool_children_at_the_recorded_times(journal):
    run_id = asyncio.run(tool_run(journal))
    spans = exported(journal, run_id)
    names = by_name(spans)
    assert sorted(names) == ["chat scripted", "execute_tool add", "invoke_agent tool-calling"]
    root = names["invoke_agent tool-calling"][0]
    assert root.parent is None and root.kind == SpanKind.INTERNAL
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "tool-calling"
    assert root.attributes["gen_ai.conversation.id"] == run_id
    assert root.attributes["gen_ai.provider.name"] == "scripted"
    assert root.attributes["agentzoo.status"] == "finished"
    entries = list(journal.entries(run_id))
    chats = names["chat scripted"]
    assert len(chats) == 2
    for chat, entry in zip(chats, [e for e in entries if e.kind == "model"]):
        assert chat.parent.span_id == root.context.span_id and chat.kind == SpanKind.CLIENT
        assert chat.attributes["gen_ai.operation.name"] == "chat"
        assert chat.attributes["gen_ai.request.model"] == "scripted"
        assert chat.attributes["gen_ai.usage.input_tokens"] == entry.usage.input_tokens > 0
        assert chat.attributes["gen_ai.usage.output_tokens"] == entry.usage.output_tokens > 0
        assert chat.start_time == int(entry.started_at * 1e9) and chat.end_time == int(entry.ended_at * 1e9)
        assert (chat.attributes["agentzoo.scope"], chat.attributes["agentzoo.seq"]) == (entry.scope, entry.seq)
    assert chats[0].attributes["gen_ai.response.finish_reasons"] == ("tool_calls",)
    tool_span = names["execute_tool add"][0]
    assert tool_span.attributes["gen_ai.operation.name"] == "execute_tool"
    assert tool_span.attributes["gen_ai.tool.name"] == "add" and tool_span.attributes["gen_ai.tool.type"] == "function"
    # The root's usage is the sum of its calls'.
    assert root.attributes["gen_ai.usage.input_tokens"] == sum(e.usage.input_tokens for e in entries)


def test_cost_is_an_agentzoo_attribute_on_chat_spans_and_summed_on_the_agent(journal):
    from agentzoo import Pricing

    agent = ToolCallingAgent(ScriptedModel([call("add", '{"a": 1, "b": 1}'), "2"], name="priced"), [add])
    result = asyncio.run(agentzoo.run(agent, "x", journal=journal, pricing=Pricing({"priced": (1.0, 2.0)}),
                                      config={"version": 1, "agent": "tool-calling", "model": "openai:priced"}))
    spans = by_name(exported(journal, result.run_id))
    chats = spans["chat priced"]
    assert all(c.attributes["agentzoo.cost_usd"] > 0 for c in chats)
    assert all(c.attributes["gen_ai.provider.name"] == "openai" for c in chats)
    root = spans["invoke_agent tool-calling"][0]
    assert root.attributes["agentzoo.cost_usd"] == pytest.approx(sum(c.attributes["agentzoo.cost_usd"] for c in chats))
    assert root.attributes["agentzoo.cost_usd"] == pytest.approx(result.cost_usd)


def test_scopes_are_nested_agent_spans_and_code_that_raised_is_an_error(journal):
    run_id = asyncio.run(team_run(journal))
    spans = exported(journal, run_id)
    ids = {s.context.span_id: s for s in spans}
    names = by_name(spans)
    team = names["invoke_agent team"]
    assert len(team) == 2  # the run (agent "team") and its `team` scope
    root = next(s for s in team if s.parent is None)
    scope = next(s for s in team if s.parent is not None)
    assert scope.parent.span_id == root.context.span_id and scope.attributes["agentzoo.scope"] == "team"
    coders = names["invoke_agent coder"]
    assert sorted(c.attributes["agentzoo.scope"] for c in coders) == ["team/coder#1", "team/coder#2"]
    assert all(ids[c.parent.span_id] is scope for c in coders)
    sandbox = names["execute_tool sandbox.exec"][0]
    assert ids[sandbox.parent.span_id].attributes["agentzoo.scope"] == "team/lead"
    assert sandbox.attributes["error.type"] == "ZeroDivisionError" and sandbox.status.status_code == StatusCode.ERROR
    # A scope's span covers its effects.
    for s in spans:
        if s.parent is not None:
            parent = ids[s.parent.span_id]
            assert parent.start_time <= s.start_time and s.end_time <= parent.end_time


def test_a_failed_run_is_an_error_on_the_agent_span(journal):
    agent = ToolCallingAgent(ScriptedModel([call("add", '{"a": 1, "b": 1}')] * 3), [add], max_steps=2)
    result = asyncio.run(agentzoo.run(agent, "x", journal=journal, config={"version": 1, "model": "scripted:x"}))
    assert result.status == "failed"
    root = next(s for s in exported(journal, result.run_id) if s.parent is None)
    assert root.status.status_code == StatusCode.ERROR and root.attributes["error.type"] == result.error["type"]


def test_the_live_listener_exports_the_same_spans_as_the_journal_afterwards(journal):
    memory = InMemorySpanExporter()
    listener = otel.OtelListener(otel.tracer_provider(memory, batch=False))
    agent = ToolCallingAgent(ScriptedModel([call("add", '{"a": 2, "b": 3}'), "5"]), [add])
    result = asyncio.run(agentzoo.run(agent, "x", journal=journal, listeners=[listener],
                                      config={"version": 1, "agent": "tool-calling", "model": "scripted:x"}))
    # Effect spans go out as each effect completes; the agent's when the run has ended (the runner's on_end).
    assert sorted(s.name for s in memory.get_finished_spans()) == ["chat scripted", "chat scripted", "execute_tool add",
                                                                   "invoke_agent tool-calling"]
    listener.finish()  # nothing more to end
    live = memory.get_finished_spans()
    after = exported(journal, result.run_id)
    assert sorted((s.name, s.start_time, s.end_time) for s in live) == \
        sorted((s.name, s.start_time, s.end_time) for s in after)
    assert next(s for s in live if s.parent is None).attributes["agentzoo.status"] == "finished"


def test_a_replay_exports_nothing_and_a_fork_exports_its_own_run(journal):
    parent, child = asyncio.run(fork_pair(journal))
    memory = InMemorySpanExporter()
    listener = otel.OtelListener(otel.tracer_provider(memory, batch=False))
    agent = ToolCallingAgent(ScriptedModel([]), [add], system="sys")
    asyncio.run(agentzoo.replay(agent, parent, journal=journal, listeners=[listener]))
    listener.finish()
    assert memory.get_finished_spans() == ()
    spans = exported(journal, child)
    root = next(s for s in spans if s.parent is None)
    assert root.attributes["agentzoo.parent_run_id"] == parent


def test_otel_is_off_unless_asked_for(monkeypatch):
    monkeypatch.delenv(otel.ENV_FLAG, raising=False)
    assert otel.live_listeners(False) == []
    monkeypatch.setenv(otel.ENV_FLAG, "1")
    assert otel.enabled()
    assert otel.traces_endpoint("http://h:4318/") == "http://h:4318/v1/traces"
    assert otel.traces_endpoint("http://h:4318/v1/traces") == "http://h:4318/v1/traces"
    assert otel.traces_endpoint(None) is None


# --- over the wire ------------------------------------------------------------------------------

class Receiver:
    """A tiny OTLP/HTTP trace receiver on 127.0.0.1: decodes each ExportTraceServiceRequest."""

    def __init__(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (ExportTraceServiceRequest,
                                                                              ExportTraceServiceResponse)

        self.spans: list = []
        self.paths: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                encoding = self.headers.get("Content-Encoding")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                receiver.paths.append(self.path)
                for resource in request.resource_spans:
                    service = {a.key: a.value.string_value for a in resource.resource.attributes}.get("service.name")
                    for scope in resource.scope_spans:
                        receiver.spans += [(service, s) for s in scope.spans]
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def attributes(self, span) -> dict:
        out = {}
        for a in span.attributes:
            v = a.value
            out[a.key] = v.string_value or v.int_value or v.double_value or v.bool_value or list(v.array_value.values)
        return out

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def test_spans_reach_an_otlp_http_receiver(journal, receiver):
    run_id = asyncio.run(tool_run(journal))
    provider = otel.tracer_provider(endpoint=receiver.url)
    otel.export_run(provider, journal.get_run(run_id), journal.entries(run_id))
    provider.force_flush()
    provider.shutdown()
    assert receiver.paths and set(receiver.paths) == {"/v1/traces"}
    names = sorted(s.name for _, s in receiver.spans)
    assert names == ["chat scripted", "chat scripted", "execute_tool add", "invoke_agent tool-calling"]
    assert {service for service, _ in receiver.spans} == {"agentzoo"}
    chat = next(s for _, s in receiver.spans if s.name == "chat scripted")
    attributes = receiver.attributes(chat)
    assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.usage.input_tokens"] > 0
    assert len({s.trace_id for _, s in receiver.spans}) == 1


def test_the_command_exports_a_recorded_run_and_a_live_run_exports_with_the_flag(tmp_path, receiver):
    journal_path = tmp_path / "j.db"
    script = os.path.join(os.path.dirname(agentzoo.__file__), "examples", "demo_script.json")
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, COLUMNS="200")
    live = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "run", "what is (17+25)*3?", "--model",
                           f"scripted:{script}", "--tools", "agentzoo.examples.demo:add,agentzoo.examples.demo:multiply",
                           "--otel", "--journal", str(journal_path)], capture_output=True, text=True, env=env, timeout=60)
    assert live.returncode == 0, live.stdout + live.stderr
    live_names = sorted(s.name for _, s in receiver.spans)
    assert live_names.count("invoke_agent tool-calling") == 1 and "execute_tool add" in live_names
    receiver.spans.clear()
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "otel", "export", "latest", "--journal",
                          str(journal_path)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"to {receiver.url}/v1/traces" in out.stdout
    assert sorted(s.name for _, s in receiver.spans) == live_names


def test_the_command_exports_an_eval_folder_and_says_when_nothing_received_the_spans(tmp_path, receiver):
    from .runs import eval_folder

    folder = eval_folder(tmp_path / "results")
    env = dict(os.environ, COLUMNS="200", OTEL_EXPORTER_OTLP_TIMEOUT="1")
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "otel", "export", str(folder), "--endpoint",
                          receiver.url], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0 and "exported 64 spans of 16 runs" in out.stdout, out.stdout + out.stderr
    assert sum(1 for _, s in receiver.spans if s.name.startswith("invoke_agent")) == 16
    closed = receiver.url.rsplit(":", 1)[0] + ":9"  # the discard port: nothing listens there
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "otel", "export", str(folder), "--endpoint",
                          closed], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 2 and "could not send 64 of 64 spans" in out.stderr


def test_eval_with_the_flag_sends_every_samples_run_as_spans(tmp_path, receiver):
    env = dict(os.environ, OTEL_EXPORTER_OTLP_ENDPOINT=receiver.url, COLUMNS="200")
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "eval", "--env", "gsm8k", "--limit", "2",
                          "--model", "oracle", "--otel", "--out", str(tmp_path / "r")], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "of 2 runs" in out.stdout
    assert sum(1 for _, s in receiver.spans if s.name == "invoke_agent tool-calling") == 2
