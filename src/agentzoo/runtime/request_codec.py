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
  in the `blobs` table and referred to as `{"$blob": sha256}`.

The encoder finds the shared prefix by *identity*: the messages of the previous request that are the
very same objects, at the same places, as in this one (an agent appends to its conversation). That is a
C-speed scan, and a list rebuilt from scratch, trimmed or edited just shares less. So a message that was
sent must not be changed in place afterwards (make a new dict): the journal would keep what was first
sent. Every agentzoo loop and recipe follows that; `tests/core/test_request_codec.py` checks the loop.

Requests that are not model calls (tools, sandbox, environments) are stored and hashed whole, as before.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import is_
from typing import Any

from .. import _json

PREFIX = "$prefix"
BLOB = "$blob"
_ROOT = b""


class Redactor:  # the part of `secrets.Redactor` used here (typing only)
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
    """The previous request's message objects (references: compared by identity)."""
    chain: list[bytes]
    """`chain[i]` is the chain hash after message i."""
    masked: list[Any] = field(default_factory=list)
    """The messages as stored (secrets masked); usually the same objects as `messages`."""
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
            if len(messages) >= len(previous) and all(map(is_, messages, previous)):
                keep = len(previous)
            else:
                keep = next((i for i, same in enumerate(map(is_, messages, previous)) if not same),
                            min(len(messages), len(previous)))
                if self._by_value:
                    end = min(len(messages), len(previous))
                    while keep < end and _same_json(messages[keep], previous[keep]):
                        keep += 1
        chain = state.chain[:keep] if state is not None else []
        masked_all = state.masked[:keep] if state is not None else []
        last = chain[-1] if chain else _ROOT
        new = messages[keep:]
        raws = [_json.dumps(message, sort_keys=True) for message in new]
        masked_any = False
        # One scan of the new messages for secrets; a message is masked on its own only on a hit.
        if redactor is not None and new and redactor.json(new, b"\n".join(raws)) is not None:
            for i, message in enumerate(new):
                if (masked := redactor.json(message, raws[i])) is not None:
                    new[i], raws[i], masked_any = masked, _json.dumps(masked, sort_keys=True), True
        new_stored: list[Any] = new
        sha256 = hashlib.sha256
        for raw in raws:
            last = sha256(last + raw).digest()
            chain.append(last)
        masked_all += new_stored
        masked_any = masked_any or (state is not None and state.masked_any and keep > 0)

        rest = {k: v for k, v in body.items() if k != "messages"}
        blobs: dict[str, bytes] = {}
        tools_sent = None
        if "tools" in rest:
            tools = rest["tools"]
            if self._tools is None or self._tools[0] is not tools:
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
        if redactor is not None and (masked := redactor.json(rest, rest_raw)) is not None:
            rest, rest_raw, masked_any = masked, _json.dumps(masked, sort_keys=True), True
        digest = hashlib.sha256(rest_raw + b"\n" + last).hexdigest()

        stored = dict(rest)
        stored["messages"] = new_stored
        if keep:
            stored[PREFIX] = {"seq": state.seq, "keep": keep}  # type: ignore[union-attr]
        request = body
        if masked_any:  # the program and listeners see the request as stored: secrets masked
            request = {k: v for k, v in rest.items() if k != "tools"}
            request["messages"] = masked_all
            if "tools" in body:
                request["tools"] = tools_sent if tools_sent is not None else body["tools"]
        return Encoded(request, _json.dumps(stored), digest, blobs, scope,
                       _ScopeState(seq, list(messages), chain, masked_all, masked_any))

    def advance(self, encoded: Encoded) -> None:
        """The entry of `encoded` exists in the run now: the next request of its scope builds on it."""
        if encoded._state is not None:
            self._scopes[encoded._scope] = encoded._state


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
