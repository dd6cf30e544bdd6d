"""Runs as OpenTelemetry spans, following the GenAI semantic conventions.

One trace per run. The journal's scopes are the span tree, its entries the leaves:

    invoke_agent {agent}            the run (root scope): gen_ai.operation.name=invoke_agent, the spec's agent
      invoke_agent {role}           each scope below it (`team/coder#2` → role `coder`), nested as the scopes are
        chat {model}                a model call: gen_ai.request.model, gen_ai.usage.input_tokens / output_tokens,
                                    gen_ai.response.finish_reasons, the sampling asked for, agentzoo.cost_usd
        embeddings {model}          an embedding call
        execute_tool {tool}         a tool call: gen_ai.tool.name, gen_ai.tool.type=function
        execute_tool sandbox.exec   code the agent ran (an error it raised is the span's error.type)
        agentzoo.{kind} {name}      other effects (environment steps, human input, clock, random)

Attribute names are those of the GenAI conventions as of semantic-conventions v1.41 (the
development-status `gen_ai.*` registry: `gen_ai.provider.name`, not the older `gen_ai.system`).
Every span also says where it comes from in the journal (`agentzoo.run_id`, `agentzoo.scope`,
`agentzoo.seq`) and costs are `agentzoo.cost_usd` (the conventions have no cost attribute).
Message contents are not exported (they are opt-in in the conventions and may hold private data).

Spans carry the journal's own timestamps, so a run exported after the fact (`agentzoo otel export`)
looks exactly as it would have live (`--otel`, or `AGENTZOO_OTEL=1`). They go through the official
SDK and its OTLP/HTTP exporter to `OTEL_EXPORTER_OTLP_ENDPOINT` (or `..._TRACES_ENDPOINT`), which
defaults to http://localhost:4318: nothing leaves the machine unless the user names an endpoint.
The tracer provider is agentzoo's own, never the global one, so a host application's set-up is
left alone. Needs the `otel` extra: `pip install 'agentzoo[otel]'`.
"""

from __future__ import annotations

import atexit
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import ConfigError
from ..runtime.entry import Entry, RunInfo
from .shape import agent_label, role_name

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import Span, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

ENV_FLAG = "AGENTZOO_OTEL"
NS = 1_000_000_000
INSTALL = "OpenTelemetry export needs the otel extra: pip install 'agentzoo[otel]'"
_SAMPLING = {"temperature": "gen_ai.request.temperature", "top_p": "gen_ai.request.top_p",
             "max_tokens": "gen_ai.request.max_tokens", "seed": "gen_ai.request.seed",
             "stop": "gen_ai.request.stop_sequences"}
# Model-string kinds whose wire format is OpenAI's (the conventions' provider for those is `openai`).
_OPENAI_WIRE = {"openai", "openai-compatible"}


def enabled(flag: bool = False) -> bool:
    """`--otel`, or AGENTZOO_OTEL set to 1/true/yes/on."""
    return flag or os.environ.get(ENV_FLAG, "").strip().lower() in ("1", "true", "yes", "on")


def traces_endpoint(endpoint: str | None) -> str | None:
    """A base URL (as in OTEL_EXPORTER_OTLP_ENDPOINT) made the traces URL; None leaves it to the
    exporter, which reads the standard environment variables."""
    if not endpoint:
        return None
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def tracer_provider(exporter: SpanExporter | None = None, *, endpoint: str | None = None,
                    batch: bool = True) -> TracerProvider:
    """agentzoo's own tracer provider exporting over OTLP/HTTP (or to `exporter`)."""
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ModuleNotFoundError:
        raise ConfigError(INSTALL) from None
    if exporter is None:
        exporter = otlp_exporter(endpoint)
    attributes = {"service.version": __version__}
    if not os.environ.get("OTEL_SERVICE_NAME"):
        attributes["service.name"] = "agentzoo"
    # No exit hook of the SDK's own: ours ends the open runs' spans first, then shuts it down.
    provider = TracerProvider(resource=Resource.create(attributes), shutdown_on_exit=False)
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    return provider


