"""The effect gateway: every effect of a run passes here and becomes a journal entry.

Modes:
- `live`    perform every effect and record it;
- `replay`  serve every effect from the journal, perform nothing, write nothing; a request
            that differs from the recorded one is a `DivergenceError`;
- `resume`  serve the recorded prefix, then perform live (same run id): a crashed run
            finishes without repeating a completed call;
- `fork`    serve from the parent run until the first divergence, then go live, writing
            everything (served prefix included) under a new run id linked to the parent.
            Divergence is tracked per scope: a scope goes live at its own first differing
            request, while other scopes keep being served as long as their requests match.
            That is deterministic however concurrent branches interleave, and reuses every
            call whose request is unchanged (the premise of replay itself).
"""

from __future__ import annotations

import asyncio
import time
from contextvars import ContextVar
from dataclasses import replace
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from .. import _json
from ..errors import (BudgetExceeded, CorruptJournalError, DivergenceError, InterruptedEffectError, ReplayedError,
                      ReplayMissingError, ScopeReusedError, ToolErrorLimit)
from ..protocols import DeltaCallback, Embedder, Model
from ..types import ModelRequest, ModelResponse, Usage
from .budgets import Budget, BudgetTracker
from .entry import Entry
from .journal import Journal
from . import secrets
from .pricing import Pricing, default_pricing
from .request_codec import RequestEncoder, is_model_request
from .scope import Scope

Mode = Literal["live", "replay", "resume", "fork"]
Listener = Callable[[Entry, bool], None]
"""Called after each effect with the entry and whether it was served from the journal.

A listener may also have `on_run(run_id, mode, journal)`, called when the gateway is made (the CLI
learns the id of the run it can tell the user to resume), and `on_start(scope, seq, kind, name)`,
called just before an effect is performed live (a display can show a call in flight)."""


CURRENT_GATEWAY: ContextVar[Gateway | None] = ContextVar("agentzoo_gateway", default=None)
"""The gateway of the run the current task belongs to (set by the runner), for code that is handed
no context, e.g. an environment's tool asking which model turn it was called in."""


def current_gateway() -> Gateway | None:
    return CURRENT_GATEWAY.get()


CURRENT_EFFECT: ContextVar[tuple[str, int] | None] = ContextVar("agentzoo_effect", default=None)
"""`(scope, seq)` of the effect being performed live in the current task: an effect made inside another
(an environment step inside a tool call) names its scope after it (`agentzoo.envs.stepping`), so its
key is the same however many calls before it were served from the journal."""


def current_effect() -> tuple[str, int] | None:
    return CURRENT_EFFECT.get()


