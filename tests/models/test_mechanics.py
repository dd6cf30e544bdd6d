"""Real-model mechanics against the fake OpenAI server: streaming past a whole-reply timeout, queue time
apart from generation time, every attempt in the journal and the eval row, sampling on every request.

No upper time bounds: each check is a lower bound the server's own sleeps guarantee, or a count.
"""

from __future__ import annotations

import asyncio
import re

import pytest

import agentzoo
from agentzoo import Journal, ToolCallingAgent, tool
from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ProviderTimeout, ServerError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.openai_compat import OpenAICompatible
from agentzoo.models.retry import RetryPolicy
from agentzoo.runtime.spec import AgentSpec
from agentzoo.testing.fake_openai import FakeOpenAIServer
from agentzoo.types import ModelRequest

FAST = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.02)
ASK = ModelRequest(messages=[{"role": "user", "content": "Tell me a long story."}])
STORY = "Once upon a time " * 20  # 340 characters: 43 streamed events of 8 characters


def model(srv, **kw) -> OpenAICompatible:
    kw.setdefault("retry", FAST)
    return OpenAICompatible("fake-model", base_url=srv.base_url, **kw)


def model_entries(journal: Journal, run_id: str) -> list:
    return [e for e in journal.entries(run_id) if e.kind == "model"]


# --- a long reply that is still arriving -------------------------------------------------------


async def test_a_reply_that_keeps_streaming_past_the_old_whole_reply_timeout_completes():
    slow = {"content": STORY, "chunk_delay": 0.02}  # ~0.9 s in all, a chunk every 0.02 s
    with FakeOpenAIServer(slow) as srv:
        # Each clock is far shorter than the whole reply: only silence would end it.
        async with model(srv, first_byte_timeout=0.3, idle_timeout=0.3) as streamed:
            assert streamed.stream  # the default
            response = await streamed.complete(ASK)
        assert response.text == STORY and response.latency.total_s >= 0.02 * 43
        assert response.latency.first_token_s is not None and response.latency.first_token_s < response.latency.total_s
        # The same reply not streamed arrives whole at the end, so a timeout of the same length cuts it:
        # what a whole-reply timeout did to every long reply.
        async with model(srv, stream=False, first_byte_timeout=0.3, idle_timeout=0.3) as whole:
            with pytest.raises(ProviderTimeout, match="first-byte timeout.*not retried"):
                await whole.complete(ASK)


async def test_each_streamed_piece_reaches_the_caller_as_it_arrives_not_at_the_end():
    # The transport must hand over every chunk as it comes, never gather the reply first (pyreqwest
    # holds a streamed body until its read buffer fills when that buffer is large).
    slow = {"content": STORY, "chunk_delay": 0.02}  # 43 events, 0.02 s apart
    arrivals: list[float] = []
    with FakeOpenAIServer(slow) as srv:
        async with model(srv) as m:
            loop = asyncio.get_running_loop()
            response = await m.complete(ASK, on_delta=lambda _text: arrivals.append(loop.time()))
    assert response.text == STORY and len(arrivals) == 43
    assert arrivals[-1] - arrivals[0] >= 0.02 * 40  # the server's own pauses lie between them


async def test_a_streamed_reply_leaves_its_connection_for_the_next_call():
    # A server that flushes each event ends its chunked body in a write of its own after [DONE]; a
    # client that stops reading at [DONE] has its connection closed instead of pooled, and every call
    # then opens a new one (with a TLS handshake, at a provider).
    with FakeOpenAIServer({"content": "Once upon a time.", "chunk_delay": 0.005, "hold_after_done": 0.02}) as srv:
        async with model(srv) as m:
            replies = [await m.complete(ASK) for _ in range(4)]
    assert [r.text for r in replies] == ["Once upon a time."] * 4
    assert len(set(srv.peers)) == 1, srv.peers


async def test_a_body_that_stays_open_after_done_costs_the_connection_not_the_reply():
    # The reply is whole at [DONE]: a body that does not end soon after is given up, not waited for
    # until the idle timeout, and the call is neither failed nor retried.
    with FakeOpenAIServer({"content": "Once upon a time.", "hold_after_done": 30}) as srv:
        async with model(srv, idle_timeout=60) as m:
            loop = asyncio.get_running_loop()
            started = loop.time()
            response = await m.complete(ASK)
            took = loop.time() - started
            again = await m.complete(ASK)
    assert response.text == again.text == "Once upon a time." and srv.count == 2
    assert took < 10, took  # the grace (1 s), not the idle timeout (60 s) or the server's 30 s
    assert len(set(srv.peers)) == 2  # the held connection was closed; the next call opened its own


async def test_waiting_for_the_end_of_a_whole_reply_never_runs_into_the_calls_own_deadline():
    # The reply is whole at [DONE], 0.3 s into a call that may last 0.6 s: the wait for the body's
    # end stops before the deadline instead of letting it fail the call.
    with FakeOpenAIServer({"content": "Once upon a time.", "delay": 0.3, "hold_after_done": 30}) as srv:
        async with model(srv, call_timeout=0.6) as m:
            response = await m.complete(ASK)
    assert response.text == "Once upon a time." and srv.count == 1


