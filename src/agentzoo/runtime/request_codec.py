"""How a model request is hashed and stored so that a step costs O(new messages), not O(conversation).

A model call sends the whole conversation every time, so storing and hashing each request whole makes
a run's journal O(n²) in its length. Instead (journal schema 2):

- **Hash.** Messages are hashed as a chain: `c_0 = b""`, `c_i = sha256(c_{i-1} + canonical(message_i))`,
  and a model request's hash is `sha256(canonical(everything but the messages) + "\\n" + c_n)`, hex. A
  request that extends the previous one of its scope hashes only its new messages. Equal requests still
  have equal hashes and any difference (a message, its order, a field) still changes it.
- **Storage.** An entry stores only the messages its request adds to the previous model request of the
  same run and scope: `{"$prefix": {"seq": s, "keep": k}, "messages": [new…], …}` means "the first k
  messages of the request at seq s, then these". The tool list, the same at every step, is stored once
  in the `blobs` table and referred to as `{"$blob": sha256}`. A tool list equal to the previous request's
  (agents send a new list of the same specs at each step) reuses its canonical JSON, hash and masking.

The encoder finds the shared prefix by comparing this request's messages with the previous one's, as
Python values, in C (list equality looks at identity first, so the same objects, as an agent appending
to its conversation sends, cost a pointer comparison each: ~4 µs for 2,000 messages, where a Python-level
identity scan took 32). A message rebuilt equal is shared too; one trimmed or edited shares less. Two
consequences of comparing values: a message that was sent must not be changed in place afterwards (make a
new dict), and a number sent again as an equal number of another type (`1`, `1.0`, `true`) is kept as first
sent: the journal would hold what was first sent (in a message or in the tool list). Every agentzoo loop and
recipe follows that; `tests/core/test_request_codec.py` checks the loop. (`by_value`, for requests read back
from JSON, also asks for the same canonical JSON.) The chain hashes and masked messages of a scope are lists
that a request extending the previous one appends to, so a step costs O(new messages), not a copy of the
conversation.

Requests that are not model calls (tools, sandbox, environments) are stored and hashed whole, as before.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .. import _json

PREFIX = "$prefix"
BLOB = "$blob"
_ROOT = b""


class Redactor:  # the part of `secrets.Redactor` used here (typing only)
    def may_hold(self, data: bytes) -> bool: ...

    def json(self, value: Any, raw: bytes) -> Any: ...


@dataclass(slots=True)
class Encoded:
    """One model request, ready to hash, serve and store."""

    request: dict[str, Any]
    """The request as sent (secrets masked), for listeners and a fork's differences."""
    stored: bytes
    """What the `request` column holds."""
    digest: str
    blobs: dict[str, bytes]
    """Blobs this entry refers to (hash → canonical JSON); the journal writes those it does not have."""
    _scope: str = ""
    _state: _ScopeState | None = None


@dataclass(slots=True)
class _ScopeState:
    seq: int
    messages: list[Any]
    """The previous request's message objects (a copy of its list, so later appends to it do not count)."""
    chain: list[bytes]
    """`chain[i]` is the chain hash after message i. Its first `len(messages)` items are this state's; the list
    may be longer, extended in place by the state that followed it (see `_extend`)."""
    masked: list[Any] = field(default_factory=list)
    """The messages as stored (secrets masked), the first `len(messages)` items, as `chain`; usually the same
    objects as `messages`."""
    masked_any: bool = False


