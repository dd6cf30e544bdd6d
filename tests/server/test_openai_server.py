"""`agentzoo serve --openai`: an agent answering as an OpenAI-compatible model.

Two ways in: the ASGI app in this process (httpx's ASGITransport, the official client over it) for
the request and error shapes, and a real `agentzoo serve --openai --port 0` process on 127.0.0.1
driven by the official `openai` client for what a user sees: completions, streams, runs in the
journal, keys, signals. No test calls a remote model: the served agents play scripts.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from agentzoo import Journal
from agentzoo.runtime.spec import AgentSpec, BudgetSpec
from agentzoo.server.openai_request import conversation_task
from agentzoo.server.openai_server import RUN_ID_HEADER, OpenAIServer
from agentzoo.server.serving import AgentService
from agentzoo.testing.fake_openai import FakeOpenAIServer
from helpers.cli import agentzoo

ANSWER = "Paris is the capital of France."

# Model functions for `--model scripted:FILE.py:NAME`, written beside each test's journal. Each call
# leaves a file in `calls/`, so a test can wait until a call is in flight without guessing a delay.
MODELS = '''
import asyncio
import os
from pathlib import Path

HERE = Path(__file__).parent


def _called(request):
    (HERE / "calls").mkdir(exist_ok=True)
    (HERE / "calls" / f"{os.getpid()}-{id(request)}").write_text(request.messages[-1]["content"])


async def hang(request):
    """Waits for ever while the file `hang` exists; then answers."""
    _called(request)
    while (HERE / "hang").exists():
        await asyncio.sleep(0.01)
    return "Recovered answer."


async def together(request):
    """Answers only once `expected` calls are in flight at once: requests served one at a time never would."""
    _called(request)
    while len(list((HERE / "calls").iterdir())) < int((HERE / "expected").read_text()):
        await asyncio.sleep(0.01)
    return "You said: " + request.messages[-1]["content"]


def boom(request):
    raise RuntimeError("a bug in the agent")
'''


def wait_until(condition, what: str, seconds: float = 60.0) -> None:
    """Poll `condition` until it holds (an event to wait for, not a timing assertion)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def write_models(folder: Path) -> Path:
    path = folder / "models.py"
    path.write_text(MODELS)
    return path


def write_script(folder: Path, steps: list, name: str = "script.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(steps))
    return path


def az(*args, check=True) -> subprocess.CompletedProcess:
    return agentzoo(*args, check=check, timeout=120, unset=["AGENTZOO_SERVE_KEY"])


def _env() -> dict[str, str]:
    env = dict(os.environ, COLUMNS="200")
    env.pop("AGENTZOO_SERVE_KEY", None)
    return env


class Served:
    """An `agentzoo serve --openai --port 0` process; `url` is read from the line it prints first."""

    def __init__(self, *args, journal: Path, key: str | None = None) -> None:
        command = [sys.executable, "-m", "agentzoo.cli.main", "serve", "--openai", "--port", "0", "--journal",
                   str(journal), *map(str, args)] + (["--api-key", key] if key else [])
        # SIGINT as from a terminal: a test run started in the background would have children ignore it.
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(),
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.journal, self.key = journal, key
        first = self.proc.stdout.readline()
        if not first.startswith("serving "):
            self.proc.kill()
            raise AssertionError(f"the server did not start: {first}{self.proc.stdout.read()}{self.proc.stderr.read()}")
        self.first_line = first.strip()
        self.url = first.rsplit(" at ", 1)[1].strip()
        self.stdout: list[str] = []  # the access log: read as it comes, so that a full pipe never blocks it
        self._reader = threading.Thread(target=lambda: self.stdout.extend(self.proc.stdout), daemon=True)
        self._reader.start()

    def client(self, key: str | None = None, **options) -> openai.OpenAI:
        options.setdefault("timeout", 60.0)  # a test that fails fails in a minute, not in the client's ten
        return openai.OpenAI(base_url=self.url, api_key=key or self.key or "unused", **options)

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, str]:
        """Send `sig`; the exit status and what the server wrote on stderr."""
        self.proc.send_signal(sig)
        _, stderr = self.proc.communicate(timeout=60)
        self._reader.join(timeout=60)
        return self.proc.returncode, stderr

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate(timeout=60)