async def test_a_stream_that_stops_mid_reply_hits_the_idle_timeout_and_is_retried():
    stalled = {"sse": [{"choices": [{"index": 0, "delta": {"content": "Once"}}]}], "done": False,
               "chunk_delay": 5}  # one event, then silence
    with FakeOpenAIServer([stalled, {"content": "Once upon a time."}]) as srv:
        async with model(srv, idle_timeout=0.2) as m:
            response = await m.complete(ASK)
    assert response.text == "Once upon a time." and srv.count == 2
    assert [a.get("error", {}).get("type") for a in response.attempts] == ["ProviderTimeout", None]
    assert "idle timeout" in response.attempts[0]["error"]["message"]


# --- queue time apart from generation time ------------------------------------------------------


@pytest.mark.parametrize("stream", [True, False])
async def test_a_server_that_queues_before_answering_shows_queue_time_apart_from_generation(stream):
    queued = {"content": STORY, "queue": 0.4, "prompt_delay": 0.05, "chunk_delay": 0.005, "timings": True}
    with FakeOpenAIServer(queued) as srv:
        async with model(srv, stream=stream) as m:
            response = await m.complete(ASK)
    latency = response.latency
    assert latency.prompt_s == pytest.approx(0.05) and latency.generation_s > 0
    assert latency.queue_s >= 0.4  # the server slept that long before it began
    assert latency.total_s >= latency.queue_s + latency.prompt_s + latency.generation_s - 1e-6
    assert latency.first_token_s >= 0.45  # the first token came after the queue and the prompt
    assert response.to_json()["latency"] == latency.to_json()


async def test_without_server_timings_the_stream_still_gives_the_first_token():
    with FakeOpenAIServer({"content": "hi", "prompt_delay": 0.1}) as srv:
        async with model(srv) as m:
            latency = (await m.complete(ASK)).latency
    assert latency.first_token_s >= 0.1 and latency.queue_s is None and latency.generation_s is None


# --- every attempt in the journal and the row -------------------------------------------------------


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


async def test_every_retry_is_in_the_journal(journal):
    script = [{"status": 503}, {"status": 429, "headers": {"Retry-After": "0"}}, {"content": "4"},
              {"status": 500}, {"status": 500}, {"status": 500}, {"status": 500}]
    with FakeOpenAIServer(script) as srv:
        async with model(srv) as m:
            ok = await agentzoo.run(ToolCallingAgent(m, [add]), "2+2?", journal=journal)
            failed = await agentzoo.run(ToolCallingAgent(m, [add]), "3+3?", journal=journal)
    [entry] = model_entries(journal, ok.run_id)
    attempts = entry.result["attempts"]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert [a.get("error", {}).get("type") for a in attempts] == ["ServerError", "RateLimitError", None]
    assert "HTTP 503" in attempts[0]["error"]["message"] and all(a["seconds"] >= 0 for a in attempts)
    assert ok.answer == "4"
    # A call that failed every time: its attempts are in the error entry.
    [bad] = model_entries(journal, failed.run_id)
    assert bad.status == "error" and failed.error["type"] == "ServerError"
    assert [a["error"]["type"] for a in bad.error["attempts"]] == ["ServerError"] * 4
    # Replay serves the final result, attempts and all, at the same keys.
    again = await agentzoo.replay(ToolCallingAgent(m, [add]), ok.run_id, journal=journal)
    assert again.answer == "4"


async def test_every_retry_is_counted_in_the_eval_sample_row(tmp_path):
    env = GSM8K()
    task = env.tasks()[0]
    gold = task.data["solution"].rsplit("####", 1)[1].strip()
    script = [{"status": 502}, {"status": 500}, {"content": f"The answer is {gold}."}]
    with FakeOpenAIServer(script) as srv:
        model_string = f"openai-compatible:fake@{srv.base_url}"
        # The harness's default retry policy waits up to a second between attempts: fine here.
        await run_eval([Sample(env.name, task, "tool-calling", model_string, 0)], {env.name: env},
                       EvalConfig(out=tmp_path, concurrency=1, agents={"tool-calling": AgentSpec(model="x")}))
    store = ResultStore(tmp_path / "results.db")
    try:
        [row] = list(store.rows())
    finally:
        store.close()
    assert row["model_calls"] == 1 and row["model_retries"] == 2, row
    assert row["status"] == "finished" and row["answer"] == f"The answer is {gold}.", row


# --- sampling settings on every request ------------------------------------------------------------