class RequestEncoder:
    """Per run: the previous model request of each scope, to encode the next one against it.

    `encode` does not change the state; `advance(encoded)` does, once the entry exists in the run
    (recorded or served), so that a later entry never refers to a missing one."""

    def __init__(self, *, by_value: bool = False) -> None:
        self._by_value = by_value
        """Also share messages that are equal but not the same objects (requests read back from JSON:
        a migration, entries sent from another process); equal means the same canonical JSON."""
        self._scopes: dict[str, _ScopeState] = {}
        self._tools: tuple[Any, bytes, str, bool] | None = None  # (list, canonical, hash, masked) of the last tools

    def encode(self, scope: str, seq: int, body: dict[str, Any], redactor: Redactor | None = None) -> Encoded:
        messages = body["messages"]
        state = self._scopes.get(scope)
        keep = 0
        if state is not None:
            previous = state.messages
            n = len(previous)
            if len(messages) >= n and messages[:n] == previous:  # C: identity first, then equality
                keep = n
            else:
                keep = next((i for i, (a, b) in enumerate(zip(messages, previous)) if a is not b and a != b),
                            min(len(messages), n))
            if self._by_value:  # equal is not enough: the same canonical JSON (1 and 1.0 differ there)
                keep = next((i for i in range(keep) if not _same_json(messages[i], previous[i])), keep)
        chain = _extend(state.chain, keep) if state is not None else []
        masked_all = _extend(state.masked, keep) if state is not None else []
        last = chain[keep - 1] if keep else _ROOT
        new = messages[keep:]
        raws = [_json.dumps(message, sort_keys=True) for message in new]
        masked_any = False

        rest = {k: v for k, v in body.items() if k != "messages"}
        blobs: dict[str, bytes] = {}
        tools_sent = None
        if "tools" in rest:
            tools = rest["tools"]
            if not self._same_tools(tools):
                raw = _json.dumps(tools, sort_keys=True)
                masked = None if redactor is None else redactor.json(tools, raw)
                if masked is not None:
                    raw = _json.dumps(masked, sort_keys=True)
                self._tools = (tools, raw, hashlib.sha256(raw).hexdigest(), masked is not None)
            _, raw, tools_hash, tools_masked = self._tools
            blobs[tools_hash] = raw
            rest["tools"] = {BLOB: tools_hash}
            if tools_masked:
                masked_any, tools_sent = True, _json.loads(raw)
        rest_raw = _json.dumps(rest, sort_keys=True)
        # One scan of the new messages and the other fields for secrets; each part is masked on its own only
        # on a hit.
        if redactor is not None and redactor.may_hold(b"\n".join([*raws, rest_raw])):
            for i, message in enumerate(new):
                if (masked := redactor.json(message, raws[i])) is not None:
                    new[i], raws[i], masked_any = masked, _json.dumps(masked, sort_keys=True), True
            if (masked := redactor.json(rest, rest_raw)) is not None:
                rest, rest_raw, masked_any = masked, _json.dumps(masked, sort_keys=True), True
        new_stored: list[Any] = new
        sha256 = hashlib.sha256
        for raw in raws:
            last = sha256(last + raw).digest()
            chain.append(last)
        masked_all += new_stored
        masked_any = masked_any or (state is not None and state.masked_any and keep > 0)
        digest = hashlib.sha256(rest_raw + b"\n" + last).hexdigest()

        stored = dict(rest)
        stored["messages"] = new_stored
        if keep:
            stored[PREFIX] = {"seq": state.seq, "keep": keep}  # type: ignore[union-attr]
        request = body
        if masked_any:  # the program and listeners see the request as stored: secrets masked
            request = {k: v for k, v in rest.items() if k != "tools"}
            request["messages"] = list(masked_all)  # a copy: the next request of the scope may extend this list
            if "tools" in body:
                request["tools"] = tools_sent if tools_sent is not None else body["tools"]
        return Encoded(request, _json.dumps(stored), digest, blobs, scope,
                       _ScopeState(seq, list(messages), chain, masked_all, masked_any))

    def _same_tools(self, tools: Any) -> bool:
        """Whether `tools` are the last request's (an agent sends a new list of the same specs at each step:
        list equality in C, identity first), so their canonical JSON, hash and masking are known."""
        cached = self._tools
        return cached is not None and (_same_json(cached[0], tools) if self._by_value else cached[0] == tools)

    def advance(self, encoded: Encoded) -> None:
        """The entry of `encoded` exists in the run now: the next request of its scope builds on it."""
        if encoded._state is not None:
            self._scopes[encoded._scope] = encoded._state


def _extend(items: list[Any], keep: int) -> list[Any]:
    """A list holding `items[:keep]` that this request may append to: `items` itself when it holds exactly
    that (the state it belongs to keeps its own length, so its view does not change), else a copy. A scope
    whose requests each extend the last appends to one list, with no copy of the conversation per step."""
    return items if len(items) == keep else items[:keep]


def _same_json(a: Any, b: Any) -> bool:
    return a is b or (a == b and _json.dumps(a, sort_keys=True) == _json.dumps(b, sort_keys=True))


def is_model_request(kind: str, request: Any) -> bool:
    return kind == "model" and isinstance(request, dict) and isinstance(request.get("messages"), list)