def run_ids(journal: Path) -> list[str]:
    with Journal(journal) as j:
        return [run.run_id for run in j.list_runs()]


def get_run(journal: Path, run_id: str):
    with Journal(journal) as j:
        return j.get_run(run_id)


def run_status(journal: Path, run_id: str) -> str | None:
    """None until the run's row is written (with its first commit)."""
    with Journal(journal) as j:
        return next((run.status for run in j.list_runs() if run.run_id == run_id), None)


# ================================================================ a real server, the official client


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """One server for the tests that only ask it questions: a tool-calling agent that plays one reply,
    behind a key."""
    folder = tmp_path_factory.mktemp("served")
    server = Served("--model", f"scripted:{write_script(folder, [ANSWER])}", journal=folder / "journal.db",
                    key="sk-test-key")
    yield server
    code, stderr = server.stop()
    assert code == 0, stderr


def test_a_completion_is_a_run_in_the_journal(served):
    assert served.first_line == f"serving agentzoo/tool-calling at {served.url}"
    assert served.url.startswith("http://127.0.0.1:") and served.url.endswith("/v1")
    raw = served.client().chat.completions.with_raw_response.create(
        model="anything", messages=[{"role": "user", "content": "What is the capital of France?"}], temperature=0.2)
    completion = raw.parse()
    run_id = raw.headers[RUN_ID_HEADER]
    assert completion.id == f"chatcmpl-{run_id}" and completion.object == "chat.completion"
    assert completion.model == "agentzoo/tool-calling"
    (choice,) = completion.choices
    assert (choice.message.role, choice.message.content, choice.finish_reason) == ("assistant", ANSWER, "stop")
    run = get_run(served.journal, run_id)
    assert (run.status, run.task, run.answer) == ("finished", "What is the capital of France?", ANSWER)
    shown = az("show", run_id, "--json", "--journal", served.journal).stdout
    (entry,) = [json.loads(line) for line in shown.splitlines()]
    assert entry["kind"] == "model" and entry["result"]["message"]["content"] == ANSWER
    usage = entry["usage"]  # the completion's usage is the run's
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        usage["input_tokens"], usage["output_tokens"])
    assert completion.usage.total_tokens == usage["input_tokens"] + usage["output_tokens"]


def test_a_stream_sends_the_work_as_reasoning_then_the_same_answer_and_the_usage(served):
    client = served.client()
    with client.chat.completions.with_streaming_response.create(
            model="agentzoo/tool-calling", messages=[{"role": "user", "content": "Capital of France?"}],
            stream=True, stream_options={"include_usage": True}) as response:
        run_id = response.headers[RUN_ID_HEADER]
        chunks = list(response.parse())
    assert {c.id for c in chunks} == {f"chatcmpl-{run_id}"} and {c.object for c in chunks} == {"chat.completion.chunk"}
    assert chunks[0].choices[0].delta.role == "assistant"
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    reasoning = "".join(d.model_extra.get("reasoning_content") or "" for d in deltas)
    content = "".join(d.content or "" for d in deltas)
    assert reasoning == ANSWER  # the model call's text, as it came
    assert content == ANSWER  # the answer: what the same request unstreamed gets
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    *before, last = chunks
    assert last.choices == [] and last.usage.total_tokens > 0 and all(c.usage is None for c in before)
    assert get_run(served.journal, run_id).answer == ANSWER
    # Without include_usage there is no usage chunk.
    plain = list(client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}], stream=True))
    assert all(c.choices for c in plain) and "".join(c.choices[0].delta.content or "" for c in plain) == ANSWER


