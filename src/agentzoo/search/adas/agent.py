"""An ADAS agent: code written against the agent-building API (`api`), run in the sandbox on one task.

ADAS (Hu, Lu and Clune, "Automated Design of Agentic Systems", ICLR 2025; ShengranHu/ADAS) writes
agents as a `forward(self, task)` function; this is how one runs here, found by the search or
taken from an archive (`--agent adas:archive.json#7`). The code never runs on the host: the API's
source, the agent's code (as a string) and the task go into an isolated sandbox as one program, one
journaled `sandbox/exec` effect; each `LLMAgent` call in it comes back to the host as a call of the
`llm_call` tool, served by `calls.LLMCalls` as a model call through the gateway, in the scope
`…/forward`. So a replay serves the whole action from the journal and starts no sandbox, and a
resumed run that performs it again gets its finished model calls served, not repeated.

The agent answers from text alone (ADAS's benchmarks are question → answer): an environment that
gives tools, or a system prompt, is refused. Its calls set their own temperatures (the code
chooses), so `--temperature` is refused too; a sampling seed and `--max-tokens` apply to every call.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import ConfigError, ToolError
from ...protocols import Model
from ...runtime.context import Context
from ...sandbox.host import Sandbox
from ...sandbox.limits import Limits
from ...sandbox.result import ExecResult
from ...types import AgentResult
from .archive import load_entry
from .calls import LLM_TOOL, LLMCalls
from .errors import GeneratedCodeError

API_SOURCE = (Path(__file__).parent / "api.py").read_text(encoding="utf-8")
API_DIGEST = hashlib.sha256(API_SOURCE.encode()).hexdigest()[:16]
"""Part of each action's journaled request: a run recorded under another API diverges, it is not served."""
MAX_MODEL_CALLS = 100    # ours: ADAS has no bound; a runaway loop in generated code stops here
TASK_SECONDS = 1800.0    # ours: wall clock of one forward on one task (its model calls included)
OPTION_SOURCES: dict[str, str] = {
    "max_model_calls": "agentzoo: LLM calls one forward may make on one task (ADAS has no bound)",
    "task_seconds": "agentzoo: wall-clock seconds one forward may take on one task, its model calls included",
    "schema_replies": "agentzoo: ask for the fields with a JSON schema (ADAS asks for any JSON object); for small "
                      "local models, which then always give every field",
}
DEVIATIONS: list[str] = [
    "the code runs in an isolated sandbox and its LLM calls are journaled host tools (ADAS exec()s it in-process)",
    "one task's calls run one after another (ADAS runs tasks in 48 threads; the harness runs tasks concurrently)",
    "a call's JSON reply is read leniently: a missing field is '' (as ADAS), a non-string value becomes its JSON text",
]


class AdasAgent:
    """Runs `forward(self, task)` code in a fresh sandbox per task; each LLM call is a journaled model call."""

    def __init__(self, model: Model, code: str, *, name: str = "adas-agent", task_kind: str | None = None,
                 sampling: dict[str, Any] | None = None, tier: str = "auto", allow_unsafe: bool = False,
                 limits: Limits | None = None, max_model_calls: int = MAX_MODEL_CALLS,
                 task_seconds: float = TASK_SECONDS, schema_replies: bool = False) -> None:
        if not code.strip():
            raise ConfigError(f"ADAS agent {name!r} has no code")
        if max_model_calls < 1:
            raise ConfigError(f"max_model_calls must be at least 1, not {max_model_calls}")
        self.model, self.code, self.name, self.task_kind = model, code, name, task_kind
        sampling = dict(sampling or {})
        self.seed, self.max_tokens = sampling.get("seed"), sampling.get("max_tokens")
        self.tier, self.allow_unsafe = tier, allow_unsafe
        # A forward waits on its model calls: the sandbox's 30 s default would cut it; a wall clock set
        # on purpose (--sandbox-timeout) stands.
        limits = limits or Limits()
        if limits.wall_seconds == Limits().wall_seconds:
            limits = dataclasses.replace(limits, wall_seconds=task_seconds)
        self.limits = limits
        self.max_model_calls, self.schema_replies = max_model_calls, schema_replies

    async def run(self, task: str, ctx: Context) -> AgentResult:
        result = await self.forward(ctx, task)
        if not result.ok:
            raise GeneratedCodeError(describe_failure(result.error or {}, self.name))
        if not result.answered:  # the program always ends by handing over an answer; a crash can skip it
            raise GeneratedCodeError(f"{self.name}: forward() ended without an answer")
        answer = result.answer if result.answer is None or isinstance(result.answer, str) else str(result.answer)
        return AgentResult(answer, [{"role": "user", "content": task}, {"role": "assistant", "content": answer}], 1)

    async def forward(self, ctx: Context, task: str) -> ExecResult:
        """The code on `task`, as one `sandbox/exec` effect whose model calls are in `…/forward`."""
        calls_ctx = ctx.child("forward")
        calls = LLMCalls(self.model, task_kind=self.task_kind, seed=self.seed, max_tokens=self.max_tokens,
                         max_calls=self.max_model_calls, schema=self.schema_replies)

        async def serve(name: str, arguments: dict[str, Any]) -> Any:
            if name != LLM_TOOL["name"]:
                raise ToolError(f"no tool {name!r} is served here")
            return await calls(calls_ctx, arguments)

        async def perform() -> dict[str, Any]:
            sandbox = Sandbox(tier=self.tier, limits=self.limits, tools=[LLM_TOOL], allow_unsafe=self.allow_unsafe)
            try:
                return (await sandbox.execute(self.program(task), call_tool=serve)).to_json()
            finally:
                await sandbox.close()

        request = {"agent": self.name, "code": self.code, "task": task, "api": API_DIGEST, "seed": self.seed,
                   "max_model_calls": self.max_model_calls}
        if self.schema_replies:
            request["schema_replies"] = True
        data = await ctx.gateway.effect(ctx.scope, "sandbox", "exec", request, perform,
                                        on_served=lambda _: ctx.gateway.serve_recorded(calls_ctx.scope))
        return ExecResult.from_json(data)

    def program(self, task: str) -> str:
        """The API, then one call that runs the code on the task. Code and task go in as string literals
        (`repr`), read by `exec` in the sandbox: nothing of them is spliced into the program's own text."""
        return f"{API_SOURCE}\n\n_run_agent({self.code!r}, {task!r}, {self.seed or 0!r})\n"


