"""JSON at agentzoo's boundaries: strict, fast, and never pickle.

Values that reach the journal or the wire are made plain JSON here:
- lone surrogates in strings (which UTF-8 cannot hold) become U+FFFD;
- NaN and ±Infinity become null (JSON has no spelling for them);
- dict keys must be strings; tuples become lists;
- anything else (objects, bytes, sets) is rejected with a `SerializationError` naming where it was.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from typing import Any

import orjson

from .errors import SerializationError

def dumps(value: Any, *, sort_keys: bool = False) -> bytes:
    """Serialise plain JSON to UTF-8 bytes, sanitising what can be and rejecting the rest."""
    option = orjson.OPT_SORT_KEYS if sort_keys else 0
    try:
        # Fast path. orjson already writes NaN/Infinity as null, as `sanitize` would.
        return orjson.dumps(value, option=option)
    except (TypeError, orjson.JSONEncodeError):
        return orjson.dumps(sanitize(value), option=option)


loads: Callable[[bytes | bytearray | memoryview | str], Any] = orjson.loads
"""Parse JSON text (bytes or str). orjson's own function, not a wrapper: it runs per effect and per
stream event, where a Python frame around it was measurable."""


def dumps_str(value: Any, *, sort_keys: bool = False) -> str:
    return dumps(value, sort_keys=sort_keys).decode()


def request_hash(value: Any) -> str:
    """A stable hash of a request: SHA-256 of its canonical (sorted-key) JSON."""
    return hashlib.sha256(dumps(value, sort_keys=True)).hexdigest()


def canonical_with_hash(value: Any) -> tuple[bytes, str]:
    """The canonical JSON of `value` and its hash, serialised once (the gateway's hot path)."""
    text = dumps(value, sort_keys=True)
    return text, hashlib.sha256(text).hexdigest()


def sanitize(value: Any, path: str = "$") -> Any:
    """Return `value` as plain JSON; raises SerializationError naming the first bad place."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace").replace("\ufffd\ufffd\ufffd", "\ufffd")
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise SerializationError(f"{path}: key {k!r} is {type(k).__name__}, JSON keys must be strings")
            out[sanitize(k, path)] = sanitize(v, f"{path}.{k}")
        return out
    if isinstance(value, (list, tuple)):
        return [sanitize(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise SerializationError(f"{path}: {type(value).__name__} is not plain JSON (str, number, bool, null, list, dict)")


def read_lines(path: Any, what: str) -> list[tuple[int, Any]]:
    """The rows of a JSON Lines file with their 1-based line numbers, blank lines skipped. A file that cannot be
    read, or a line that is not JSON, is a `ConfigError` naming `what` (e.g. "BFCL file"), the path and the line."""
    from pathlib import Path

    from .errors import ConfigError

    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"no such {what}: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path}: cannot read it ({exc})") from None
    rows = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append((number, orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number}: not JSON ({exc}); a {what} is JSON Lines") from None
    return rows