class RequestExpander:
    """Turns stored requests back into whole ones, reading a scope's entries in order in O(new messages)
    each (it keeps the last request of each scope it expanded) and any single one by walking back.

    `load(run_id, scope, seq)` gives the stored request of an entry (parsed JSON) or None; `blob(hash)`
    the canonical JSON of a blob or None. A reference that cannot be followed is a `ValueError` saying
    which (the journal turns it into a `CorruptJournalError` naming the entry)."""

    def __init__(self, load: Callable[[str, str, int], Any], blob: Callable[[str], bytes | str | None],
                 keep_scopes: int = 256) -> None:
        self._load = load
        self._blob = blob
        self._last: OrderedDict[tuple[str, str], tuple[int, list[Any]]] = OrderedDict()
        self._blobs: OrderedDict[str, Any] = OrderedDict()
        self._keep = keep_scopes

    def expand(self, run_id: str, scope: str, seq: int, stored: Any) -> Any:
        if not isinstance(stored, dict) or (PREFIX not in stored and not _is_blob(stored.get("tools"))):
            if isinstance(stored, dict) and isinstance(stored.get("messages"), list):
                self._remember(run_id, scope, seq, stored["messages"])
            return stored
        out = dict(stored)
        if _is_blob(out.get("tools")):
            out["tools"] = self._tools(out["tools"][BLOB])
        prefix = out.pop(PREFIX, None)
        new = out.get("messages")
        if not isinstance(new, list):
            raise ValueError("its messages are not a list")
        if prefix is not None:
            out["messages"] = self._messages(run_id, scope, seq, prefix) + new
        self._remember(run_id, scope, seq, out["messages"])
        return out

    def _messages(self, run_id: str, scope: str, seq: int, prefix: Any) -> list[Any]:
        """The messages an entry's `$prefix` refers to, following the chain back to a request it knows
        (the last one it expanded in that scope) or to one that has no prefix."""
        key = (run_id, scope)
        base, keep = _prefix(prefix, seq)
        walked: list[tuple[int, list[Any]]] = []  # (keep, new messages) of each entry walked, newest first
        at = base
        while True:
            cached = self._last.get(key)
            if cached is not None and cached[0] == at:
                messages = cached[1]
                break
            try:
                stored = self._load(run_id, scope, at)
            except ValueError as exc:
                raise ValueError(f"it builds on the model request at seq {at}, which cannot be read ({exc})") from None
            if not isinstance(stored, dict) or not isinstance(stored.get("messages"), list):
                raise ValueError(f"it builds on the model request at seq {at}, which "
                                 + ("is missing" if stored is None else "holds no messages"))
            if (ref := stored.get(PREFIX)) is None:
                messages = stored["messages"]
                break
            earlier, kept = _prefix(ref, at)
            walked.append((kept, stored["messages"]))
            at = earlier
        for kept, new in reversed(walked):
            messages = _take(messages, kept) + new
        return _take(messages, keep)

    def _tools(self, digest: Any) -> Any:
        if not isinstance(digest, str):
            raise ValueError("its tools refer to a blob by something that is not a hash")
        if digest in self._blobs:
            self._blobs.move_to_end(digest)
            return self._blobs[digest]
        raw = self._blob(digest)
        if raw is None:
            raise ValueError(f"its tools are the blob {digest[:12]}…, which is missing")
        tools = _json.loads(raw)
        self._blobs[digest] = tools
        if len(self._blobs) > self._keep:
            self._blobs.popitem(last=False)
        return tools

    def _remember(self, run_id: str, scope: str, seq: int, messages: list[Any]) -> None:
        key = (run_id, scope)
        self._last[key] = (seq, messages)
        self._last.move_to_end(key)
        if len(self._last) > self._keep:
            self._last.popitem(last=False)


def _is_blob(value: Any) -> bool:
    return isinstance(value, dict) and BLOB in value


def _prefix(ref: Any, at: int) -> tuple[int, int]:
    if (not isinstance(ref, dict) or type(ref.get("seq")) is not int or type(ref.get("keep")) is not int
            or ref["keep"] < 0 or not 0 <= ref["seq"] < at):
        raise ValueError(f"its {PREFIX} {_json.dumps_str(ref)[:60]} is not a reference to an earlier entry")
    return ref["seq"], ref["keep"]


def _take(messages: list[Any], keep: int) -> list[Any]:
    if keep > len(messages):
        raise ValueError(f"it keeps {keep} messages of a request that has {len(messages)}")
    return messages[:keep]