def test_a_wrong_or_missing_key_is_refused(served):
    client = served.client("sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"
    with pytest.raises(openai.AuthenticationError):
        client.models.list()
    anonymous = httpx.post(f"{served.url}/chat/completions", json={"messages": [{"role": "user", "content": "Hi"}]})
    assert anonymous.status_code == 401 and "Authorization: Bearer KEY" in anonymous.json()["error"]["message"]


def test_models_lists_the_served_agent(served):
    client = served.client()
    assert [m.id for m in client.models.list()] == ["agentzoo/tool-calling"]
    assert client.models.retrieve("agentzoo/tool-calling").owned_by == "agentzoo"
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("gpt-4o")


def test_bad_requests_are_400s_and_big_ones_413(served):
    client = served.client(max_retries=0)
    with pytest.raises(openai.BadRequestError) as empty:
        client.chat.completions.create(model="m", messages=[])
    assert empty.value.code == "invalid_messages" and "expected a list of chat messages" in empty.value.message
    with pytest.raises(openai.BadRequestError) as image:
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}])
    assert "message 1, content part 2: 'image_url' is not taken" in image.value.message
    headers = {"authorization": f"Bearer {served.key}", "content-type": "application/json"}
    broken = httpx.post(f"{served.url}/chat/completions", content=b'{"messages": [', headers=headers)
    assert broken.status_code == 400 and broken.json()["error"]["code"] == "invalid_json"
    big = json.dumps({"model": "m", "messages": [{"role": "user", "content": "x" * (11 * 1024 * 1024)}]})
    too_big = httpx.post(f"{served.url}/chat/completions", content=big, headers=headers, timeout=60)
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "request_too_large"


def test_binding_beyond_this_machine_needs_a_key(tmp_path):
    script = write_script(tmp_path, [ANSWER])
    out = az("serve", "--openai", "--host", "0.0.0.0", "--port", "0", "--model", f"scripted:{script}",
             "--journal", tmp_path / "j.db", check=False)
    assert out.returncode == 2 and "--host 0.0.0.0 serves beyond this machine: give --api-key KEY" in out.stderr
    assert out.stdout == ""  # it never started


def test_concurrent_requests_are_separate_runs_in_flight_at_once(tmp_path):
    models = write_models(tmp_path)
    (tmp_path / "expected").write_text("3")
    server = Served("--model", f"scripted:{models}:together", journal=tmp_path / "journal.db")
    try:
        async def ask_three():
            client = openai.AsyncOpenAI(base_url=server.url, api_key="unused", max_retries=0, timeout=60.0)
            return await asyncio.gather(*(client.chat.completions.with_raw_response.create(
                model="m", messages=[{"role": "user", "content": f"question {i}"}]) for i in range(3)))

        raws = asyncio.run(ask_three())
    finally:
        code, stderr = server.stop()
    assert code == 0, stderr
    ids = [raw.headers[RUN_ID_HEADER] for raw in raws]
    assert [raw.parse().choices[0].message.content for raw in raws] == [f"You said: question {i}" for i in range(3)]
    assert len(set(ids)) == 3 and sorted(run_ids(tmp_path / "journal.db")) == sorted(ids)
    assert [get_run(tmp_path / "journal.db", i).task for i in ids] == [f"question {i}" for i in range(3)]


def test_a_served_run_replays_from_the_journal_with_the_model_gone(tmp_path):
    journal = tmp_path / "journal.db"
    with FakeOpenAIServer([{"content": "Streamed from upstream, word by word."}]) as upstream:
        server = Served("--model", f"openai-compatible:fake@{upstream.base_url}", journal=journal)
        try:
            chunks = list(server.client().chat.completions.create(
                model="m", messages=[{"role": "user", "content": "Say something."}], stream=True))
        finally:
            code, stderr = server.stop()
        assert code == 0, stderr
        assert upstream.count == 1
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == "Streamed from upstream, word by word."
    (run_id,) = run_ids(journal)
    # The upstream server is gone: a replay that called the model would fail.
    replayed = az("replay", run_id, "--journal", journal)
    assert "answer: Streamed from upstream, word by word." in replayed.stdout
    assert run_ids(journal) == [run_id]  # a replay records nothing