class Gateway:
    def __init__(self, *, run_id: str, journal: Journal | None = None, mode: Mode = "live",
                 source_run_id: str | None = None, budgets: dict[str, Budget] | Budget | None = None,
                 pricing: Pricing | None = None, listeners: list[Listener] | None = None,
                 max_consecutive_tool_errors: int = 10, rerun_interrupted: bool = False) -> None:
        if mode != "live" and journal is None:
            raise ValueError(f"mode {mode!r} needs a journal")
        self.run_id = run_id
        self.journal = journal
        self.mode: Mode = mode
        self.source_run_id = source_run_id or run_id
        self.budgets = BudgetTracker(budgets)
        self.pricing = pricing or default_pricing()
        self.listeners = list(listeners or [])
        self._hook("on_run", run_id, mode, journal)
        self.max_consecutive_tool_errors = max_consecutive_tool_errors
        self.rerun_interrupted = rerun_interrupted
        secrets.current(reread_env=True)  # a run sees the environment's secrets as they are when it starts
        self.fork_point: dict[str, Any] | None = None
        """Set in fork mode at the first divergence: `{"scope", "seq", "differences"}`."""
        self.diverged_scopes: set[str] = set()
        # Totals over every effect of this run, served or performed.
        self.usage = Usage()
        self.cost_usd = 0.0
        self.unpriced_calls = 0
        self.model_calls = 0
        self.model_attempts = 0
        """Attempts behind `model_calls`, retries included (a backend that does not retry: one each)."""
        self.tool_calls = 0
        self.live_effects = 0
        self._consecutive_tool_errors = 0
        self._encoder = RequestEncoder()
        self._last_seq: dict[str, int] = {}
        """The last seq of each scope path: a key asked for again means two scopes share a path."""

    # --- the one door -----------------------------------------------------------------------

    async def effect(self, scope: Scope, kind: str, name: str, request: Any,
                     perform: Callable[[], Awaitable[Any]], *, side_effects: bool = False, local: bool = False,
                     account: Callable[[Any], tuple[Usage, float | None]] | None = None,
                     on_served: Callable[[Any], None] | None = None) -> Any:
        """Perform (or serve) one effect and return its JSON result.

        `perform` is only awaited when the effect is live. `account`, given the result,
        returns its usage and cost. An exception from `perform` is recorded and re-raised.
        The entry is committed before this returns, unless the effect is `local`: computed in
        this process with nothing outside it touched, so that performing it again after a
        crash costs nothing and changes nothing (see `Journal`); it goes in with the next commit.
        `on_served`, if given, is called with the result when it is served from the journal.
        """
        seq = scope.next_seq()
        if self._last_seq.get(scope.path, -1) >= seq:
            raise self._reused(scope.path, seq, kind, name)
        self._last_seq[scope.path] = seq
        # Serialised once: hashed, and stored as it is (sanitised: surrogates, NaN), with secrets
        # masked first: the hash is of what is stored, so replay and resume, masking the same
        # way, compute the same hash. A model request is hashed and stored by its new messages.
        redactor = secrets.current()
        encoded = blobs = None
        if is_model_request(kind, request):
            encoded = self._encoder.encode(scope.path, seq, request, redactor)
            request, request_json, digest, blobs = encoded.request, encoded.stored, encoded.digest, encoded.blobs
        else:
            request_json, digest = _json.canonical_with_hash(request)
            if (masked := redactor.json(request, request_json)) is not None:
                request = masked
                request_json, digest = _json.canonical_with_hash(request)
        served = self._serve(scope.path, seq, kind, request, digest)
        if served is not None:
            if encoded is not None:
                self._encoder.advance(encoded)
            if on_served is not None:
                on_served(served.result)
            self._emit(served, True)
            return served.result

        wall = self.budgets.wall_deadline(scope.path)
        if wall is not None and time.monotonic() >= wall[0]:
            raise BudgetTracker.wall_exceeded(wall, scope.path)  # no effect starts past the budget's end
        if encoded is not None:  # from here on this request has an entry in the run
            self._encoder.advance(encoded)
        started = time.time()
        if side_effects and self.journal is not None:
            # Written (and committed) first so that a crash in the middle is seen on resume, not
            # silently re-run.
            self.journal.put(Entry(self.run_id, scope.path, seq, kind, name, request, digest,  # type: ignore[arg-type]
                                   status="started", started_at=started, ended_at=started, side_effects=True),
                             request_json=request_json, blobs=blobs, commit=False)
            await self.journal.committed()
        self._hook("on_start", scope.path, seq, kind, name)
        outer = CURRENT_EFFECT.set((scope.path, seq))
        try:
            if wall is None:
                result = await perform()
            else:
                result = await self._within(wall, perform, scope.path, f"the {kind} call {name!r}")
        except BaseException as exc:
            if side_effects and ((isinstance(exc, BudgetExceeded) and exc.during)
                                 or isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt))):
                # Cut mid-way (a budget, Ctrl-C, a cancelled task), it may or may not have taken
                # effect: the `started` entry stays, so resume asks before running it again (as after a crash).
                raise
            error = redactor.error(exc)
            if attempts := getattr(exc, "attempts", None):  # a model call's failed attempts (models.retry)
                error["attempts"] = _masked(redactor, attempts)
            if side_effects and getattr(exc, "may_have_taken_effect", False):
                # Failed mid-way (a server that died during the call): resume treats it as interrupted.
                error["may_have_taken_effect"] = True
            entry = Entry(self.run_id, scope.path, seq, kind, name, request, digest, status="error",  # type: ignore[arg-type]
                          error=error, started_at=started, ended_at=time.time(), side_effects=side_effects)
            await self._record_live(entry, request_json, None, blobs, local)
            raise
        finally:
            CURRENT_EFFECT.reset(outer)
        result_json = _json.dumps(result)
        if (masked := redactor.json(result, result_json)) is not None:
            result_json = _json.dumps(masked)
        # The program gets exactly what the journal holds (secrets masked), so replay matches.
        result = _json.loads(result_json)
        usage, cost = account(result) if account else NOTHING_SPENT
        entry = Entry(self.run_id, scope.path, seq, kind, name, request, digest, result, "ok", None,  # type: ignore[arg-type]
                      usage, cost, started, time.time(), side_effects)
        self.live_effects += 1
        await self._record_live(entry, request_json, result_json, blobs, local)
        return result

    async def _record_live(self, entry: Entry, request_json: bytes, result_json: bytes | None,
                           blobs: dict[str, bytes] | None, local: bool) -> None:
        """Record an effect performed live; unless it is local, return only once its entry is
        committed (a group commit with the effects that finish in the same loop turn)."""
        self._record(entry, emit=False, request_json=request_json, result_json=result_json, blobs=blobs, commit=False)
        if not local and self.journal is not None and self.mode != "replay":
            await self.journal.committed()
        self._emit(entry, False)

    def _reused(self, path: str, seq: int, kind: str, name: str) -> ScopeReusedError:
        return ScopeReusedError(
            f"run {self.run_id}: the {kind} effect {name!r} asks for scope {path or '<root>'!r} seq {seq}, which an "
            f"earlier effect of the run has (its scope reached seq {self._last_seq[path]}): two Scope objects share "
            "that path, as when ctx.child(name, index) is called twice with the same name and index. Make the child "
            "once and use it for every effect of that branch, or give each branch its own index")

    @staticmethod
    async def _within(wall: tuple[float, str, float, float], perform: Callable[[], Awaitable[Any]], at: str,
                      what: str) -> Any:
        """Perform, but cut it when the wall-clock budget `wall` runs out (a hung endpoint, a stuck tool)."""
        timer = asyncio.timeout(max(wall[0] - time.monotonic(), 0.0))
        try:
            async with timer:
                return await perform()
        except TimeoutError:
            if not timer.expired():
                raise
            raise BudgetTracker.wall_exceeded(wall, at, during=what) from None

    def serve_recorded(self, scope: Scope) -> None:
        """Serve the recorded effects of `scope` that no one will ask for: those made inside an
        effect that was itself served (the tool calls of a replayed code action, in its `…/code#N`
        scope). They are counted and shown as served, and a fork copies them, as if asked for."""
        if self.mode == "live" or self.journal is None or scope.path in self.diverged_scopes:
            return
        seq = 0
        while (recorded := self.journal.get(self.source_run_id, scope.path, seq)) is not None:
            if self.mode == "fork":
                self._record(replace(recorded, run_id=self.run_id), emit=False, commit=False)
            else:
                self._account(recorded)
            self._emit(recorded, True)
            seq += 1

    def _serve(self, scope: str, seq: int, kind: str, request: Any, digest: str) -> Entry | None:
        """The recorded entry to serve instead of performing the effect, if the mode says so."""
        if self.mode == "live" or scope in self.diverged_scopes:
            return None
        assert self.journal is not None
        recorded = self.journal.get(self.source_run_id, scope, seq)
        if recorded is None:
            if self.mode == "replay":
                raise ReplayMissingError(f"run {self.source_run_id} has no recorded {kind} effect at scope "
                                         f"{scope!r} seq {seq}: the program asked for more than was recorded")
            if self.mode == "fork":
                self._diverge(scope, seq, ["the parent has no entry here"])
            return None
        if recorded.request_hash != digest:
            differences = describe_differences(recorded.request, request)
            if self.mode == "fork":
                self._diverge(scope, seq, differences)
                return None
            raise DivergenceError(run_id=self.source_run_id, scope=scope, seq=seq, kind=kind,
                                  differences=differences)
        if recorded.status == "ok":
            if self.mode == "fork":  # a copy: committed with the next live effect or the run's end
                self._record(replace(recorded, run_id=self.run_id), emit=False, commit=False)
            else:
                self._account(recorded)
            return recorded
        err = recorded.error or {}
        if recorded.status == "started":
            if self.mode == "replay":
                raise ReplayMissingError(f"run {self.source_run_id}: the {kind} effect at {scope!r} seq {seq} "
                                         "never finished, so it cannot be replayed")
            how = "was interrupted before it finished"
        elif self.mode == "replay":  # a recorded error: strict replay re-raises it
            raise ReplayedError(err.get("type", "Error"), err.get("message", ""))
        elif recorded.side_effects and err.get("may_have_taken_effect"):
            how = f"failed mid-way ({err.get('type')}: {err.get('message')})"
        else:
            return None  # a recorded error: resume and fork perform the effect again
        if not self.rerun_interrupted:
            raise InterruptedEffectError(
                f"run {self.source_run_id}: {kind} {recorded.name!r} at scope {scope!r} seq {seq} has side "
                f"effects and {how}; it may or may not have taken effect. "
                "Check, then resume with rerun_interrupted=True (CLI: --rerun-interrupted) to run it again.")
        return None

    def _diverge(self, scope: str, seq: int, differences: list[str]) -> None:
        self.diverged_scopes.add(scope)
        if self.fork_point is None:
            self.fork_point = {"scope": scope, "seq": seq, "differences": differences}

    def _record(self, entry: Entry, emit: bool = True, request_json: bytes | None = None,
                result_json: bytes | None = None, blobs: dict[str, bytes] | None = None, commit: bool = True) -> None:
        if self.journal is not None and self.mode != "replay":
            self.journal.put(entry, request_json=request_json, result_json=result_json, blobs=blobs, commit=commit)
        self._account(entry)
        if emit:
            self._emit(entry, False)

    def _account(self, entry: Entry) -> None:
        if entry.kind == "model" and entry.status != "started":
            self.model_attempts += model_attempts(entry)  # a failed call's attempts count too
        if entry.status != "ok":
            return
        if entry.kind == "model":
            self.model_calls += 1
            self.usage = self.usage + entry.usage
            if entry.cost_usd is None:
                self.unpriced_calls += 1
            else:
                self.cost_usd += entry.cost_usd
            self.budgets.record_model_call(entry.scope, entry.usage, entry.cost_usd)
        elif entry.kind in ("tool", "a2a"):
            if entry.kind == "tool":
                self.tool_calls += 1
            if entry.usage.total_tokens or entry.cost_usd:
                # A remote agent's own model use, as it reported it (a team member, or a tool that reported
                # it with `tools.calling.report_spent`): spent for this run.
                self.usage = self.usage + entry.usage
                self.cost_usd += entry.cost_usd or 0.0
                self.budgets.record_spend(entry.scope, entry.usage, entry.cost_usd)

    def _emit(self, entry: Entry, served: bool) -> None:
        for listener in self.listeners:
            listener(entry, served)

    def _hook(self, name: str, *args: Any) -> None:
        """Call the optional listener method `name` (see `Listener`) on the listeners that have it."""
        for listener in self.listeners:
            if (method := getattr(listener, name, None)) is not None:
                method(*args)

    # --- effects with a known shape ---------------------------------------------------------

    async def model_call(self, scope: Scope, model: Model, request: ModelRequest,
                         on_delta: DeltaCallback | None = None) -> ModelResponse:
        """One model call: budget check, then perform or serve, with usage and cost recorded."""
        self.budgets.check_model_call(scope.path)
        body = request.to_json()
        body["model"] = model.name
        if (mode := getattr(model, "tool_mode", None)) not in (None, "native") and request.tools:
            # The mode changes what is sent: a fork in another mode diverges here, and replay,
            # told the run's mode by its spec, computes the same hash.
            body["tool_mode"] = mode

        async def perform() -> dict[str, Any]:
            # Streamed text is shown as it comes, before any entry exists: mask it on the way.
            masker = None if on_delta is None else secrets.StreamMasker(on_delta)
            try:
                return (await model.complete(request, on_delta=masker)).to_json()
            finally:
                if masker is not None:
                    masker.flush()

        def account(result: dict[str, Any]) -> tuple[Usage, float | None]:
            u = result.get("usage") or {}
            usage = Usage(u.get("input_tokens", 0), u.get("output_tokens", 0))
            return usage, self.pricing.cost(model.name, usage)

        result = await self.effect(scope, "model", model.name, body, perform, account=account,
                                   local=getattr(model, "local", False),
                                   on_served=None if self.mode == "live" else  # served only in the other modes
                                   _served_hook(model, request, lambda r: self._response(r, scope)))
        return self._response(result, scope)

    def _response(self, result: Any, scope: Scope) -> ModelResponse:
        """A model entry's result as a response; a doctored journal's wrong shape is a typed error."""
        try:
            return ModelResponse.from_json(result)
        except (TypeError, KeyError, ValueError, AttributeError) as exc:
            seq = scope._seq - 1
            raise CorruptJournalError(f"run {self.source_run_id}: the model entry at scope {scope.path!r} seq {seq} "
                                      f"holds no model response ({type(exc).__name__}: {exc})",
                                      run_id=self.source_run_id, scope=scope.path, seq=seq) from None

    async def embed_call(self, scope: Scope, embedder: Embedder, texts: list[str]) -> list[list[float]]:
        """One embedding call, performed or served like a model call, with its usage and cost in the
        entry. (Run totals and budgets count model calls only: embeddings cost far less.)"""
        texts = list(texts)
        request = {"model": embedder.name, "input": texts}

        async def perform() -> dict[str, Any]:
            counted = getattr(embedder, "embed_counted", None)
            if counted is not None:
                vectors, usage = await counted(texts)
            else:
                vectors, usage = await embedder.embed(texts), Usage()
            return {"embeddings": vectors, "usage": {"input_tokens": usage.input_tokens}}

        def account(result: dict[str, Any]) -> tuple[Usage, float | None]:
            usage = Usage(int((result.get("usage") or {}).get("input_tokens", 0)), 0)
            return usage, self.pricing.cost(embedder.name, usage)

        result = await self.effect(scope, "embed", embedder.name, request, perform, account=account)
        return result["embeddings"]

    def check_step(self, scope: Scope) -> None:
        self.budgets.check_step(scope.path)

    def note_tool_outcome(self, is_error: bool) -> None:
        """Count consecutive failed tool calls across the run; raise past the bound."""
        self._consecutive_tool_errors = self._consecutive_tool_errors + 1 if is_error else 0
        if self._consecutive_tool_errors > self.max_consecutive_tool_errors:
            raise ToolErrorLimit(f"{self._consecutive_tool_errors} tool calls in a row failed in run "
                                 f"{self.run_id} (bound: {self.max_consecutive_tool_errors}); stopping the run")


