"""agentzoo runner: ToolCallingAgent + OpenAICompatible (HTTP) / ScriptedModel (in-process), journal ON.

Every run writes its effects to a SQLite Journal (one file per process, in a temp dir), as
`agentzoo.run(agent, task, journal=journal)` does. The agent is stateless configuration: one
shared agent for all tasks. OpenAICompatible keeps its defaults (including max_concurrency,
the ceiling of the adaptive window of requests in flight per endpoint) unless
BENCH_AGENTZOO_MODEL_OPT gives settings as `--model-opt` does, comma-separated (the orchestrator's
`agentzoo-uncapped` row: `max_concurrency=100000`; `agentzoo-whole-replies`: `stream=false`).

In the cpu modes the measured tasks get a journal of their own (`before_measure`), and the
result line says how many bytes it holds once closed (`journal_bytes_per_step`): the file's
size less that of an empty journal.

`add` is declared pure (`touches=()`) and the in-process script local (`local=True`), which is
what they are: their journal entries are committed with the next non-local effect or at the
end of the run rather than one transaction each. BENCH_AGENTZOO_COMMIT_EACH=1 drops both
declarations (the defaults: every effect its own commit), for the `agentzoo-commit-each` row.

BENCH_AGENTZOO_NO_WIRE_MS=L (the `agentzoo-no-wire` row) takes the wire out of the HTTP rows: the
model is the in-process script, not local (its entries committed as a remote model's are), that
answers after L ms as the server does. The same agent, journal and concurrency without HTTP, so
the row against `agentzoo` tells the framework's own cost from its model client's.
"""

import _common as C

SYNC = False


def imports():
    global agentzoo, ToolCallingAgent, OpenAICompatible, ScriptedModel, tool, Journal
    import agentzoo
    from agentzoo import Journal, OpenAICompatible, ScriptedModel, ToolCallingAgent, tool


_DIRS: list = []
_STATE: dict = {}
"""The journal the runner writes to (`journal`), its file (`path`) and that file's size when empty."""


def loop_factory():
    """agentzoo's own event loop, as its command line and eval workers run on (uvloop where installed;
    AGENTZOO_EVENT_LOOP=asyncio, the `agentzoo-asyncio` row, asks for asyncio's)."""
    import asyncio

    from agentzoo.runtime.event_loop import loop_factory as agentzoo_loop

    return agentzoo_loop() or asyncio.new_event_loop


def _journal():
    import os
    import tempfile

    d = tempfile.mkdtemp(prefix="bench-agentzoo-")
    _DIRS.append(d)
    path = os.path.join(d, "journal.db")
    Journal(path).close()  # the schema alone, checkpointed into the file
    _STATE.update(path=path, empty=_file_bytes(path), journal=Journal(path))
    return _STATE["journal"]


def _file_bytes(path: str) -> int:
    import os

    return sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))


def before_measure():
    """A fresh journal for the measured tasks (the warm-up's entries stay in the old one)."""
    _STATE["journal"].close()
    _journal()


def after_measure(steps: int) -> dict:
    """Close the journal (its last connection checkpoints the log into the file) and weigh it."""
    _STATE["journal"].close()
    written = _file_bytes(_STATE["path"]) - _STATE["empty"]
    return {"journal_bytes": written, "journal_bytes_per_step": written / max(steps, 1)}


def cleanup():
    """Called by _common.main before exiting: remove the journal files this process wrote."""
    import shutil

    for d in _DIRS:
        shutil.rmtree(d, ignore_errors=True)


def _commit_each() -> bool:
    import os

    return os.environ.get("BENCH_AGENTZOO_COMMIT_EACH") == "1"


def _runner(model, turns: int):
    @tool(touches=None if _commit_each() else ())
    def add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    agent = ToolCallingAgent(model=model, tools=[add], system=C.SYSTEM, max_steps=max(20, turns + 5))
    _journal()
    task = C.task_text(turns)

    async def run_one():
        result = await agentzoo.run(agent, task, journal=_STATE["journal"])
        if result.status != "finished":
            raise RuntimeError(f"run {result.status}: {result.error}")
        return result.answer

    return run_one


def make_http(base_url: str, turns: int):
    import os

    if os.environ.get("BENCH_AGENTZOO_NO_WIRE_MS"):
        return _no_wire(turns, float(os.environ["BENCH_AGENTZOO_NO_WIRE_MS"]) / 1000)
    kwargs = {}
    if os.environ.get("BENCH_AGENTZOO_MODEL_OPT"):  # as `--model-opt KEY=VALUE` gives them, e.g. stream=false
        from agentzoo.cli.specs import parse_pairs
        from agentzoo.models.registry import model_options

        pairs = parse_pairs(os.environ["BENCH_AGENTZOO_MODEL_OPT"].split(","), "BENCH_AGENTZOO_MODEL_OPT")
        kwargs.update(model_options(f"openai-compatible:{C.MODEL}@{base_url}", dict(pairs)))
    return _runner(OpenAICompatible(C.MODEL, base_url=base_url, api_key=None, **kwargs), turns)


def _no_wire(turns: int, latency: float):
    import asyncio

    script = _script(turns)

    async def answer(request):
        await asyncio.sleep(latency)
        return script(request)

    return _runner(ScriptedModel(answer, name=C.MODEL), turns)


def make_inproc(turns: int):
    return _runner(ScriptedModel(_script(turns), name=C.MODEL, local=not _commit_each()), turns)


def _script(turns: int):
    """The in-process test double: the fake server's conversation (`_common.script`) as replies."""
    from agentzoo.types import ModelResponse, ToolCall, assistant_message

    def fn(request):
        k = C.turns_done(request.messages)
        s = C.script(k, turns)
        if s[0] == "call":
            call = ToolCall(id=s[1], name="add", arguments='{"a": %d, "b": %d}' % (s[2], s[3]))
            return ModelResponse(message=assistant_message(None, [call]), finish_reason="tool_calls",
                                 model=C.MODEL)
        return ModelResponse(message=assistant_message(s[1]), finish_reason="stop", model=C.MODEL)

    return fn


if __name__ == "__main__":
    C.main(__import__(__name__))