async def test_the_specs_sampling_reaches_every_request_of_the_tool_calling_agent():
    from agentzoo.builder import build

    with FakeOpenAIServer([{"tool_calls": [{"name": "add", "arguments": {"a": 1, "b": 2}}]}, {"content": "3"}]) as srv:
        spec = AgentSpec(model=f"openai-compatible:fake@{srv.base_url}", tools=["tests.models.test_mechanics:add"],
                         sampling={"temperature": 0.2, "max_tokens": 64, "top_p": 0.9, "seed": 7})
        built = build(spec)
        try:
            result = await agentzoo.run(built.agent, "1+2?")
        finally:
            await built.aclose()
    assert result.answer == "3" and len(srv.requests) == 2
    for body in srv.requests:
        assert (body["temperature"], body["max_tokens"], body["top_p"], body["seed"]) == (0.2, 64, 0.9, 7)
        assert body["stream"] is True


def _recipe_pairs() -> list[tuple[str, str]]:
    from agentzoo.envs.registry import ENVIRONMENTS
    from agentzoo.eval.pairs import acts_in, answer_kinds, env_answer_kind
    from agentzoo.recipes import RECIPES

    preferred = ["gsm8k", "humaneval", "bfcl", "seeded-bugs"]  # the cheapest environment the recipe takes
    pairs = []
    for recipe in sorted(RECIPES):
        kinds, only = answer_kinds(recipe) or (), acts_in(recipe)  # a web or game recipe acts only where it says
        env = next((e for e in preferred + sorted(ENVIRONMENTS) if e in ENVIRONMENTS and env_answer_kind(e) in kinds
                    and (only is None or e in only)), None)
        if env is not None:
            pairs.append((recipe, env))
    return pairs


SAMPLING = {"temperature": 0.3, "max_tokens": 77, "top_p": 0.8, "seed": 5}
# Not checked as equal: the seed (the eval sets each sample's, and parallel branches offset it) and the
# temperature, which a recipe may set per role from the paper (then the spec may not set it: see sampling_for).
EXACT = ("max_tokens", "top_p")


def sampling_for(recipe: str) -> dict:
    """The spec's sampling, less what the recipe sets per role from the paper (cot-sc's temperature,
    Agentless's per-stage token caps): the builder refuses those, naming the recipe's own options."""
    from agentzoo.catalog import get_kind

    own = get_kind(recipe).options
    return {k: v for k, v in SAMPLING.items() if not any(k in name for name in own)}


@pytest.mark.parametrize(("recipe", "env_name"), _recipe_pairs())
async def test_every_recipe_sends_the_specs_sampling_on_every_model_request(recipe, env_name, tmp_path):
    from agentzoo.envs.registry import get_env

    sampling = sampling_for(recipe)
    env = get_env(env_name)
    sample = Sample(env.name, env.tasks()[0], recipe, "oracle", 0)
    await run_eval([sample], {env.name: env}, EvalConfig(out=tmp_path, concurrency=1, agents={
        recipe: AgentSpec(agent=recipe, model="oracle", sampling=sampling)}))
    journal = Journal(tmp_path / "journal.db")
    try:
        requests = [e.request for run in journal.list_runs() for e in journal.entries(run.run_id) if e.kind == "model"]
    finally:
        journal.close()
    assert requests
    from agentzoo.catalog import get_kind

    # a temperature is sent unless the paper's code sent none (llm-debate: the API's default)
    paper_sends_none = get_kind(recipe).options.get("temperature") is not None and \
        get_kind(recipe).options["temperature"].default is None
    wrong = [{k: r.get(k) for k in SAMPLING} for r in requests
             if any(r.get(k) != sampling[k] for k in EXACT if k in sampling) or r.get("seed") is None
             or (r.get("temperature") is None and not paper_sends_none)]
    assert not wrong, f"{len(wrong)} of {len(requests)} requests lack the spec's sampling: {wrong[:3]}"


async def test_show_prints_queue_first_token_and_attempts(journal):
    from rich.console import Console

    from agentzoo.cli.render import EntryPrinter

    script = [{"status": 503}, {"content": "4", "queue": 0.2, "prompt_delay": 0.01, "timings": True}]
    with FakeOpenAIServer(script) as srv:
        async with model(srv) as m:
            result = await agentzoo.run(ToolCallingAgent(m, [add]), "2+2?", journal=journal)
    console = Console(record=True, width=200)
    printer = EntryPrinter(console)
    for entry in journal.entries(result.run_id):
        printer(entry, True)
    line = console.export_text().splitlines()[0]
    assert re.search(r"· \d+\.\d\ds \(queue \d+\.\d\ds · first token \d+\.\d\ds · 2 attempts\)", line), line


def test_a_recipe_with_its_own_sampling_refuses_the_specs_instead_of_overriding_it_silently():
    from agentzoo.builder import build
    from agentzoo.errors import ConfigError

    with pytest.raises(ConfigError, match=r"agentless's own per-role setting \(max_tokens"):
        build(AgentSpec(agent="agentless", model="oracle", sampling={"max_tokens": 77}), replay=True)
    with pytest.raises(ConfigError, match=r"cot-sc's own per-role setting \(temperature"):
        build(AgentSpec(agent="cot-sc", model="oracle", sampling={"temperature": 0.3}), replay=True)
