"""A secret pushed through every path of a run (a tool's result, a tool's error, a model's reply, a
streamed reply, a model URL's userinfo and query) is in no byte of the journal file, no export,
no `show`, `runs` or console output; and masking keeps replay and fork on the recorded path."""

from __future__ import annotations

import io
import os
from pathlib import Path

import orjson
import pytest
from rich.console import Console
from typer.testing import CliRunner

from agentzoo import Journal, OpenAICompatible, ScriptedModel, ToolCallingAgent, fork, replay, run
from agentzoo.cli import render
from agentzoo.cli.main import app
from agentzoo.export import export_run
from agentzoo.runtime import secrets
from agentzoo.testing.fake_openai import FakeOpenAIServer

# Each marker reaches the run by another way; none of them may be stored anywhere.
ENV_KEY = "envkey-" + os.urandom(8).hex()          # in the environment, under a secret-looking name
MODEL_KEY = "modelkey-" + os.urandom(8).hex()      # given to a model object as its api_key
URL_PASSWORD = "urlpass-" + os.urandom(8).hex()    # in the model URL's userinfo
URL_QUERY_KEY = "urlquery-" + os.urandom(8).hex()  # in the model URL's query
BEARER_ONLY = "beareronly" + os.urandom(8).hex()   # known to nobody: caught by its shape (`Bearer …`)
SK_ONLY = "sk-" + os.urandom(16).hex()             # known to nobody: caught by its shape (`sk-…`)
MARKERS = [ENV_KEY, MODEL_KEY, URL_PASSWORD, URL_QUERY_KEY, BEARER_ONLY, SK_ONLY]


def leak_key() -> str:
    """Read the service key (a tool that returns a secret)."""
    return f"the key is {os.environ['HOSTILE_SERVICE_API_KEY']}"


def call_upstream() -> str:
    """Call the upstream service (a tool whose error repeats the request's Authorization header)."""
    raise RuntimeError(f"401 from upstream; request had Authorization: Bearer {BEARER_ONLY}")


SCRIPT = [
    {"tool_calls": [{"name": "leak_key", "arguments": {}}]},
    {"tool_calls": [{"name": "call_upstream", "arguments": {}}]},
    f"Done. For the record, your keys are {ENV_KEY} and {SK_ONLY}.",  # a model that echoes keys
]


@pytest.fixture
def env_secret(monkeypatch):
    monkeypatch.setenv("HOSTILE_SERVICE_API_KEY", ENV_KEY)
    yield
    monkeypatch.delenv("HOSTILE_SERVICE_API_KEY")
    secrets.current(reread_env=True)


def _assert_clean(where: str, data: bytes | str) -> None:
    data = data if isinstance(data, bytes) else data.encode()
    leaked = [m for m in MARKERS if m.encode() in data]
    assert not leaked, f"{where} holds {leaked}"