NOTHING_SPENT: tuple[Usage, float | None] = (Usage(), None)
"""What an effect's `account` returns when the effect spent nothing (one tuple for all: Usage is frozen)."""


def model_attempts(entry: Entry) -> int:
    """The attempts a model entry's call made (its `attempts` list, in the result or the error); 1
    when it holds none (a backend that does not retry)."""
    holder = entry.result if entry.status == "ok" else entry.error
    attempts = holder.get("attempts") if isinstance(holder, dict) else None
    return len(attempts) if isinstance(attempts, list) and attempts else 1


def _masked(redactor: secrets.Redactor, value: Any) -> Any:
    masked = redactor.json(value, _json.dumps(value))
    return value if masked is None else masked


def _served_hook(model: Model, request: ModelRequest,
                 parse: Callable[[Any], ModelResponse]) -> Callable[[Any], None] | None:
    """A model that keeps its place in a script (`ScriptedModel.served`) is told of every call served
    from the journal, so that when the run goes live it goes on from there, not from its first step."""
    hook = getattr(model, "served", None)
    if hook is None:
        return None
    return lambda result: hook(request, parse(result))


def describe_differences(recorded: Any, current: Any, path: str = "$", limit: int = 20) -> list[str]:
    """Human-readable paths where two JSON values differ (at most `limit`)."""
    out: list[str] = []

    def walk(a: Any, b: Any, p: str) -> None:
        if len(out) >= limit:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if k not in a:
                    out.append(f"{p}.{k} added")
                elif k not in b:
                    out.append(f"{p}.{k} removed")
                else:
                    walk(a[k], b[k], f"{p}.{k}")
        elif isinstance(a, list) and isinstance(b, list):
            for i in range(min(len(a), len(b))):
                walk(a[i], b[i], f"{p}[{i}]")
            if len(a) != len(b):
                out.append(f"{p} has {len(b)} items, recorded {len(a)}")
        elif a != b:
            out.append(f"{p}: recorded {_short(a)}, now {_short(b)}")

    walk(recorded, current, path)
    return out


def _short(value: Any, width: int = 60) -> str:
    text = _json.dumps_str(value)
    return text if len(text) <= width else text[: width - 1] + "…"