def test_a_recipe_is_served_and_its_stream_shows_each_step(tmp_path):
    draft, refined = "Paris, probably.", "Paris is the capital of France."
    script = write_script(tmp_path, [draft, "Too hedged. VERDICT: REFINE", refined, "Good. VERDICT: STOP"])
    server = Served("--agent", "self-refine", "--model", f"scripted:{script}", journal=tmp_path / "journal.db")
    try:
        client = server.client()
        assert [m.id for m in client.models.list()] == ["agentzoo/self-refine"]
        chunks = list(client.chat.completions.create(
            model="agentzoo/self-refine", messages=[{"role": "user", "content": "Capital of France?"}], stream=True))
    finally:
        code, stderr = server.stop()
    assert code == 0, stderr
    deltas = [c.choices[0].delta for c in chunks]
    reasoning = "".join(d.model_extra.get("reasoning_content") or "" for d in deltas)
    assert reasoning == draft + "Too hedged. VERDICT: REFINE" + refined + "Good. VERDICT: STOP"
    assert "".join(d.content or "" for d in deltas) == refined  # the drafts and critiques are not the answer
    (run_id,) = run_ids(tmp_path / "journal.db")
    assert chunks[0].id == f"chatcmpl-{run_id}" and get_run(tmp_path / "journal.db", run_id).answer == refined


@pytest.mark.parametrize("sig,stream", [(signal.SIGINT, False), (signal.SIGTERM, True)])
def test_a_signal_interrupts_the_runs_in_flight_and_resume_finishes_them(tmp_path, sig, stream):
    models = write_models(tmp_path)
    (tmp_path / "hang").touch()
    journal = tmp_path / "journal.db"
    server = Served("--model", f"scripted:{models}:hang", journal=journal)
    outcome: dict = {}

    def ask() -> None:
        client = server.client(max_retries=0)
        try:
            if stream:
                outcome["chunks"] = list(client.chat.completions.create(
                    model="m", messages=[{"role": "user", "content": "Wait for it."}], stream=True))
            else:
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Wait for it."}])
        except openai.APIError as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=ask)
    caller.start()
    try:
        wait_until(lambda: (tmp_path / "calls").is_dir() and any((tmp_path / "calls").iterdir()),
                   "the model call to be in flight")
    finally:
        code, stderr = server.stop(sig)
        caller.join(timeout=60)
    assert code == 0, stderr
    (run_id,) = run_ids(journal)
    assert get_run(journal, run_id).status == "interrupted"
    error = outcome["error"]
    assert error.body["code"] == "run_interrupted" and error.body["run_id"] == run_id
    assert f"run {run_id} is recorded as interrupted (`agentzoo resume {run_id}` finishes it)" in error.message
    if not stream:
        assert isinstance(error, openai.APIStatusError) and error.status_code == 503
    assert f"1 run(s) in flight are recorded as interrupted" in stderr and run_id in stderr
    assert "Traceback" not in stderr
    (tmp_path / "hang").unlink()
    resumed = az("resume", run_id, "--trust", "--journal", journal)
    assert "answer: Recovered answer." in resumed.stdout
    assert get_run(journal, run_id).status == "finished"


def test_a_caller_that_leaves_mid_stream_interrupts_its_run(tmp_path):
    models = write_models(tmp_path)
    (tmp_path / "hang").touch()
    journal = tmp_path / "journal.db"
    server = Served("--model", f"scripted:{models}:hang", journal=journal)
    try:
        with httpx.stream("POST", f"{server.url}/chat/completions", timeout=60,
                          json={"model": "m", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}) as resp:
            run_id = resp.headers[RUN_ID_HEADER]
            next(resp.iter_lines())  # the first chunk: the run has started
            wait_until(lambda: (tmp_path / "calls").is_dir() and any((tmp_path / "calls").iterdir()),
                       "the model call to be in flight")
        wait_until(lambda: run_status(journal, run_id) not in (None, "running"), "the run to end")
        assert run_status(journal, run_id) == "interrupted"
    finally:
        code, stderr = server.stop()
    assert code == 0, stderr


