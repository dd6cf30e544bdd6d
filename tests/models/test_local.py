"""The embedded local provider on the shipped model, for real: SmolLM2-135M run by llama.cpp in this
process (the `local` extra and ./scripts/install-local-model are installed by the test command)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import agentzoo
from agentzoo import Journal, ModelRequest, ToolCallingAgent
from agentzoo.errors import ConfigError, ContextLengthError, ModelLoadError, UnusablePathError
from agentzoo.models import local_server
from agentzoo.models.local import LocalModel
from agentzoo.models.registry import RecordedOnlyModel, model_name_of, parse_model
from agentzoo.runtime.pricing import Pricing

ROOT = Path(__file__).resolve().parents[2]
ASK = ModelRequest(messages=[{"role": "user", "content": "Name three colours of the rainbow."}], max_tokens=24)


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first addend
        b: the second addend
    """
    return a + b


async def test_a_generation_is_the_same_bytes_every_time_and_after_a_restart():
    model = LocalModel()
    first, second = await model.complete(ASK), await model.complete(ASK)
    local_server.shutdown_all()  # a new server, as in another process or a later run
    assert local_server.running() == []
    third = await model.complete(ASK)
    await model.aclose()

    assert first.text and first.message == second.message == third.message
    assert first.usage.output_tokens == 24 and first.usage.input_tokens > 5 and first.finish_reason == "length"
    assert first.model == "smollm2-135m" and model.name == "local:smollm2-135m"
    assert Pricing(use_env=False).cost(model.name, first.usage) == 0.0  # known to be free, not unpriced


async def test_a_json_schema_constrains_the_reply():
    schema = {"type": "object", "additionalProperties": False, "required": ["city", "population"],
              "properties": {"city": {"type": "string"}, "population": {"type": "integer"}}}
    request = ModelRequest(messages=[{"role": "user", "content": "The largest city of France, as JSON."}],
                           response_format={"type": "json_schema",
                                            "json_schema": {"name": "city", "schema": schema, "strict": True}},
                           max_tokens=60)
    async with LocalModel() as model:
        reply = json.loads((await model.complete(request)).text)
    assert set(reply) == {"city", "population"}
    assert isinstance(reply["city"], str) and type(reply["population"]) is int


async def test_a_run_replays_byte_for_byte_and_a_fork_goes_live_where_it_changed(tmp_path):
    def agent(system: str, model) -> ToolCallingAgent:
        return ToolCallingAgent(model, [add], system=system, max_steps=1, sampling={"max_tokens": 32})

    with Journal(tmp_path / "j.db") as journal:
        model = LocalModel()
        run = await agentzoo.run(agent("Use the tools.", model), "What is 17 + 25?", journal=journal)
        await model.aclose()
        replayed = await agentzoo.replay(agent("Use the tools.", RecordedOnlyModel(model.name, model.tool_mode)), run.run_id,
                                         journal=journal)
        model = LocalModel()
        forked = await agentzoo.fork(agent("Use the tools. Be brief.", model), run.run_id, journal=journal)
        await model.aclose()

    assert run.model_calls >= 1 and run.usage.output_tokens > 0
    assert run.cost_usd == 0.0 and run.unpriced_calls == 0
    assert replayed.live_effects == 0 and replayed.status == run.status
    assert replayed.messages == run.messages and replayed.answer == run.answer and replayed.error == run.error
    assert forked.fork_point is not None and forked.fork_point["seq"] == 0  # the first request changed
    assert forked.live_effects >= 1 and forked.parent_id == run.run_id


async def test_a_prompt_longer_than_the_context_is_a_context_length_error():
    model = LocalModel(ctx=128)
    with pytest.raises(ContextLengthError, match=r"ctx=128.*\?ctx=N"):
        await model.complete(ModelRequest(messages=[{"role": "user", "content": "word " * 300}], max_tokens=4))
    await model.aclose()


