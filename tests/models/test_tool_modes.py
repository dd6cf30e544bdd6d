"""Tool modes (agentzoo.models.tool_modes): json and react turn constrained output into ordinary tool
calls before the journal records it; a tool call written as text never becomes the answer.

Against the fake OpenAI server on loopback, with the one agent loop (`ToolCallingAgent`) unchanged.
"""

from __future__ import annotations

import json

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel, ToolCallingAgent, tool
from agentzoo.builder import build as make_agent
from agentzoo.errors import ConfigError
from agentzoo.models.openai_compat import OpenAICompatible
from agentzoo.models.registry import parse_model
from agentzoo.models.retry import RetryPolicy
from agentzoo.models.tool_modes import JsonMode, ReactMode, ToolModeModel, action_schema, default_tool_mode, tool_mode
from agentzoo.runtime.spec import AgentSpec
from agentzoo.testing.fake_openai import FakeOpenAIServer, text_tool_call
from agentzoo.types import ModelRequest, ModelResponse

CALLS: list[tuple[int, int]] = []


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    CALLS.append((a, b))
    return a * b


@pytest.fixture(autouse=True)
def _fresh_calls():
    CALLS.clear()


def model(srv, **kw) -> OpenAICompatible:
    return OpenAICompatible("fake-model", base_url=srv.base_url, retry=RetryPolicy(max_attempts=1), **kw)


def said(call: dict) -> dict:
    """A fake-server reply whose text is this JSON, as a schema-constrained server writes it."""
    return {"content": json.dumps(call)}


def model_entries(journal: Journal, run_id: str) -> list:
    return [e for e in journal.entries(run_id) if e.kind == "model"]


# --- json mode against the fake server ----------------------------------------------------------