# ================================================================ the ASGI app in this process


@pytest.fixture
def make_api(tmp_path):
    journals = []

    def make(script=None, *, model: str | None = None, key: str | None = None, **spec) -> OpenAIServer:
        if model is None:
            model = f"scripted:{write_script(tmp_path, script if script is not None else [ANSWER], f's{len(journals)}.json')}"
        journal = Journal(tmp_path / f"journal{len(journals)}.db")
        journals.append(journal)
        return OpenAIServer(AgentService(AgentSpec(model=model, **spec), journal), api_key=key, max_body_bytes=4096)

    yield make
    for journal in journals:
        journal.close()


def asgi_client(api: OpenAIServer, key: str | None = None) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app), base_url="http://agentzoo", headers=headers)


def chat(content="Capital of France?", **fields) -> dict:
    return {"model": "m", "messages": [{"role": "user", "content": content}], **fields}


async def test_the_completion_has_openai_shape_exactly(make_api):
    api = make_api()
    async with asgi_client(api) as client:
        response = await client.post("/v1/chat/completions", json=chat())
    body = response.json()
    run_id = response.headers[RUN_ID_HEADER]
    assert body == {"id": f"chatcmpl-{run_id}", "object": "chat.completion", "created": body["created"],
                    "model": "agentzoo/tool-calling", "system_fingerprint": None,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER, "refusal": None},
                                 "logprobs": None, "finish_reason": "stop"}],
                    "usage": body["usage"]}
    assert body["usage"]["total_tokens"] == body["usage"]["prompt_tokens"] + body["usage"]["completion_tokens"] > 0


async def test_the_stream_as_sent(make_api):
    api = make_api()
    async with asgi_client(api) as client:
        response = await client.post("/v1/chat/completions", json=chat(stream=True))
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert [c["choices"][0]["delta"] for c in chunks][0] == {"role": "assistant", "content": ""}
    assert [c["choices"][0]["delta"] for c in chunks][-2:] == [{"content": ANSWER}, {}]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop" and "usage" not in chunks[-1]


async def test_a_conversation_becomes_one_task_with_its_turns(make_api):
    api = make_api()
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "What is the capital of France?"},
                {"role": "assistant", "content": "Paris."},
                {"role": "user", "name": "ann", "content": [{"type": "text", "text": "And of Italy?"}]}]
    async with asgi_client(api) as client:
        response = await client.post("/v1/chat/completions", json={"model": "m", "messages": messages})
    task = api.service.journal.get_run(response.headers[RUN_ID_HEADER]).task
    assert task == ("Reply to the last message of this conversation. The earlier messages, oldest first:\n\n"
                    "[system]\nBe brief.\n\n"
                    "[user]\nWhat is the capital of France?\n\n"
                    "[assistant]\nParis.\n\n"
                    "The last message, from the user, to reply to:\n\nAnd of Italy?")