async def test_no_secret_reaches_the_journal_exports_or_console(tmp_path, env_secret):
    path = tmp_path / "journal.db"
    journal = Journal(path)
    out = io.StringIO()
    console = Console(file=out, width=300, color_system=None)
    printer = render.EntryPrinter(console, streaming=True)

    # 1. A scripted model: the key leaves a tool's result, a tool's error and the model's reply.
    scripted = await run(ToolCallingAgent(ScriptedModel(SCRIPT), [leak_key, call_upstream]), "go",
                         journal=journal, listeners=[printer])
    render.print_summary(console, scripted)
    assert scripted.ok and scripted.answer == "Done. For the record, your keys are *** and sk-***."
    tool_results = [e.result["content"] for e in journal.entries(scripted.run_id) if e.kind == "tool"]
    assert tool_results == ["the key is ***", "RuntimeError: 401 from upstream; request had Authorization: Bearer ***"]

    # 2. A real backend on loopback whose URL carries credentials, streaming a reply with the key.
    behaviours = [{"tool_calls": [{"name": "leak_key", "arguments": {}}]},
                  {"content": f"I saw {ENV_KEY}; my own key is {MODEL_KEY}, and the URL had {URL_PASSWORD} "
                              f"and {URL_QUERY_KEY}"}]
    streamed: list[str] = []
    with FakeOpenAIServer(behaviours) as srv:
        host = srv.base_url.split("://", 1)[1].rsplit("/v1", 1)[0]
        base_url = f"http://agent:{URL_PASSWORD}@{host}/v1?api_key={URL_QUERY_KEY}&api-version=2024-06-01"
        model = OpenAICompatible("fake-model", base_url=base_url, api_key=MODEL_KEY, stream=True)
        config = {"agent": "tool-calling", "model": f"openai-compatible:fake-model@{base_url}", "stream": True}
        live = await run(ToolCallingAgent(model, [leak_key]), f"use key {MODEL_KEY}", journal=journal,
                         config=config, listeners=[printer], on_delta=lambda t: (streamed.append(t), printer.on_delta(t)))
        await model.aclose()
    render.print_summary(console, live)
    assert live.ok and srv.count == 2
    assert srv.headers[0]["Authorization"] == f"Bearer {MODEL_KEY}"  # the key was used, only not stored
    assert srv.requests[0]["messages"][-1]["content"] == f"use key {MODEL_KEY}"
    assert "".join(streamed) == live.answer == "I saw ***; my own key is ***, and the URL had *** and ***"
    info = journal.get_run(live.run_id)
    assert info.task == "use key ***"
    assert info.config["model"] == ("openai-compatible:fake-model@http://***:***@" + host
                                    + "/v1?api_key=***&api-version=2024-06-01")

    # Masking changes requests, so their hashes are of what is stored: replay and fork still match.
    replayed = await replay(ToolCallingAgent(ScriptedModel([]), [leak_key, call_upstream]), scripted.run_id,
                            journal=journal)
    assert replayed.ok and replayed.answer == scripted.answer
    forked = await fork(ToolCallingAgent(ScriptedModel([]), [leak_key, call_upstream]), scripted.run_id,
                        journal=journal)
    assert forked.ok and forked.fork_point is None and forked.live_effects == 0

    exports = [export_run(journal, r, fmt) for r in (scripted.run_id, live.run_id)
               for fmt in ("openai-jsonl", "sharegpt")]
    assert "***" in str(exports[0])
    journal.close()

    cli = CliRunner()
    shown = [cli.invoke(app, [*cmd, "--journal", str(path)])
             for cmd in (["runs"], ["show", scripted.run_id], ["show", live.run_id], ["show", live.run_id, "--json"],
                         ["export", live.run_id, "--format", "sharegpt"])]
    for result in shown:
        assert result.exit_code == 0, result.output
    # They show the runs, masked (how much of each the terminal shows is the renderer's business).
    assert "Bearer ***" in shown[1].output and "task: use key ***" in shown[2].output

    _assert_clean("the console output of the runs", out.getvalue())
    _assert_clean("the streamed text", "".join(streamed))
    _assert_clean("the exports", str(exports))
    for result in shown:
        _assert_clean("the output of an `agentzoo` command", result.output)
    files = sorted(Path(tmp_path).glob("journal.db*"))
    assert files and sum(f.stat().st_size for f in files) > 0
    for f in files:
        _assert_clean(f"the journal file {f.name}", f.read_bytes())


def test_masking_is_idempotent_and_leaves_ordinary_text_alone():
    r = secrets.Redactor(["a-long-secret-value", "short"])
    text = ("a-long-secret-value short Bearer abcdefgh12345 sk-" + "x" * 24 + " https://u:p@h/v1?key=abc&v=1 "
            "risk-assessment-for-the-quarter-of-2024 Bearer bonds token = tokenize(x)")
    masked = r.text(text)
    assert masked == ("*** short Bearer *** sk-*** https://***:***@h/v1?key=***&v=1 "
                      "risk-assessment-for-the-quarter-of-2024 Bearer bonds token = tokenize(x)")
    assert r.text(masked) == masked