def test_model_strings_options_and_bad_files_are_named(tmp_path):
    model = parse_model("local:smollm2-135m?ctx=2048&threads=1&seed=7&max_tokens=64")
    assert (model.config.ctx, model.config.threads, model.seed, model.max_tokens) == (2048, 1, 7, 64)
    assert model.name == model_name_of("local:smollm2-135m?ctx=2048") == "local:smollm2-135m"
    assert parse_model("local:smollm2-135m", ctx=1024).config.ctx == 1024  # keyword arguments too

    not_gguf = tmp_path / "model.gguf"
    not_gguf.write_bytes(b"PK\x03\x04 a zip, say")
    cases = [(f"local:{not_gguf}", UnusablePathError, "not a GGUF file"),
             (f"local:{tmp_path / 'missing.gguf'}", UnusablePathError, "no such file"),
             (f"local:{tmp_path}/", UnusablePathError, "is a folder"),
             ("local:gpt-5", ConfigError, "not a model agentzoo ships"),
             ("local:smollm2-135m?ctx=big", ConfigError, "ctx='big' must be a positive integer"),
             ("local:smollm2-135m?temperature=1", ConfigError, "unknown option 'temperature'")]
    for spec, error, words in cases:
        with pytest.raises(error, match=words):
            parse_model(spec)


async def test_a_model_too_big_for_memory_or_broken_is_a_model_load_error(tmp_path):
    huge, broken = tmp_path / "huge.gguf", tmp_path / "broken.gguf"
    with huge.open("wb") as f:  # sparse: as big as the memory available and more, using no disk
        f.write(b"GGUF")
        f.truncate((local_server.available_memory() or 0) + 2**30)
    broken.write_bytes(b"GGUF" + bytes(1000))  # the magic, then nothing llama.cpp can read
    for path, words in ((huge, "out of memory: the file alone needs"), (broken, "llama.cpp could not load")):
        model = LocalModel(str(path))
        with pytest.raises(ModelLoadError, match=words):
            await model.complete(ASK)


def _python(code: str, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, **kw)


def test_without_the_extra_the_error_says_how_to_install_it_and_the_demo_plays_its_script(tmp_path):
    hidden = "import sys; sys.modules['xllamacpp'] = None\n"  # as if the extra were not installed
    out = _python(hidden + "from agentzoo import parse_model\nparse_model('local:smollm2-135m')").communicate()
    assert "ConfigError" in out[1] and "pip install 'agentzoo[local]'" in out[1] and "install-local-model" in out[1]
    demo = _python(hidden + "from agentzoo.cli.main import main\nsys.argv = ['agentzoo', 'demo', '--journal', "
                   f"{str(tmp_path / 'j.db')!r}]\nmain()")
    stdout, stderr = demo.communicate(timeout=60)
    assert demo.returncode == 0, stderr
    assert "with a scripted model" in stdout and "pip install 'agentzoo[local]'" in stdout
    assert "answer: (17 + 25) * 3 = 126" in stdout and "replay: the same outcome, 0 live effects" in stdout


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_no_server_outlives_its_process(sig):
    # The server is threads of the caller: whatever ends the caller ends it, mid-generation too.
    child = _python("""
        import asyncio, signal, sys
        signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (a background job ignores it)
        from agentzoo import ModelRequest
        from agentzoo.models import local_server
        from agentzoo.models.local import LocalModel

        async def main():
            model = LocalModel(max_tokens=4000)
            await model.complete(ModelRequest(messages=[{"role": "user", "content": "hi"}], max_tokens=1))
            url = next(iter(local_server._servers.values())).url
            print(url.rsplit(":", 1)[1], flush=True)
            await model.complete(ModelRequest(messages=[{"role": "user", "content": "Write a long story."}]))

        asyncio.run(main())
    """)
    port = int(child.stdout.readline())
    child.send_signal(sig)
    child.communicate(timeout=60)
    assert child.returncode in ((-signal.SIGKILL,) if sig == signal.SIGKILL else (1, 130, -signal.SIGINT))
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_demo_runs_the_shipped_model_then_replays_it(tmp_path):
    # The prompt cache (cache=1) halves the time; the default path, no model configured, is the
    # README's main job (tests/test_readme.py) and the fallback is tested above.
    env = {k: v for k, v in os.environ.items() if k not in ("AGENTZOO_MODEL", "OPENAI_API_KEY")}
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "demo", "--model", "local:smollm2-135m?cache=1",
                          "--journal", str(tmp_path / "j.db")],
                         capture_output=True, text=True, env={**env, "COLUMNS": "200"}, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "model local:smollm2-135m?cache=1 · agent tool-calling" in out.stdout and "$0.000000" in out.stdout
    assert "Replaying run" in out.stdout and "replay: the same outcome, 0 live effects" in out.stdout
    assert "What a 135M model can and cannot do" in out.stdout and "--model local:/path/to/model.gguf" in out.stdout