def test_tool_turns_and_names_are_rendered_and_text_is_never_a_template():
    task = conversation_task([
        {"role": "user", "name": "bob", "content": "{{ turns }} weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "rain"},
        {"role": "user", "content": "{% raw %}So?"}])
    assert "[user bob]\n{{ turns }} weather?" in task
    assert '[assistant]\n(called weather with {"city": "Oslo"})' in task
    assert "[tool result for call_1]\nrain" in task and task.endswith("\n\n{% raw %}So?")
    assert conversation_task([{"role": "user", "content": "Just this."}]) == "Just this."


@pytest.mark.parametrize("body,code,says", [
    (b"{not json", "invalid_json", "the body is not valid JSON"),
    (b"[1, 2]", "invalid_body", "the body is a list; expected a JSON object with `messages`"),
    (b'{"model": "m"}', "missing_messages", "missing `messages`"),
    (b'{"messages": []}', "invalid_messages", "`messages` is a list; expected a list of chat messages"),
    (b'{"messages": ["hi"]}', "invalid_messages", "message 1 is text, not an object with role and content"),
    (b'{"messages": [{"role": "robot", "content": "hi"}]}', "invalid_messages", "message 1 has role 'robot'"),
    (b'{"messages": [{"role": "user", "content": 7}]}', "invalid_messages", "message 1: content is a number"),
    (b'{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes?"}]}',
     "invalid_messages", "the last message is the assistant's"),
    (b'{"messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {}}]}]}',
     "unsupported_content", "message 1, content part 1: 'input_audio' is not taken"),
    (json.dumps(chat(n=2)).encode(), "unsupported_value", "n=2: an agent gives one answer per request"),
    (json.dumps(chat(logprobs=True)).encode(), "unsupported_value", "logprobs are not available"),
    (json.dumps(chat(response_format={"type": "json_object"})).encode(), "unsupported_value",
     "response_format 'json_object'"),
    (json.dumps(chat(tool_choice="required")).encode(), "unsupported_value", "tool_choice forces a tool call"),
    (json.dumps(chat(stream="yes")).encode(), "invalid_value", "`stream` is text"),
])
async def test_bad_bodies_are_400s_that_say_what_is_wrong(make_api, body, code, says):
    api = make_api()
    async with asgi_client(api) as client:
        response = await client.post("/v1/chat/completions", content=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["type"] == "invalid_request_error" and says in error["message"]
    assert api.service.journal.list_runs() == []  # no run for a request that was not one


async def test_sampling_fields_and_tools_are_accepted_and_ignored(make_api):
    api = make_api()
    extra = dict(temperature=1.5, top_p=0.5, max_tokens=3, max_completion_tokens=3, stop=["\n"], seed=1,
                 presence_penalty=1, frequency_penalty=1, logit_bias={"1": 2}, user="u", n=1, tool_choice="auto",
                 tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
                 response_format={"type": "text"}, metadata={"a": "b"}, store=False)
    async with asgi_client(api) as client:
        response = await client.post("/v1/chat/completions", json=chat(**extra))
    assert response.status_code == 200 and response.json()["choices"][0]["message"]["content"] == ANSWER
    # The model was asked as the served agent's spec says (no sampling, no tools of the caller's).
    (entry,) = api.service.journal.entries(response.headers[RUN_ID_HEADER])
    assert not {"temperature", "top_p", "max_tokens", "stop", "seed"} & set(entry.request)
    assert not entry.request.get("tools")


async def test_keys_are_checked_on_every_route(make_api):
    api = make_api(key="sk-right")
    async with asgi_client(api) as anonymous, asgi_client(api, "sk-wrong") as wrong, \
            asgi_client(api, "sk-right") as right:
        for client, status in ((anonymous, 401), (wrong, 401), (right, 200)):
            assert (await client.get("/v1/models")).status_code == status
            response = await client.post("/v1/chat/completions", json=chat())
            assert response.status_code == status
        refused = (await wrong.post("/v1/chat/completions", json=chat()))
        assert refused.json()["error"] == {"message": "wrong API key", "type": "invalid_request_error", "param": None,
                                           "code": "invalid_api_key"}
        assert refused.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer KEY" in (await anonymous.get("/v1/models")).json()["error"]["message"]
    assert len(api.service.journal.list_runs()) == 1  # refused requests make no run


async def test_a_body_over_the_limit_is_413(make_api):
    api = make_api()  # max_body_bytes=4096 here
    async with asgi_client(api) as client:
        response = await client.post("/v1/chat/completions", json=chat("x" * 5000))
    assert response.status_code == 413 and response.json()["error"]["code"] == "request_too_large"


async def test_a_failed_run_is_a_500_naming_the_run_and_the_reason(make_api):
    api = make_api([{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}, "3"],
                   tools=["agentzoo.examples.demo:add"], budgets=BudgetSpec(model_calls=1))
    async with asgi_client(api) as client:
        response = await client.post("/v1/chat/completions", json=chat("Add 1 and 2."))
        streamed = await client.post("/v1/chat/completions", json=chat("Add 1 and 2.", stream=True))
    run_id = response.headers[RUN_ID_HEADER]
    assert response.status_code == 500 and response.headers["x-should-retry"] == "false"
    error = response.json()["error"]
    assert error["code"] == "run_failed" and error["run_id"] == run_id and error["type"] == "server_error"
    assert error["message"].startswith(f"run {run_id} failed: BudgetExceeded: budget 'model_calls'")
    assert api.service.journal.get_run(run_id).status == "failed"
    # Streamed, the status is already sent: the error is the last event, and there is no [DONE].
    last = json.loads(streamed.text.strip().split("\n\n")[-1].removeprefix("data: "))
    assert last["error"]["code"] == "run_failed" and "BudgetExceeded" in last["error"]["message"]


async def test_a_model_error_and_a_bug_are_500s_without_a_traceback(make_api, tmp_path):
    exhausted = make_api([])
    buggy = make_api(model=f"scripted:{write_models(tmp_path)}:boom")
    async with asgi_client(exhausted) as client:
        response = await client.post("/v1/chat/completions", json=chat())
    assert response.status_code == 500 and "ScriptExhausted" in response.json()["error"]["message"]
    async with asgi_client(buggy) as client:
        response = await client.post("/v1/chat/completions", json=chat())
    error = response.json()["error"]
    assert response.status_code == 500 and error["code"] == "run_failed"
    assert error["message"].endswith("RuntimeError: a bug in the agent") and "Traceback" not in response.text
    assert buggy.service.journal.get_run(error["run_id"]).status == "failed"


async def test_the_official_client_reads_errors_as_its_own(make_api):
    api = make_api([])
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app))
    client = openai.AsyncOpenAI(base_url="http://agentzoo/v1", api_key="unused", http_client=http)
    with pytest.raises(openai.InternalServerError) as failed:
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}])
    assert failed.value.code == "run_failed"
    assert len(api.service.journal.list_runs()) == 1  # x-should-retry: false: the client did not run it again
    with pytest.raises(openai.BadRequestError):
        await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}], n=3)
    await http.aclose()


