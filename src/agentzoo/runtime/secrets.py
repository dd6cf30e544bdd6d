"""Secrets kept out of everything a run writes: the journal, and so `show`, exports, reports and the console.

A secret is found two ways:
- by value: the values of environment variables whose names say they hold one (`OPENAI_API_KEY`,
  `AGENTZOO_API_KEY`, `*_API_KEY`, `*_KEY`, `*_TOKEN`, `*_SECRET`, `*PASSWORD*`, …) and values
  registered while the process runs (`register`: the key a model was given, the credentials in
  its base URL);
- by shape: regular expressions for well-known credential forms (`sk-…` keys, `Bearer …`,
  `://user:password@` and `?api_key=…` in URLs, GitHub and Hugging Face tokens), plus any in
  `AGENTZOO_SECRET_PATTERNS` (one regular expression per line; the whole match is masked).

Values shorter than `MIN_SECRET_CHARS` are ignored, so that a variable holding `true` or `1` does
not shred every text it appears in.

The gateway masks every request, result and error *before* it is hashed or stored, and hands the
program the masked result (what the journal holds), so a live run, its replay and its resume see
the same values and compute the same request hashes. Masking is idempotent: masked text masked
again does not change.

Cost: an effect's JSON (which the gateway serialises anyway) is scanned once per known value and
once per built-in shape, with literal-first expressions that the regex engine searches fast;
only when one of them matches is the value walked and its strings masked one by one. A pattern
from `AGENTZOO_SECRET_PATTERNS` has no such quick check, so with one set every value is walked.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from .. import _json

MASK = "***"
MIN_SECRET_CHARS = 8
PATTERNS_ENV = "AGENTZOO_SECRET_PATTERNS"

# Names of environment variables that hold secrets. Segments, so `TOKENIZERS_PARALLELISM` is not one.
_SECRET_NAME = re.compile(r"(?i)(?:^|_)(?:API_?KEY|KEY|TOKEN|SECRET|PASSWD|CREDENTIALS?)(?:_|$)|PASSWORD")
_NOT_SECRET_NAMES = frozenset({PATTERNS_ENV})


class _Shape:
    """A credential form: `exact` is applied to each string; `probe`, over the JSON text, must find
    every place `exact` could match (it may find more), so that a value it misses needs no walk.
    A probe is a regular expression that starts with a literal, or a tuple of substrings any of
    which may start a match."""

    __slots__ = ("exact", "replacement", "may_match", "probed", "literals", "search")

    def __init__(self, exact: str, replacement: str, probe: bytes | tuple[bytes, ...] | None) -> None:
        self.exact = re.compile(exact)
        self.replacement = replacement
        self.probed = probe is not None
        # Bound C methods and substrings: the probes run on every effect, the rest only on a hit.
        self.literals = probe if isinstance(probe, tuple) else ()
        self.search = re.compile(probe).search if isinstance(probe, bytes) else None
        self.may_match: Callable[[bytes], Any]
        if probe is None:
            self.may_match = lambda data: True
        elif self.search is not None:
            self.may_match = self.search
        else:
            literals = self.literals
            self.may_match = lambda data: any(literal in data for literal in literals)


# Probes are substrings, or expressions that start with a literal (then look behind it), which `re`
# finds with a fast substring search; an expression starting with a character class, an alternation
# or a word boundary is tried at every position and costs ten times more. So each probe is searched
# on its own: joined into one alternation they lose that fast search (measured: 12 against 2 µs for
# 430 bytes of messages, 88 against 13 µs for 3 kB of code). JSON escapes only `"`, `\` and control
# characters, so a probe that does not depend on those characters finds in the JSON text everything
# the exact form finds in the strings.
_BUILTIN = (
    # OpenAI-style keys (also Anthropic's sk-ant-…), not the tail of a word such as `risk-…`.
    _Shape(r"(?<![A-Za-z0-9_-])sk-[A-Za-z0-9_-]{20,}", "sk-" + MASK, rb"sk-[A-Za-z0-9_-]{20,}"),
    # An Authorization header's token, as echoed by providers and proxies (token68 characters).
    _Shape(r"\b([Bb]earer|BEARER)\s+[A-Za-z0-9._~+/=-]{8,}", r"\1 " + MASK, (b"earer", b"EARER")),
    # Credentials in a URL: scheme://user:password@host
    _Shape(r"(?<=://)[^/\s:@{}\"'<>]+:[^/\s@{}\"'<>]+@", f"{MASK}:{MASK}@", rb"://[^/\s@]*:[^/\s@]*@"),
    # A key in a URL's query: ?api_key=…, &token=…, ?key=… (Google), &sig=… (Azure SAS)
    _Shape(r"(?i)([?&](?:api[_-]?key|key|access[_-]?token|token|secret|password|sig|signature|auth)=)[^&\s#\"'<>]+",
           r"\1" + MASK, rb"(?i)=(?<=key=|ken=|ret=|ord=|sig=|ure=|uth=)"),  # any case, as the exact form
    # GitHub and Hugging Face tokens (the probe wants no boundary before hf_: in JSON text it may follow an escape)
    _Shape(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|hf_[A-Za-z0-9]{30,})", MASK,
           rb"_(?:(?<=gh[pousr]_)|(?<=hf_)|(?<=_pat_))"),
)


class Redactor:
    """Masks a fixed set of secret values and shapes in text and in JSON values."""

    def __init__(self, values: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
        # Longest first, so a secret that contains another is masked whole.
        self.values = tuple(sorted({v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_CHARS},
                                   key=lambda v: (-len(v), v)))
        self._value_probes = tuple(orjson.dumps(v)[1:-1] for v in self.values)
        self.shapes = _BUILTIN + tuple(_Shape(p, MASK, None) for p in patterns)
        # The quick check of `json`, flattened: substrings (values, literal probes) and expressions.
        self._literals = self._value_probes + tuple(literal for s in self.shapes for literal in s.literals)
        self._searches = tuple(s.search for s in self.shapes if s.search is not None)
        self._unprobed = not all(s.probed for s in self.shapes)
        # The same check for plain text (`text`): the values as they are, not JSON-escaped.
        self._text_literals = (tuple(v.encode("utf-8", "surrogatepass") for v in self.values)
                               + tuple(literal for s in self.shapes for literal in s.literals))

    # --- text -------------------------------------------------------------------------------

    def text(self, text: str) -> str:
        """`text` with every known secret value and credential shape replaced by `***`.

        The probes are checked first, as for `json` (an eval masks each sample's task and model name): text
        that none of them finds comes back as it is, without a pass of every expression over it."""
        if not self._unprobed and not _any_found(text.encode("utf-8", "surrogatepass"), self._text_literals,
                                                 self._searches):
            return text
        return self._mask(text, self.values, self.shapes)

    @staticmethod
    def _mask(text: str, values: Iterable[str], shapes: Iterable[_Shape]) -> str:
        for value in values:
            if value in text:
                text = text.replace(value, MASK)
        for shape in shapes:
            text = shape.exact.sub(shape.replacement, text)
        return text

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where secrets are in `text` (start, end), for a stream that must not cut through one."""
        found = [(m.start(), m.end()) for s in self.shapes for m in s.exact.finditer(text)]
        for value in self.values:
            at = text.find(value)
            while at >= 0:
                found.append((at, at + len(value)))
                at = text.find(value, at + 1)
        return found

    # --- JSON -------------------------------------------------------------------------------

    def may_hold(self, data: bytes) -> bool:
        """Whether the JSON text `data` may hold a secret: False is certain (nothing in it needs masking), True
        only says to look closer (`json`). Several values can be checked at once, joined by newlines."""
        return self._unprobed or _any_found(data, self._literals, self._searches)

    def json(self, value: Any, data: bytes) -> Any | None:
        """`value` with its strings (keys too) masked, or None when nothing in it needs masking.

        `data` is `value` serialised (any key order): it is scanned first, so that the common
        case, no secret, costs a few substring searches and no walk over the value.
        """
        if not self._unprobed and not _any_found(data, self._literals, self._searches):
            return None  # the common case: no secret, one pass of quick checks and no walk
        return self._walked(value, data)

    def _walked(self, value: Any, data: bytes) -> Any | None:
        """`json` past its quick check (a function of its own: the closure's cells would cost every call)."""
        values = [v for v, probe in zip(self.values, self._value_probes) if probe in data] if self.values else ()
        shapes = [s for s in self.shapes if s.may_match(data)]
        if not values and not shapes:
            return None
        changed = False

        def mask(text: str) -> str:
            nonlocal changed
            out = self._mask(text, values, shapes)
            changed = changed or out != text
            return out

        masked = _walk(value, mask)
        return masked if changed else None

    def error(self, exc: BaseException) -> dict[str, Any]:
        """The journal's form of `exc` (`error_to_json`), masked; `exc` itself is masked in place
        too, so the run's result, its row and what is printed carry no secret either."""
        from ..errors import error_to_json

        data = error_to_json(exc)
        message = data.get("message", "")
        masked = self.text(message)
        if masked != message:
            data["message"] = masked
            try:
                exc.args = (masked,)
            except (AttributeError, TypeError):  # an exception type that does not allow it
                pass
        return data


def _any_found(data: bytes, literals: tuple[bytes, ...], searches: tuple[Callable[[bytes], Any], ...]) -> bool:
    # `find`, not `in`: bytes' `in` first tries its operand as an int, and a bytes operand costs it a
    # TypeError raised and cleared (~1,900 instructions; this runs ~10 times a step).
    find = data.find
    for literal in literals:
        if find(literal) >= 0:
            return True
    for search in searches:
        if search(data) is not None:
            return True
    return False


def _walk(value: Any, mask: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, dict):
        return {mask(k) if isinstance(k, str) else k: _walk(v, mask) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_walk(v, mask) for v in value]
    return value


# --- the process's redactor ---------------------------------------------------------------------

_lock = threading.Lock()
_registered: set[str] = set()
_env: tuple[tuple[str, ...], str] | None = None
_env_data: dict[Any, Any] | None = None
_current: Redactor | None = None


def env_secrets(environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """Values of the environment variables whose names say they hold a secret."""
    environ = os.environ if environ is None else environ
    return tuple(sorted({value for name, value in environ.items()
                         if name not in _NOT_SECRET_NAMES and _SECRET_NAME.search(name)
                         and len(value) >= MIN_SECRET_CHARS}))


def register(*values: str | None) -> None:
    """Add secrets known only at run time (a model's key, the password in a URL) for every run
    of this process. Values shorter than `MIN_SECRET_CHARS` are ignored."""
    global _current
    new = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_CHARS} - _registered
    if new:
        with _lock:
            _registered.update(new)
            _current = None


def current(*, reread_env: bool = False) -> Redactor:
    """The redactor for this process: environment secrets, registered secrets, built-in shapes and
    `AGENTZOO_SECRET_PATTERNS`. The environment is read on first use and again with `reread_env`
    (each gateway asks for that once, when a run starts)."""
    global _current, _env, _env_data
    redactor = _current
    if redactor is not None and not reread_env:
        return redactor
    # Reading the environment decodes every variable; a copy of its raw table, compared in C, tells
    # whether it changed since the last read (a run starts thousands of times in an eval).
    data = getattr(os.environ, "_data", None)
    if redactor is not None and data is not None and data == _env_data:
        return redactor
    env = (env_secrets(), os.environ.get(PATTERNS_ENV, ""))
    _env_data = dict(data) if data is not None else None
    with _lock:
        if _current is None or env != _env:
            _env = env
            _current = Redactor((*env[0], *_registered), _patterns(env[1]))
        return _current


def _patterns(text: str) -> list[str]:
    from ..errors import ConfigError

    patterns = [line.strip() for line in text.splitlines() if line.strip()]
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"{PATTERNS_ENV}: {pattern!r} is not a regular expression: {exc}") from None
    return patterns


