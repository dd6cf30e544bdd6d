"""The tool-calling agent loop, asserted as whole histories."""

import pytest

import agentzoo
from agentzoo import ScriptedModel, ToolCallingAgent, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def call(name, arguments, id="c1"):
    """A scripted reply with one tool call; `arguments` as raw text (possibly broken)."""
    return {"tool_calls": [{"id": id, "name": name, "arguments": arguments}]}


async def run(script, *, fmt="tool_calls", max_steps=10, **kw):
    model = ScriptedModel(script)
    agent = ToolCallingAgent(model, [add], system="sys", max_steps=max_steps, action_format=fmt, **kw)
    return await agentzoo.run(agent, "task"), model


def tool_msg(content, id="c1"):
    return {"role": "tool", "tool_call_id": id, "content": content}


def assistant_call(name, arguments, id="c1"):
    return {"role": "assistant", "content": None,
            "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": arguments}}]}


async def test_native_tool_calls_whole_history():
    result, model = await run([call("add", '{"a": 2, "b": 3}'), "5"])
    assert result.messages == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "task"},
        assistant_call("add", '{"a": 2, "b": 3}'),
        tool_msg("5"),
        {"role": "assistant", "content": "5"},
    ]
    assert model.requests[0].tools[0]["function"]["name"] == "add"
    assert result.answer == "5"


@pytest.mark.parametrize("arguments,expected", [
    ('{"a": 2, "b": ', "not valid JSON"),             # truncated JSON
    ('{"a": "two", "b": 3}', "a"),                     # wrong type
    ('{"a": NaN, "b": 3}', "not valid JSON"),         # NaN is not JSON
    ('{"a": 1, "b": 2, "c": 3}', "c"),                 # unknown field
])
async def test_bad_arguments_go_back_to_the_model_and_the_loop_continues(arguments, expected):
    result, model = await run([call("add", arguments), call("add", '{"a": 1, "b": 1}', id="c2"), "2"])
    assert result.answer == "2"
    observation = result.messages[3]
    assert observation["role"] == "tool" and observation["tool_call_id"] == "c1"
    assert expected in observation["content"] and observation["content"].startswith("Error")
    assert result.messages[5] == tool_msg("2", id="c2")


async def test_ten_megabyte_argument_is_refused_without_echoing_it():
    huge = '{"a": 1, "b": "' + "9" * 10_000_000 + '"}'
    result, model = await run([call("add", huge), "gave up"])
    observation = result.messages[3]["content"]
    assert len(observation) < 500 and str(len(huge)) in observation.replace(",", "")
    # The model is not sent the 10 MB back either: only its own call, once.
    assert len(model.requests[1].messages[3]["content"]) < 500


async def test_made_up_tool_name_lists_the_real_ones():
    result, _ = await run([call("ad", '{"a": 1, "b": 2}'), "3"])
    observation = result.messages[3]["content"]
    assert "'ad'" in observation and "add" in observation


async def test_empty_response_is_fed_back():
    result, model = await run(["", "5"])
    assert result.answer == "5"
    assert model.requests[1].messages[-1] == {
        "role": "user", "content": "Your reply was empty. Call a tool, or reply with your final answer."}


async def test_model_that_never_finishes_hits_the_step_limit():
    script = [call("add", f'{{"a": {i}, "b": 1}}', id=f"c{i}") for i in range(10)]
    result, model = await run(script, max_steps=4)
    assert result.status == "failed" and result.error["type"] == "StepLimitExceeded"
    assert "4 steps" in result.error["message"] and model.calls == 4


async def test_repeated_identical_calls_are_not_run_again():
    same = call("add", '{"a": 1, "b": 1}')
    result, _ = await run([same, same, same, "2"])
    observations = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert observations[:2] == ["2", "2"]
    assert observations[2].startswith("Not run: you called add with these same arguments 3 times in a row")


async def test_consecutive_tool_errors_are_bounded_run_wide():
    script = [call("nope", "{}", id=f"c{i}") for i in range(20)]
    model = ScriptedModel(script)
    agent = ToolCallingAgent(model, [add], max_steps=30, repeat_limit=100)
    result = await agentzoo.run(agent, "task", max_consecutive_tool_errors=3)
    assert result.error["type"] == "ToolErrorLimit" and "4 tool calls in a row failed" in result.error["message"]


async def test_react_text_format_whole_history():
    script = [
        "Thought: I should add.\nAction: add\nAction Input: {\"a\": 2, \"b\": 3}",
        "Thought: done.\nFinal Answer: 5",
    ]
    result, model = await run(script, fmt="react")
    assert result.answer == "5"
    assert model.requests[0].tools == [] and model.requests[0].stop == ["\nObservation:"]
    system = model.requests[0].messages[0]["content"]
    assert system.startswith("sys\n\nYou solve the task") and "- add: Add two integers." in system
    assert result.messages[2:] == [
        {"role": "assistant", "content": script[0]},
        {"role": "user", "content": "Observation: 5"},
        {"role": "assistant", "content": script[1]},
    ]