def describe_failure(error: dict[str, Any], name: str) -> str:
    """What went wrong in the code, for its author: the exception and the part of the traceback in the
    agent's code (or the sandbox's account of a timeout or a crash)."""
    kind, message = error.get("type", "Error"), error.get("message", "")
    trace = str(error.get("traceback") or "")
    at = trace.find('File "<agent>"')
    where = ""
    if at >= 0:
        where = "\n" + "\n".join(line for line in trace[at:].rstrip().splitlines()
                                 if "_run_agent" not in line)[-2500:]
    return f"{name}: {kind}: {message}{where}"


def build(model: Model, tools: Sequence[Any] = (), *, code: str, name: str = "adas-agent", system: str | None = None,
          sampling: dict[str, Any] | None = None, task_kind: str | None = None, tier: str = "auto",
          allow_unsafe: bool = False, limits: Limits | None = None, max_model_calls: int = MAX_MODEL_CALLS,
          task_seconds: float = TASK_SECONDS, schema_replies: bool = False) -> AdasAgent:
    """An ADAS agent of `code` (`--agent adas --agent-opt code=...`; the search evaluates candidates so)."""
    if list(tools):
        raise ConfigError(f"ADAS agent {name!r} answers from text alone; this environment gives it tools "
                          f"({', '.join(getattr(t, 'name', '?') for t in tools)}): use a question-answer environment")
    if system is not None:
        raise ConfigError(f"ADAS agent {name!r} writes its own prompts: it takes no system prompt")
    for key in ("temperature", "top_p"):
        if (sampling or {}).get(key) is not None:
            raise ConfigError(f"ADAS agent {name!r} sets each call's sampling in its code: {key} cannot be set for it")
    return AdasAgent(model, code, name=name, task_kind=task_kind, sampling=sampling, tier=tier,
                     allow_unsafe=allow_unsafe, limits=limits, max_model_calls=max_model_calls,
                     task_seconds=task_seconds, schema_replies=schema_replies)


def entry_builder(ref: str) -> Any:
    """The builder of the archive entry `adas:PATH#WHICH` (read now: a missing file or entry is an
    `ArchiveError` before anything runs)."""
    path, index, entry = load_entry(ref)

    def build_entry(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
                    sampling: dict[str, Any] | None = None, task_kind: str | None = None, tier: str = "auto",
                    allow_unsafe: bool = False, limits: Limits | None = None,
                    max_model_calls: int = MAX_MODEL_CALLS, task_seconds: float = TASK_SECONDS,
                    schema_replies: bool = False) -> AdasAgent:
        return build(model, tools, code=entry.code, name=entry.name, system=system, sampling=sampling,
                     task_kind=task_kind, tier=tier, allow_unsafe=allow_unsafe, limits=limits,
                     max_model_calls=max_model_calls, task_seconds=task_seconds, schema_replies=schema_replies)

    build_entry.__doc__ = f"Entry #{index} of the ADAS archive {path}: {entry.name!r}."
    return build_entry