def mask_config(config: Any) -> Any:
    """A run's config (or any JSON value) as it may be stored: secrets masked, URL credentials too."""
    redactor = current(reread_env=True)
    masked = redactor.json(config, _json.dumps(config))
    return config if masked is None else masked


def mask_text(text: str) -> str:
    return current().text(text)


class StreamMasker:
    """Passes streamed text on to `sink` with secrets masked, even when a secret arrives in pieces.

    The last two words are held back (a key, or `Bearer` and its token, may still be incomplete),
    and so is any secret the held text would cut through; `flush` sends the rest at the end.
    """

    HOLD_LIMIT = 4096
    """Past this many held characters without a break, text is sent anyway (masked as it stands)."""

    def __init__(self, sink: Callable[[str], None], redactor: Redactor | None = None) -> None:
        self.sink = sink
        self.redactor = redactor or current()
        self._held = ""

    def __call__(self, text: str) -> None:
        held = self._held + text
        cut = _start_of_last_words(held, 2)
        if len(held) - cut > self.HOLD_LIMIT:
            cut = len(held)
        spans = self.redactor.spans(held)
        moved = True
        while moved:  # overlapping secrets: move back until no secret straddles the cut
            moved = False
            for start, end in spans:
                if start < cut < end:
                    cut, moved = start, True
        if cut > 0:
            self.sink(self.redactor.text(held[:cut]))
        self._held = held[cut:]

    def flush(self) -> None:
        held, self._held = self._held, ""
        if held:
            self.sink(self.redactor.text(held))


_WORD = re.compile(r"\S+")


def _start_of_last_words(text: str, n: int) -> int:
    starts = [m.start() for m in _WORD.finditer(text)]
    return starts[-n] if len(starts) >= n else 0