@pytest.mark.parametrize("reply,feedback", [
    ("Action: add\nAction Input: {\"a\": 1, \"b\": 2}\nFinal Answer: 3", "both an Action and a Final Answer"),
    ("I think it is 3.", "did not follow the format"),
    ("Action: add", "no `Action Input:` line"),
    ("Action: add\nAction Input: {a: 1}", "not valid JSON"),
])
async def test_react_format_errors_are_fed_back(reply, feedback):
    result, model = await run([reply, "Final Answer: 3"], fmt="react")
    assert result.answer == "3"
    last = model.requests[1].messages[-1]
    assert last["role"] == "user" and last["content"].startswith("Observation: format error.")
    assert feedback in last["content"]


async def test_react_accepts_fenced_json():
    result, _ = await run(["Action: add\nAction Input: ```json\n{\"a\": 4, \"b\": 4}\n```", "Final Answer: 8"], fmt="react")
    assert result.messages[3] == {"role": "user", "content": "Observation: 8"}


async def test_a_failing_model_ends_the_run_with_its_error_recorded(journal):
    from agentzoo.errors import ServerError

    model = ScriptedModel([ServerError("upstream 503", status=503)])
    result = await agentzoo.run(ToolCallingAgent(model, [add]), "task", journal=journal)
    assert result.error == {"type": "ServerError", "message": "upstream 503", "infrastructure": True}
    [entry] = journal.entries(result.run_id)
    assert entry.status == "error" and entry.error["type"] == "ServerError"
    assert journal.get_run(result.run_id).status == "failed"


async def test_approval_policy_denial_is_journaled_and_replayed(journal):
    from agentzoo import ApprovalPolicy

    writes = []

    @tool(touches={"write"})
    def save(text: str) -> str:
        """Save a note."""
        writes.append(text)
        return "saved"

    asked = []

    def approver(name, arguments, touches):
        asked.append(name)
        return False

    model = ScriptedModel([call("save", '{"text": "hi"}'), "ok"])
    agent = ToolCallingAgent(model, [save], policy=ApprovalPolicy(approver=approver))
    result = await agentzoo.run(agent, "task", journal=journal)
    assert writes == [] and asked == ["save"]
    assert result.messages[2]["role"] == "tool" and "denied" in result.messages[2]["content"]
    again = await agentzoo.replay(ToolCallingAgent(ScriptedModel([]), [save], policy=ApprovalPolicy(approver=approver)),
                                  result.run_id, journal=journal)
    assert again.messages == result.messages and asked == ["save"]


# --- one loop, pluggable formats ---------------------------------------------------------


async def test_the_m3tooleval_formats_run_in_the_same_loop():
    result, model = await run(['Action: {"tool": "add", "args": [2, 3]} End Action', "Answer: 5"], fmt="json")
    assert result.answer == "5" and model.requests[0].tools == []
    assert result.messages[3] == {"role": "user", "content": "5"}
    assert model.requests[0].messages[0]["content"].startswith("sys\n\nYou solve the task by taking actions")


async def test_an_action_format_object_plugs_into_the_loop():
    from agentzoo.agents.formats import Act, Final
    from agentzoo.types import ToolCall

    class Slash:
        """A toy format: `/tool {json}` calls a tool; any other reply is the answer."""

        name, uses_native_tools, runs_code, stop = "slash", False, False, None

        def system_prompt(self, system, max_steps):
            return f"{system} Call a tool as /name {{json}}; {max_steps} steps."

        def parse(self, response, step):
            message = {"role": "assistant", "content": response.text}
            if response.text.startswith("/"):
                name, _, arguments = response.text[1:].partition(" ")
                return Act((ToolCall(f"s{step}", name, arguments),), message)
            return Final(response.text, message)

        def rejected(self, response, error):
            return []

        def observation(self, item, seen, note):
            return [{"role": "user", "content": f"{item.name} = {seen.content}"}]

    result, _ = await run(['/add {"a": 2, "b": 3}', "5"], fmt=Slash(), max_steps=3)
    assert result.messages == [
        {"role": "system", "content": "sys Call a tool as /name {json}; 3 steps."},
        {"role": "user", "content": "task"},
        {"role": "assistant", "content": '/add {"a": 2, "b": 3}'},
        {"role": "user", "content": "add = 5"},
        {"role": "assistant", "content": "5"},
    ]


async def test_repeated_react_actions_are_not_run_again():
    same = 'Action: add\nAction Input: {"a": 1, "b": 1}'
    result, _ = await run([same] * 3 + ["Final Answer: 2"], fmt="react")
    assert [m["content"] for m in result.messages if m["role"] == "user"][1:] == [
        "Observation: 2", "Observation: 2", "Observation: Not run: you called add with these same arguments 3 times "
        "in a row; the result will not change. Use the results you have, or try something different."]


def test_an_unknown_format_name_is_refused():
    with pytest.raises(ValueError, match="action_format must be one of"):
        ToolCallingAgent(ScriptedModel([]), [add], action_format="yaml")


def test_errors_say_whether_the_infrastructure_failed_by_a_class_attribute():
    """The eval harness retries what is not the task's fault; it reads it from the error, not a list of names."""
    from agentzoo.errors import (BadRequestError, ContextLengthError, ProviderTimeout, SandboxError, ServerError,
                                 StepLimitExceeded, error_to_json)

    for exc in (ServerError("x"), ProviderTimeout("x"), SandboxError("x"), BadRequestError("x")):
        assert error_to_json(exc)["infrastructure"] is True
    for exc in (ContextLengthError("x"), StepLimitExceeded("x"), ValueError("x")):
        assert "infrastructure" not in error_to_json(exc)