async def test_json_mode_never_passes_invalid_arguments_to_a_tool_and_a_final_answer_ends_the_run(journal):
    script = [said({"name": "multiply", "arguments": {"a": "six", "b": 7}}),   # a is not an integer
              said({"name": "multiply", "arguments": {"a": 6}}),               # b is missing
              said({"name": "multiply", "arguments": {"a": 6, "b": 7}}),
              said({"final_answer": "42"})]
    with FakeOpenAIServer(script) as srv:
        async with model(srv, tool_mode="json") as m:
            result = await agentzoo.run(ToolCallingAgent(m, [multiply]), "What is 6 times 7?", journal=journal)
    assert result.answer == "42" and result.model_calls == 4
    assert CALLS == [(6, 7)]  # the two invalid calls never reached the tool

    first = srv.requests[0]
    assert "tools" not in first and "tool_choice" not in first
    schema = first["response_format"]["json_schema"]["schema"]
    assert first["response_format"]["type"] == "json_schema"
    assert [c["properties"].get("name", {}).get("const") for c in schema["anyOf"]] == ["multiply", None]
    assert schema["anyOf"][1]["required"] == ["final_answer"]
    assert "multiply: Multiply two integers." in first["messages"][0]["content"]
    # The format errors went back to the model, naming what was wrong; the tool's result came as text.
    second, fourth = srv.requests[1]["messages"], srv.requests[3]["messages"]
    assert second[-2] == {"role": "assistant", "content": '{"name": "multiply", "arguments": {"a": "six", "b": 7}}'}
    assert second[-1]["role"] == "user" and "arguments.a" in second[-1]["content"]
    assert "'six' is not of type 'integer'" in second[-1]["content"]
    assert "'b' is a required property" in srv.requests[2]["messages"][-1]["content"]
    assert fourth[-2] == {"role": "assistant", "content": '{"name":"multiply","arguments":{"a":6,"b":7}}'}
    assert fourth[-1] == {"role": "user", "content": "Result of multiply:\n42"}

    # The journal holds ordinary tool calls and answers, not the JSON text the model wrote.
    entries = model_entries(journal, result.run_id)
    assert [e.result.get("format_error") is not None for e in entries] == [True, True, False, False]
    assert entries[2].result["message"] == {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_0", "type": "function", "function": {"name": "multiply", "arguments": '{"a":6,"b":7}'}}]}
    assert entries[3].result["message"] == {"role": "assistant", "content": "42"}
    assert all(e.request["tool_mode"] == "json" and e.request["tools"] for e in entries)


async def test_json_mode_reads_a_call_a_server_did_not_constrain_fenced_in_prose():
    reply = {"content": 'Sure! I will multiply.\n```json\n{"name": "multiply", "arguments": {"a": 2, "b": 3}}\n```'}
    with FakeOpenAIServer([reply, said({"final_answer": "6"})]) as srv:
        async with model(srv, tool_mode="json") as m:
            result = await agentzoo.run(ToolCallingAgent(m, [multiply]), "2*3?")
    assert result.answer == "6" and CALLS == [(2, 3)]


async def test_json_mode_an_unknown_tool_and_prose_are_format_errors_never_answers():
    script = [said({"name": "divide", "arguments": {"a": 1}}), {"content": "I think it is 42."},
              said({"final_answer": "42"})]
    with FakeOpenAIServer(script) as srv:
        async with model(srv, tool_mode="json") as m:
            result = await agentzoo.run(ToolCallingAgent(m, [multiply]), "6*7?")
    assert result.answer == "42" and result.model_calls == 3
    assert "no tool named \"divide\"" in srv.requests[1]["messages"][-1]["content"]
    assert "not one JSON object" in srv.requests[2]["messages"][-1]["content"]


async def test_a_request_without_tools_passes_through_json_mode_untouched():
    with FakeOpenAIServer({"content": "plain"}) as srv:
        async with model(srv, tool_mode="json") as m:
            response = await m.complete(ModelRequest(messages=[{"role": "user", "content": "hi"}]))
    assert response.text == "plain" and "response_format" not in srv.requests[0]


# --- native mode: a call written as text -------------------------------------------------------


@pytest.mark.parametrize("fenced", [True, False])
async def test_a_fenced_json_tool_call_in_text_never_ends_a_native_run_as_its_answer(fenced, journal):
    script = [text_tool_call("multiply", {"a": 6, "b": 7}, fenced=fenced),
              {"tool_calls": [{"name": "multiply", "arguments": {"a": 6, "b": 7}}]}, {"content": "42"}]
    with FakeOpenAIServer(script) as srv:
        async with model(srv) as m:
            assert m.tool_mode == "native"
            result = await agentzoo.run(ToolCallingAgent(m, [multiply]), "6*7?", journal=journal)
    assert result.answer == "42" and CALLS == [(6, 7)]
    feedback = srv.requests[1]["messages"][-1]
    assert feedback["role"] == "user" and "tool-calling API" in feedback["content"] and "multiply" in feedback["content"]
    assert srv.requests[0]["tools"]  # native mode sends the tools


@pytest.mark.parametrize("text", [
    '<tool_call>\n{"name": "multiply", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
    'Let me call it: {"type": "function", "function": {"name": "multiply", "arguments": "{\\"a\\": 1}"}}',
    '{"name": "made_up", "parameters": {}}',  # an unknown tool, when the JSON is the whole reply
])
async def test_other_shapes_of_a_call_written_as_text_are_format_errors(text):
    model_ = ScriptedModel([text, "done"])
    result = await agentzoo.run(ToolCallingAgent(model_, [multiply]), "task")
    assert result.answer == "done" and result.model_calls == 2


@pytest.mark.parametrize("answer", ['The record is {"name": "Ann", "age": 3}.', '{"name": "Ann", "arguments": 2} is it'])
async def test_json_that_is_not_a_call_of_a_tool_stays_an_answer(answer):
    result = await agentzoo.run(ToolCallingAgent(ScriptedModel([answer]), [multiply]), "task")
    assert result.answer == answer and result.model_calls == 1


async def test_a_tool_less_agent_may_answer_with_any_json():
    reply = '{"name": "multiply", "arguments": {}}'
    result = await agentzoo.run(ToolCallingAgent(ScriptedModel([reply])), "task")
    assert result.answer == reply


# --- react mode, and any model in a mode ------------------------------------------------------------


async def test_react_mode_turns_text_into_tool_calls_for_any_model(journal):
    replies = ["Thought: multiply\nAction: multiply\nAction Input: {\"a\": 3, \"b\": 4}",
               "Thought: I forgot the format", "Thought: done\nFinal Answer: 12"]
    scripted = ScriptedModel(replies)
    result = await agentzoo.run(ToolCallingAgent(ToolModeModel(scripted, "react"), [multiply]), "3*4?", journal=journal)
    assert result.answer == "12" and CALLS == [(3, 4)]
    last = scripted.requests[-1]
    assert "Action Input: the arguments as one JSON object" in last.messages[0]["content"]
    assert last.tools == [] and last.stop == ["\nObservation:"]
    assert last.messages[-4:-2] == [{"role": "assistant", "content": replies[0]},
                                    {"role": "user", "content": "Observation: 12"}]
    assert last.messages[-2:] == [{"role": "assistant", "content": replies[1]},
                                  {"role": "user", "content": last.messages[-1]["content"]}]
    assert "Write `Action:`" in last.messages[-1]["content"]  # the ReAct format error, sent back
    calls = [e.result["message"].get("tool_calls") for e in model_entries(journal, result.run_id)]
    assert calls[0][0]["function"] == {"name": "multiply", "arguments": '{"a": 3, "b": 4}'} and calls[1:] == [None, None]


def test_the_schema_of_a_step_moves_each_tools_defs_to_the_root():
    params = {"type": "object", "properties": {"p": {"$ref": "#/$defs/Point"}}, "required": ["p"],
              "$defs": {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}}}
    schema = action_schema([{"name": "move", "parameters": params}], answer=False)
    assert schema["properties"]["arguments"]["properties"]["p"] == {"$ref": "#/$defs/move.Point"}
    assert schema["$defs"] == {"move.Point": params["$defs"]["Point"]}
    assert "anyOf" not in schema  # one tool and no answer: the call itself