def otlp_exporter(endpoint: str | None = None) -> SpanExporter:
    """The official OTLP/HTTP exporter, to `endpoint` (a base URL) or where the environment says."""
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ModuleNotFoundError:
        raise ConfigError(INSTALL) from None
    return OTLPSpanExporter(endpoint=traces_endpoint(endpoint))


def counted(exporter: SpanExporter) -> SpanExporter:
    """`exporter`, counting the spans it sent (`.sent`) and failed to send (`.failed`), so that a
    command can say whether they arrived (the SDK's processors only log a failure)."""
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Counted(SpanExporter):
        def __init__(self) -> None:
            self.sent = self.failed = 0

        def export(self, spans):  # type: ignore[no-untyped-def]
            result = exporter.export(spans)
            if result == SpanExportResult.SUCCESS:
                self.sent += len(spans)
            else:
                self.failed += len(spans)
            return result

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return exporter.force_flush(timeout_millis)

    return Counted()


def provider_name(model: str) -> str:
    """`gen_ai.provider.name` for a model string: `openai` for the OpenAI wire format, else the kind
    (a custom value, as the conventions allow: `scripted`, `oracle`, `local`)."""
    kind = model.partition(":")[0] if ":" in model else model
    return "openai" if kind in _OPENAI_WIRE else (kind or "_OTHER")