async def test_unknown_routes_and_methods_answer_in_openai_shape(make_api):
    api = make_api()
    async with asgi_client(api) as client:
        missing = await client.post("/v1/completions", json={"prompt": "hi"})
        wrong_method = await client.get("/v1/chat/completions")
    assert missing.status_code == 404 and "POST /v1/completions" in missing.json()["error"]["message"]
    assert wrong_method.status_code == 405 and wrong_method.json()["error"]["type"] == "invalid_request_error"


async def test_shutting_down_interrupts_runs_in_flight_and_refuses_new_ones(make_api, tmp_path):
    models = write_models(tmp_path)
    (tmp_path / "hang").touch()
    api = make_api(model=f"scripted:{models}:hang")
    async with asgi_client(api) as client:
        request = asyncio.create_task(client.post("/v1/chat/completions", json=chat()))
        while not ((tmp_path / "calls").is_dir() and any((tmp_path / "calls").iterdir())):
            await asyncio.sleep(0.01)  # until the model call is in flight
        await api.interrupt_all()
        response = await request
        later = await client.post("/v1/chat/completions", json=chat())
    run_id = response.headers[RUN_ID_HEADER]
    assert response.status_code == 503 and response.json()["error"]["code"] == "run_interrupted"
    assert api.service.journal.get_run(run_id).status == "interrupted" and api.interrupted == [run_id]
    assert later.status_code == 503 and later.json()["error"]["code"] == "shutting_down"
    assert [run.run_id for run in api.service.journal.list_runs()] == [run_id]