@pytest.mark.parametrize("secret, shown", [
    ('a "quoted\\ secret value', "***"),  # JSON-escaped in the serialised value, as it is in text
    ("sk-" + "A1b2" * 6, "sk-***"),
    ("bearer abcdefgh12345", "bearer ***"),
    ("https://user:hunter22@example.com/v1", "https://***:***@example.com/v1"),
    ("https://example.com/v1?Key=abc123", "https://example.com/v1?Key=***"),  # any case, as the exact form
    ("https://example.com/v1?Api_Key=abc123", "https://example.com/v1?Api_Key=***"),
    ("https://blob.example.com/f?Sig=abc", "https://blob.example.com/f?Sig=***"),
    ("https://x.example.com/f?SIGNATURE=abc", "https://x.example.com/f?SIGNATURE=***"),
    ("ghp_" + "a" * 36, "***"),
    ("hf_" + "b" * 34, "***"),  # at the start of a text
    ("line\nhf_" + "b" * 34, "line\n***"),  # after a newline: `\n` in JSON text, a letter before `hf_`
])
def test_the_quick_check_finds_what_the_exact_forms_mask_in_json_and_in_text(secret, shown):
    """Without a pattern of the user's (which has no quick check, so everything is walked), a value or text
    is masked only if the probes find something: they must find every secret the exact forms would."""
    r = secrets.Redactor(['a "quoted\\ secret value'])
    assert not r._unprobed
    in_text = r.json({"content": "see: " + secret}, orjson.dumps({"content": "see: " + secret}))
    assert in_text == {"content": "see: " + shown}, f"{secret!r} was not found"
    deep = [{"deep": ["ok", secret]}]
    assert r.json(deep, orjson.dumps(deep)) == [{"deep": ["ok", shown]}]
    assert r.text(secret) == shown
    assert r.text("nothing to see here = 1; tool_call_id") == "nothing to see here = 1; tool_call_id"


def test_a_secret_streamed_in_pieces_is_masked_when_shown():
    shown: list[str] = []
    masker = secrets.StreamMasker(shown.append, secrets.Redactor([ENV_KEY]))
    text = f"Header: Authorization: Bearer {BEARER_ONLY} and {ENV_KEY} then {SK_ONLY} end"
    for i in range(0, len(text), 3):
        masker(text[i:i + 3])
    masker.flush()
    assert "".join(shown) == "Header: Authorization: Bearer *** and *** then sk-*** end"


@pytest.mark.parametrize("secret, shown", [
    ("a-known-secret-value", "***"),
    ("sk-" + "A1b2" * 6, "sk-***"),
    ("Bearer abcdefgh12345", "Bearer ***"),
    ("BEARER abcdefgh12345", "BEARER ***"),
    ("bearer abcdefgh12345", "bearer ***"),
    ("https://user:hunter22@example.com/v1", "https://***:***@example.com/v1"),
    ("https://example.com/v1?api_key=abc123", "https://example.com/v1?api_key=***"),
    ("https://example.com/v1?x=1&ACCESS_TOKEN=abc123", "https://example.com/v1?x=1&ACCESS_TOKEN=***"),
    ("https://blob.example.com/f?sv=2024&sig=abc%2Fdef", "https://blob.example.com/f?sv=2024&sig=***"),
    ("ghp_" + "a" * 36, "***"),
    ("github_pat_" + "a" * 40, "***"),
    (" hf_" + "b" * 34, " ***"),
    ("ticket-AB-123456", "ticket-***"),  # the user's own pattern
])
def test_a_secret_anywhere_in_a_json_value_is_found_and_masked(secret, shown):
    """The quick check over the serialised value must find every secret the exact forms would
    (else the value is not walked and the secret is stored): in a key, deep in a list, among
    long ordinary text full of the characters the probes start with (`_`, `=`, `:`, `e`)."""
    r = secrets.Redactor(["a-known-secret-value"], [r"AB-\d{6}"])
    filler = "tool_call_id = x; see https://example.com/docs?page=2 (the bear's ears); risk-reward " * 40
    for value in ({"content": filler + secret + filler},
                  {"messages": [{"role": "tool", "content": ["ok", {"deep": [filler, secret]}]}]},
                  {secret: filler}):
        masked = r.json(value, orjson.dumps(value))
        assert masked is not None, f"{secret!r} was not found in {str(value)[:80]}…"
        assert secret.strip() not in orjson.dumps(masked).decode()
        assert shown in orjson.dumps(masked).decode()
    assert r.json({"content": filler}, orjson.dumps({"content": filler})) is None  # nothing to mask: no walk