class RunSpans:
    """The spans of one run, built entry by entry (live or from the journal)."""

    def __init__(self, provider: TracerProvider, info: RunInfo, start: float | None = None) -> None:
        from opentelemetry.trace import SpanKind

        self._kind = SpanKind
        self.tracer = provider.get_tracer("agentzoo", __version__)
        self.info = info
        config = info.config if isinstance(info.config, dict) else {}
        self.model_string = str(config.get("model") or "")
        self.role_models = config.get("models") if isinstance(config.get("models"), dict) else {}
        agent = agent_label(config)
        self.common = {"gen_ai.conversation.id": info.run_id, "agentzoo.run_id": info.run_id}
        attributes = {**self.common, "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent,
                      "gen_ai.agent.id": info.run_id, "gen_ai.provider.name": provider_name(self.model_string),
                      "agentzoo.scope": ""}
        if self.model_string:
            attributes["agentzoo.model"] = self.model_string
        if info.parent_id:
            attributes["agentzoo.parent_run_id"] = info.parent_id
        self.root = self.tracer.start_span(f"invoke_agent {agent}", kind=SpanKind.INTERNAL, attributes=attributes,
                                           start_time=_ns(start if start is not None else info.created_at))
        self.scopes: dict[str, Span] = {"": self.root}
        self.totals: dict[str, list[float]] = {"": [0, 0, 0.0]}
        """Per scope span: input tokens, output tokens, cost of everything below it."""
        self.last_end: dict[str, float] = {"": info.created_at}
        self.spans = 1
        self._lock = threading.Lock()
        self.finished = False

    def _scope(self, scope: str, start: float) -> Span:
        span = self.scopes.get(scope)
        if span is not None:
            return span
        parent_path = scope.rsplit("/", 1)[0] if "/" in scope else ""
        parent = self._scope(parent_path, start)
        from opentelemetry import trace

        role = role_name(scope)
        span = self.tracer.start_span(
            f"invoke_agent {role}", context=trace.set_span_in_context(parent), kind=self._kind.INTERNAL,
            start_time=_ns(start),
            attributes={**self.common, "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": role,
                        "gen_ai.agent.id": f"{self.info.run_id}/{scope}",
                        "gen_ai.provider.name": provider_name(self._model_for(scope)), "agentzoo.scope": scope})
        self.scopes[scope] = span
        self.totals[scope] = [0, 0, 0.0]
        self.last_end[scope] = start
        self.spans += 1
        return span

    def _model_for(self, scope: str) -> str:
        for segment in reversed(scope.split("/")):
            role = role_name(segment)
            if role in self.role_models:
                return str(self.role_models[role])
        return self.model_string

    def add(self, entry: Entry) -> None:
        """One effect as a span under its scope's span, with the entry's own start and end."""
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        with self._lock:
            if self.finished:
                return
            parent = self._scope(entry.scope, entry.started_at)
            name, kind, attributes, error_type = self._describe(entry)
            span = self.tracer.start_span(name, context=trace.set_span_in_context(parent), kind=kind,
                                          attributes=attributes, start_time=_ns(entry.started_at))
            if error_type:
                span.set_attribute("error.type", error_type)
                span.set_status(Status(StatusCode.ERROR, _error_message(entry)))
            span.end(end_time=_ns(max(entry.ended_at, entry.started_at)))
            self.spans += 1
            path = entry.scope
            while True:  # usage and time count for every scope up to the root
                totals = self.totals[path]
                totals[0] += entry.usage.input_tokens
                totals[1] += entry.usage.output_tokens
                totals[2] += entry.cost_usd or 0.0
                self.last_end[path] = max(self.last_end[path], entry.ended_at)
                if not path:
                    break
                path = path.rsplit("/", 1)[0] if "/" in path else ""

    def _describe(self, entry: Entry) -> tuple[str, Any, dict[str, Any], str | None]:
        """Span name, kind, attributes, and the error type if the effect failed."""
        attributes: dict[str, Any] = {**self.common, "agentzoo.scope": entry.scope, "agentzoo.seq": entry.seq,
                                      "agentzoo.effect.kind": entry.kind, "agentzoo.request_hash": entry.request_hash}
        error = (entry.error or {}).get("type") if entry.status == "error" else None
        if entry.status == "started":
            error = "interrupted"  # a side effect cut off before it finished
        result = entry.result if isinstance(entry.result, dict) else {}
        request = entry.request if isinstance(entry.request, dict) else {}
        if entry.kind in ("model", "embed"):
            operation = "chat" if entry.kind == "model" else "embeddings"
            attributes.update({"gen_ai.operation.name": operation, "gen_ai.request.model": entry.name,
                               "gen_ai.provider.name": provider_name(self._model_for(entry.scope)),
                               "gen_ai.usage.input_tokens": entry.usage.input_tokens})
            if entry.kind == "model":
                attributes["gen_ai.usage.output_tokens"] = entry.usage.output_tokens
                for key, attribute in _SAMPLING.items():
                    value = request.get(key)
                    if _attribute_value(value):
                        attributes[attribute] = value
                if isinstance(result.get("finish_reason"), str):
                    attributes["gen_ai.response.finish_reasons"] = [result["finish_reason"]]
                if isinstance(result.get("model"), str) and result["model"]:
                    attributes["gen_ai.response.model"] = result["model"]
            if entry.cost_usd is not None:
                attributes["agentzoo.cost_usd"] = entry.cost_usd
            return f"{operation} {entry.name}", self._kind.CLIENT, attributes, error
        if entry.kind in ("tool", "sandbox"):
            tool = entry.name if entry.kind == "tool" else f"sandbox.{entry.name}"
            attributes.update({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": tool})
            if entry.kind == "tool":
                attributes["gen_ai.tool.type"] = "function"
                if result.get("is_error") and not error:
                    error = str(result.get("error_type") or "tool_error")
            elif isinstance(result.get("error"), dict) and not error:
                error = str(result["error"].get("type") or "Error")  # the code raised
            return f"execute_tool {tool}", self._kind.INTERNAL, attributes, error
        return f"agentzoo.{entry.kind} {entry.name}", self._kind.INTERNAL, attributes, error

    def finish(self, info: RunInfo | None = None) -> None:
        """End every scope span at its last effect and the run's span at the run's end, with its status."""
        from opentelemetry.trace import Status, StatusCode

        with self._lock:
            if self.finished:
                return
            self.finished = True
            info = info or self.info
            for path in sorted(self.scopes, key=lambda p: -p.count("/") - bool(p)):  # children first
                span, (tin, tout, cost) = self.scopes[path], self.totals[path]
                span.set_attribute("gen_ai.usage.input_tokens", int(tin))
                span.set_attribute("gen_ai.usage.output_tokens", int(tout))
                span.set_attribute("agentzoo.cost_usd", float(cost))
                if path:
                    span.end(end_time=_ns(self.last_end[path]))
            self.root.set_attribute("agentzoo.status", info.status)
            if info.status in ("failed", "interrupted", "corrupt"):
                error_type = str((info.error or {}).get("type") or info.status)
                self.root.set_attribute("error.type", error_type)
                self.root.set_status(Status(StatusCode.ERROR, str((info.error or {}).get("message") or "")[:500]))
            end = max(self.last_end[""], info.updated_at if info.status != "running" else 0.0)
            self.root.end(end_time=_ns(end))


def export_run(provider: TracerProvider, info: RunInfo, entries: Any) -> int:
    """Replay a recorded run as spans with its recorded times; the number of spans made."""
    spans = RunSpans(provider, info)
    for entry in entries:
        spans.add(entry)
    spans.finish(info)
    return spans.spans


class OtelListener:
    """A gateway listener that exports a run's spans as its effects complete (`--otel`).

    Effect spans are exported as they end; the scope and run spans when the run ends: `finish()`,
    called by whoever ran it, or at the latest when the process exits. A replay exports nothing (it
    is the recorded run again), a resume only what it performs, a fork everything of the new run.
    """

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider or tracer_provider()
        self.spans: RunSpans | None = None
        self.mode = "live"
        self.journal_path: Path | None = None
        _OPEN.add(self)

    def on_run(self, run_id: str, mode: str, journal: Any) -> None:
        self.mode = mode
        if mode == "replay" or journal is None:
            return
        info = journal.get_run(run_id)
        path = getattr(journal, "path", None)
        self.journal_path = Path(path) if path is not None and str(path) != ":memory:" else None
        self.spans = RunSpans(self.provider, info, start=info.created_at)

    def __call__(self, entry: Entry, served: bool) -> None:
        if self.spans is None or (served and self.mode == "resume"):
            return
        self.spans.add(entry)

    def on_end(self, result: Any) -> None:
        """The runner's call when the run has ended: its spans end with it."""
        self.finish()

    def finish(self, info: RunInfo | None = None) -> None:
        """End the run's spans (with `info`, or the run's row as the journal has it now) and flush."""
        if self.spans is not None and not self.spans.finished:
            self.spans.finish(info or self._final_info())
        self.provider.force_flush()

    def _final_info(self) -> RunInfo | None:
        if self.spans is None or self.journal_path is None or not self.journal_path.is_file():
            return None
        from .store import JournalView

        try:
            view = JournalView(self.journal_path)
            try:
                return view.run(self.spans.info.run_id)
            finally:
                view.close()
        except Exception:  # the run's spans still go out, with the status they started with
            return None


def live_listeners(flag: bool = False) -> list[OtelListener]:
    """[an `OtelListener`] when `--otel` or AGENTZOO_OTEL asks for one, else []."""
    return [OtelListener()] if enabled(flag) else []


_OPEN: set[OtelListener] = set()
"""Every listener made, kept until the process exits: its spans are flushed then, if not before."""


@atexit.register
def _finish_open_listeners() -> None:
    # The providers made here have no exit hook of their own, so the spans are ended before the
    # provider shuts down (flushing them).
    for listener in list(_OPEN):
        try:
            listener.finish()
            listener.provider.shutdown()
        except Exception:  # exporting is best effort at exit; the journal keeps everything
            pass


def _attribute_value(value: Any) -> bool:
    """A value an attribute can hold: a number or text, or a list of text (stop sequences)."""
    if isinstance(value, list):
        return bool(value) and all(isinstance(v, str) for v in value)
    return isinstance(value, (int, float, str)) and not isinstance(value, bool)


def _ns(t: float) -> int:
    return int(t * NS)


def _error_message(entry: Entry) -> str:
    if entry.error:
        return str(entry.error.get("message") or "")[:500]
    return ""