def test_tool_choice_narrows_the_choice():
    tools = [{"type": "function", "function": {"name": n, "parameters": {"type": "object"}}} for n in ("a", "b")]
    request = ModelRequest(messages=[{"role": "user", "content": "x"}], tools=tools,
                           tool_choice={"type": "function", "function": {"name": "b"}})
    sent = JsonMode().prepare(request)
    assert sent.response_format["json_schema"]["schema"]["properties"]["name"] == {"const": "b"}
    answer = ModelResponse({"role": "assistant", "content": '{"final_answer": "no"}'})
    assert JsonMode().interpret(answer, request).format_error  # an answer is not allowed here
    none = ModelRequest(messages=request.messages, tools=tools, tool_choice="none")
    assert JsonMode().prepare(none).response_format is None and ReactMode().prepare(none).tools == []


def test_modes_by_name_and_defaults():
    assert tool_mode("json").name == "json"
    with pytest.raises(ConfigError, match="native, json, react"):
        tool_mode("xml")
    assert default_tool_mode("local:smollm2-135m") == "json"
    assert default_tool_mode("openai-compatible:m@http://127.0.0.1:1/v1") == "native"
    request = ModelRequest(messages=[], tools=[{"type": "function", "function": {"name": "a"}}],
                           response_format={"type": "json_object"})
    with pytest.raises(ConfigError, match="its own response_format"):
        JsonMode().prepare(request)


# --- the spec's tool_mode, live and in replay -----------------------------------------------------


async def test_the_spec_tool_mode_reaches_the_model_and_replay_matches_its_requests(journal):
    script = [said({"name": "multiply", "arguments": {"a": 2, "b": 5}}), said({"final_answer": "10"})]
    with FakeOpenAIServer(script) as srv:
        spec = AgentSpec(model=f"openai-compatible:fake@{srv.base_url}", tool_mode="json", tools=[
            "tests.models.test_tool_modes:multiply"])
        built = make_agent(spec)
        assert built.agent.model.tool_mode == "json"
        live = await agentzoo.run(built.agent, "2*5?", journal=journal, config=built.spec.to_config())
        await built.aclose()
    assert live.answer == "10"
    replayed_spec = AgentSpec.from_config(journal.get_run(live.run_id).config)
    replayed = make_agent(replayed_spec, replay=True)
    again = await agentzoo.replay(replayed.agent, live.run_id, journal=journal)
    assert again.answer == "10" and again.model_calls == 2


def test_parse_model_puts_a_script_in_a_tool_mode(tmp_path):
    script = tmp_path / "s.json"
    script.write_text(json.dumps([{"content": '{"final_answer": "1"}'}]))
    assert parse_model(f"scripted:{script}", tool_mode="json").tool_mode == "json"
    assert parse_model("openai-compatible:m@http://127.0.0.1:9/v1", tool_mode="react").tool_mode == "react"


# --- the shipped local model: one constrained step, for real ------------------------------------------


async def test_one_constrained_tool_call_step_with_the_real_local_model():
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    spec = multiply.spec() if hasattr(multiply, "spec") else agentzoo.ToolSet([multiply]).specs()[0]
    request = ModelRequest(messages=[{"role": "user", "content": "What is 6 times 7? Use the multiply tool."}],
                           tools=[spec], max_tokens=48, temperature=0.0, seed=0)
    async with parse_model("local:smollm2-135m") as local:
        assert local.tool_mode == "json"  # picked for local models without asking
        response = await local.complete(request)
    # Decoding was constrained to the schema, so the reply is a valid call or an answer, never a broken one.
    assert response.format_error is None, response.message
    calls = response.tool_calls
    if calls:
        [call] = calls
        arguments = json.loads(call.arguments)
        assert call.name == "multiply" and set(arguments) == {"a", "b"}
        assert all(isinstance(v, int) for v in arguments.values())
    else:
        assert response.text.strip()
    assert response.latency is not None and response.latency.generation_s is not None  # llama.cpp's timings


@pytest.mark.parametrize(("agent", "action_format"), [("tool-calling", "react"), ("codeact", None)])
def test_a_tool_mode_that_would_change_nothing_is_refused(agent, action_format):
    spec = AgentSpec(agent=agent, model="openai-compatible:m@http://127.0.0.1:9/v1", action_format=action_format,
                     tool_mode="json")
    with pytest.raises(ConfigError, match="would change nothing"):
        make_agent(spec)
