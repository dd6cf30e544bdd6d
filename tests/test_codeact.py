"""CodeActAgent and M3ToolEval's action modes, driven by a scripted model through the journal.

The code actions run in the real sandbox (`tier="auto"`, never unsafe); each test keeps to a
few short actions so that the worker's ~50 ms start is most of the cost.
"""

from collections import Counter

import pytest

import agentzoo
from agentzoo import CodeActAgent, ScriptedModel, ToolSet, tool
from agentzoo.agents.action_modes import BOTH, NEITHER, NO_OUTPUT, answer_text, answers_match, split_reply
from agentzoo.sandbox import Sandbox

SQUARED: list[int] = []
"""Every `square` call actually performed, to prove that replay performs none."""


@tool
def square(x: int) -> int:
    """Square a number."""
    SQUARED.append(x)
    return x * x


@tool
def echo(text: str, times: int = 1) -> str:
    """Repeat a text."""
    return text * times


@pytest.fixture(autouse=True)
def _fresh_calls():
    SQUARED.clear()


def action(body):
    return f"Action:\n{body}\nEnd Action"


async def run(script, *, mode="code", journal=None, tools=(square, echo), listeners=None, **kw):
    model = ScriptedModel(script)
    agent = CodeActAgent(model, list(tools), action_mode=mode, tier="auto", allow_unsafe=False, **kw)
    return await agentzoo.run(agent, "Sum the squares of 1, 2 and 3.", journal=journal, listeners=listeners), model


def effects(journal, result):
    return Counter((e.scope, e.kind, e.name) for e in journal.entries(result.run_id))


def observations(result):
    """The user messages after the task: what the agent sent back after each reply."""
    return [m["content"] for m in result.messages[2:] if m["role"] == "user"]


# --- the protocol: one code action does what three tool calls do --------------------------


async def test_code_mode_does_the_plan_in_one_turn_with_a_loop(journal):
    loop = action("total = 0\nfor x in (1, 2, 3):\n    total += square(x)\nfinal_answer(total)")
    result, model = await run([f"Thought: one loop does it.\n{loop}"], journal=journal)
    assert result.ok and result.answer == "14" and model.calls == 1
    assert effects(journal, result) == Counter({("", "model", "scripted"): 1, ("", "sandbox", "exec"): 1,
                                                ("code#1", "tool", "square"): 3})
    tool_requests = [e.request for e in journal.entries(result.run_id) if e.kind == "tool"]
    assert [r["arguments"] for r in tool_requests] == ['{"x":1}', '{"x":2}', '{"x":3}']
    assert SQUARED == [1, 2, 3]


async def test_json_mode_needs_a_turn_per_call_then_the_answer(journal):
    script = [f'Action: {{"tool": "square", "args": [{x}]}} End Action' for x in (1, 2, 3)] + ["Answer: 14"]
    result, model = await run(script, mode="json", journal=journal)
    assert result.ok and result.answer == "14" and model.calls == 4
    assert effects(journal, result) == Counter({("", "model", "scripted"): 4, ("", "tool", "square"): 3})
    assert observations(result) == ["1", "4", "9"]


async def test_text_mode_whole_history():
    script = ["Thought: square it.\nAction: square, 3 End Action", "Answer: 9"]
    result, model = await run(script, mode="text", tools=[square])
    assert result.answer == "9"
    assert result.messages[1:] == [
        {"role": "user", "content": "Sum the squares of 1, 2 and 3."},
        {"role": "assistant", "content": script[0]},
        {"role": "user", "content": "9"},
        {"role": "assistant", "content": "Answer: 9"},
    ]
    assert model.requests[0].tools == []


async def test_text_mode_keeps_string_arguments_as_text_and_converts_numbers():
    result, _ = await run(["Action: echo, 007, 2 End Action", "Answer: 007007"], mode="text")
    assert observations(result) == ["007007"]


@pytest.mark.parametrize("mode,reply,expected", [
    ("json", 'Action: {"tool": "echo", "args": {"text": "ab", "times": 2}} End Action', "abab"),
    ("json", 'Action: {"tool": "square", "args": 5} End Action', "25"),           # one value: a list of one
    ("json", 'Action: ```json\n{"tool": "square", "args": [6]}\n``` End Action', "36"),
    ("json", 'Action: {"tool": "cube", "args": [2]} End Action', "Error: there is no tool 'cube'"),
    ("json", 'Action: {"tool": "square", "args": [1, 2]} End Action', "square takes 1 argument(s) (x)"),
    ("json", "Action: {tool: square} End Action", "not valid JSON"),
    ("json", 'Action: ["square", 1] End Action', 'must be a JSON object with "tool"'),
    ("text", "Action: square, two End Action", "Error: "),                        # fails validation
    ("text", "Action: , 2 End Action", "no tool name"),
])
async def test_tool_call_modes_report_bad_actions_and_go_on(mode, reply, expected):
    result, _ = await run([reply, "Answer: ok"], mode=mode)
    assert result.answer == "ok" and expected in observations(result)[0]


# --- errors come back; formats are enforced ----------------------------------------------


async def test_an_exception_in_an_action_is_the_next_observation_and_the_agent_recovers():
    script = [action("y = square(2)\ny / 0"), action("print(y + 1)"), action("square('two')"), "Answer: 5"]
    result, model = await run(script)
    assert result.answer == "5"
    sent = model.requests[1].messages[-1]["content"]
    assert sent.startswith("Traceback (most recent call last):") and 'File "<action>", line 2' in sent
    assert sent.rstrip().endswith("ZeroDivisionError: division by zero")
    assert observations(result)[1] == "5"  # the variable survived the failed action
    assert "ToolError" in observations(result)[2] and "x" in observations(result)[2]  # a refused tool call


@pytest.mark.parametrize("mode,act", [("code", action("print(square(5))")),
                                      ("json", 'Action: {"tool": "square", "args": [5]} End Action')])
async def test_an_action_and_an_answer_together_are_rejected_and_nothing_runs(journal, mode, act):
    result, model = await run([f"{act}\nAnswer: 25", "Answer: 25"], mode=mode, journal=journal)
    assert result.answer == "25" and SQUARED == []
    assert model.requests[1].messages[-1] == {"role": "user", "content": BOTH}
    assert {e.kind for e in journal.entries(result.run_id)} == {"model"}


async def test_a_reply_with_neither_is_told_the_format():
    result, model = await run(["I think it is 14.", "Answer: 14"])
    assert result.answer == "14" and model.requests[1].messages[-1]["content"] == NEITHER


async def test_only_the_first_of_several_actions_runs_with_a_note():
    reply = f"{action('print(square(2))')}\nThought: and also\n{action('print(square(3))')}"
    result, _ = await run([reply, "Answer: 4"])
    assert SQUARED == [2]
    assert observations(result) == ["4\nNote: your reply held 2 actions; only the first one was run. "
                                    "Send one action per reply."]


async def test_final_answer_in_code_ends_the_task_with_its_value():
    result, model = await run([action("print('working')\nfinal_answer({'total': [1, 4, 9]})\nprint('never')")])
    assert result.answer == '{"total":[1,4,9]}' and model.calls == 1 and result.ok
    assert result.messages[-1] == {"role": "user", "content": "working"}


async def test_final_answer_without_output_adds_no_observation():
    result, _ = await run([action("final_answer('fourteen')")])
    assert result.answer == "fourteen" and result.messages[-1]["role"] == "assistant"


async def test_the_turn_limit_fails_the_run():
    script = [f'Action: {{"tool": "square", "args": [{i}]}} End Action' for i in range(5)]
    result, model = await run(script, mode="json", max_turns=2)
    assert result.status == "failed" and result.error["type"] == "StepLimitExceeded"
    assert "2 turns" in result.error["message"] and model.calls == 2


# --- the persistent interpreter -----------------------------------------------------------


async def test_variables_persist_and_a_crashed_worker_is_reported_then_replaced():
    script = [action("x = square(4)"), action("print(x)"), action("import os; os._exit(1)"),
              action("print(x)"), action("print('alive', square(5))"), "Answer: done"]
    result, _ = await run(script)
    seen = observations(result)
    assert seen[0] == NO_OUTPUT and seen[1] == "16"
    assert seen[2].startswith("WorkerCrashed: the sandbox worker died") and "was lost" in seen[2]
    assert seen[3].rstrip().endswith("NameError: name 'x' is not defined")
    assert seen[4] == "alive 25" and result.answer == "done"


async def test_stdout_stderr_and_the_traceback_are_shown_in_order():
    result, _ = await run([action("import sys\nprint('out')\nprint('err', file=sys.stderr)\nraise KeyError('k')"),
                           "Answer: x"])
    text = observations(result)[0]
    assert text.startswith("out\nstderr:\nerr\nTraceback (most recent call last):")
    assert text.endswith("KeyError: 'k'")


# --- replay and the CLI config ------------------------------------------------------------


async def test_replay_runs_no_model_no_code_and_no_tool(journal):
    script = [action("partial = [square(x) for x in (1, 2)]"), action("final_answer(sum(partial) + square(3))")]
    result, _ = await run(script, journal=journal)
    assert result.answer == "14" and SQUARED == [1, 2, 3]

    idle = Sandbox(tier="auto", tools=ToolSet([square, echo]))
    replayer = ScriptedModel([])
    again = await agentzoo.replay(CodeActAgent(replayer, [square, echo], sandbox=idle), result.run_id, journal=journal)
    assert again.answer == "14" and again.messages == result.messages
    assert replayer.calls == 0 and again.live_effects == 0 and SQUARED == [1, 2, 3]
    assert idle.report is None  # the sandbox was never started
    assert result.tool_calls == again.tool_calls == 3  # the code's calls count, served or live


async def test_a_replay_prints_a_code_actions_tool_calls_as_the_run_did(journal):
    from rich.console import Console

    from agentzoo.cli.render import EntryPrinter

    live_console, replay_console = (Console(record=True, width=300, color_system=None) for _ in range(2))
    script = [action("print(square(2) + square(3))"), "Answer: 13"]
    live, _ = await run(script, journal=journal, listeners=[EntryPrinter(live_console)])
    again = await agentzoo.replay(CodeActAgent(ScriptedModel([]), [square, echo]), live.run_id, journal=journal,
                                  listeners=[EntryPrinter(replay_console)])
    shown = live_console.export_text()
    assert replay_console.export_text() == shown
    assert [line.split()[0] for line in shown.splitlines()] == ["step", "Action:⏎", "←", "←", "sandbox", "step", "Answer:"]
    assert live.tool_calls == again.tool_calls == 2


async def test_a_fork_keeps_the_tool_calls_of_the_code_actions_it_reuses(journal):
    script = [action("print(square(2))"), "Answer: 4"]
    live, _ = await run(script, journal=journal)
    same = await agentzoo.fork(CodeActAgent(ScriptedModel([]), [square, echo]), live.run_id, journal=journal)
    assert same.run_id != live.run_id and same.ok and SQUARED == [2]  # everything served, nothing run again
    assert effects(journal, same) == effects(journal, live) and same.tool_calls == 1


# --- issue 11: fenced code, repeated actions, errors on the console ------------------------


async def test_a_fenced_python_block_runs_as_the_action(journal):
    result, _ = await run(["Let me compute it.\n```python\nprint(square(3))\n```", "Answer: 9"], journal=journal)
    assert result.answer == "9" and observations(result) == ["9"]
    assert effects(journal, result)[("", "sandbox", "exec")] == 1


async def test_the_same_code_sent_three_times_in_a_row_is_not_run_again(journal):
    failing = action("print(undefined_name)")
    result, _ = await run([failing] * 4 + ["Answer: gave up"], journal=journal)
    seen = observations(result)
    assert all(text.rstrip().endswith("NameError: name 'undefined_name' is not defined") for text in seen[:2])
    assert seen[2] == seen[3] == ("Not run: you sent this same code 3 times in a row; it will do the same again. "
                                  "Use the output you have, or try something different.")
    assert effects(journal, result)[("", "sandbox", "exec")] == 2


async def test_a_repeated_json_action_is_not_run_again():
    same = 'Action: {"tool": "square", "args": [4]} End Action'
    result, _ = await run([same] * 3 + ["Answer: 16"], mode="json")
    assert SQUARED == [4, 4] and observations(result)[2].startswith("Not run: you called square with these same")


async def test_the_console_says_an_action_raised_and_shows_its_error_as_written():
    from rich.console import Console

    from agentzoo.cli.render import EntryPrinter

    console = Console(record=True, width=300, color_system=None)
    await run([action("raise ValueError('[bold]x[/bold] \\\\')"), action("print(1)"), "Answer: 1"],
              listeners=[EntryPrinter(console)])
    lines = [line.strip() for line in console.export_text().splitlines() if line.strip().startswith("sandbox")]
    assert lines == ["sandbox exec raised ValueError: [bold]x[/bold] \\", "sandbox exec ok"]


async def test_the_cli_replays_a_codeact_run_from_its_config(tmp_path):
    import json
    import subprocess
    import sys

    from agentzoo import Journal
    from agentzoo.builder import build
    from agentzoo.runtime.spec import AgentSpec

    script = tmp_path / "script.json"
    script.write_text(json.dumps([action("print(add(2, 3))"), "Answer: 5"]))
    built = build(AgentSpec(agent="codeact", model=f"scripted:{script}", tools=["agentzoo.examples.demo:add"],
                            action_format="code", max_steps=3))
    with Journal(tmp_path / "j.db") as journal:
        result = await agentzoo.run(built.agent, "2 + 3?", journal=journal, config=built.spec.to_config())
    assert result.answer == "5"
    out = subprocess.run([sys.executable, "-m", "agentzoo.cli.main", "replay", result.run_id, "--journal",
                          str(tmp_path / "j.db")], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "sandbox exec" in out.stdout and "answer: 5" in out.stdout


def test_a_run_config_builds_a_codeact_agent():
    from agentzoo.builder import build
    from agentzoo.errors import ConfigError
    from agentzoo.runtime.spec import AgentSpec

    # a config written before agent specs existed still rebuilds its agent
    config = {"agent": "codeact", "model": "scripted:x.json", "tools": ["agentzoo.examples.demo:add"],
              "action_mode": "json", "max_turns": 4, "tier": "bwrap"}
    agent = build(AgentSpec.from_config(config), replay=True).agent
    assert isinstance(agent, CodeActAgent) and agent.mode.name == "json" and agent.max_turns == 4
    assert agent.tier == "bwrap" and not agent.allow_unsafe and "add(a: int, b: int) -> int" in agent.system
    with pytest.raises(ConfigError, match="action_format 'yaml'"):
        build(AgentSpec.from_config({**config, "action_mode": "yaml"}), replay=True)


# --- the prompt, the parser and the answer check ------------------------------------------


@pytest.mark.parametrize("mode,phrase", [("code", "final_answer(value)"), ("json", '"args"'),
                                         ("text", "separated by commas")])
def test_the_system_prompt_lists_tools_as_signatures_and_states_the_rules(mode, phrase):
    agent = CodeActAgent(ScriptedModel([]), [square, echo], action_mode=mode, max_turns=7, system="Be brief.")
    assert agent.system.startswith("Be brief.\n\n")
    assert "- square(x: int) -> int: Square a number." in agent.system
    assert "- echo(text: str, times: int = 1) -> str: Repeat a text." in agent.system
    assert phrase in agent.system and "7 replies" in agent.system and "`Answer:`" in agent.system


def test_bad_settings_are_refused_when_the_agent_is_made():
    with pytest.raises(ValueError, match="action_mode"):
        CodeActAgent(ScriptedModel([]), action_mode="yaml")
    with pytest.raises(ValueError, match=r"does not serve the tools \['echo'\]"):
        CodeActAgent(ScriptedModel([]), [square, echo], sandbox=Sandbox(tools=ToolSet([square])))
    with pytest.raises(ValueError, match="identifiers"):
        CodeActAgent(ScriptedModel([]), [tool(lambda: 1, name="two-words")])
    CodeActAgent(ScriptedModel([]), [tool(lambda: 1, name="two-words")], action_mode="json")  # fine there


@pytest.mark.parametrize("reply,actions,answer", [
    ("Answer: 14", [], "14"),
    ("Thought: done.\nAnswer: 14\nAnswer: 15", [], "14"),                          # the first answer counts
    ("Action:\nprint('Answer:', 1)\nEnd Action", ["\nprint('Answer:', 1)\n"], None),  # inside code: not an answer
    ("Action: square, 1", [" square, 1"], None),                                  # never closed: to the end
    ("Action:\nx = 1\nAnswer: 1", ["\nx = 1\n"], "1"),                             # never closed: to the next marker
    ("Action: a End Action Action: b End Action", [" a ", " b "], None),
])
def test_split_reply(reply, actions, answer):
    assert split_reply(reply) == (actions, answer)


LOOP = "for i in range(2):\n    print(i)"


@pytest.mark.parametrize("reply,code", [
    ("Action:\n```python\n    for i in range(2):\n        print(i)\n```\nEnd Action", LOOP),  # a fence inside: removed
    (f"I will loop.\n```python\n{LOOP}\n```", LOOP),                 # a fenced block alone: the action
    (f"```py\n{LOOP}\n```\nThen:\n```python3\nprint(2)\n```", LOOP),    # the first of several
    ("<execute>\nprint('Answer:', 1)\n</execute>", "print('Answer:', 1)"),  # the CodeAct paper's tags
    ("```python\nprint('Answer:', 1)\n```", "print('Answer:', 1)"),     # "Answer:" inside the code is code
])
def test_what_code_mode_accepts_as_the_action(reply, code):
    from agentzoo.agents.formats import Act, Code
    from agentzoo.types import ModelResponse

    agent = CodeActAgent(ScriptedModel([]), [square])
    act = agent.mode.parse(ModelResponse({"role": "assistant", "content": reply}), 0)
    assert isinstance(act, Act) and act.items == (Code(code),)


@pytest.mark.parametrize("mode,reply,answer", [
    ("code", "I ran\n```python\nprint(square(3))\n```\nAnswer: 9", "9"),  # code shown beside an answer: the answer
    ("code", "Answer:\n```python\ndef f():\n    return 1\n```", "```python\ndef f():\n    return 1\n```"),  # code as the answer
    ("json", "```python\nprint(1)\n```", None),                      # only code mode reads fenced code
    ("code", "```text\nprint(1)\n```", None),                         # and only Python blocks
])
def test_fenced_code_is_an_action_only_in_code_mode_and_without_an_answer(mode, reply, answer):
    from agentzoo.agents.formats import Final
    from agentzoo.errors import FormatError
    from agentzoo.types import ModelResponse

    agent = CodeActAgent(ScriptedModel([]), [square], action_mode=mode)
    response = ModelResponse({"role": "assistant", "content": reply})
    if answer is None:
        with pytest.raises(FormatError) as caught:
            agent.mode.parse(response, 0)
        assert caught.value.message_for_model == NEITHER
    else:
        assert agent.mode.parse(response, 0) == Final(answer, response.message)


@pytest.mark.parametrize("expected,got,match", [
    (5, "5", True), (5.0, "5", True), ("abc", "abc", True), (2.5, " 2.5", True),
    ([1, 2], "[1, 2]", True), ([1, 2], "[1,2]", True), (["a", "b"], "['a', 'b']", True), ([1, 2], "['1', '2']", True),
    ("abc", "abd", False), (5.7, "5", False), ([1, 2], "[2, 1]", False), (3, "three", False),
])
def test_answers_match_follows_m3tooleval(expected, got, match):
    assert answers_match(expected, got) is match


@pytest.mark.parametrize("value,text", [("x", "x"), (14, "14"), (2.5, "2.5"), (True, "true"), (None, "null"),
                                        ([1, "a"], '[1,"a"]')])
def test_answer_text(value, text):
    assert answer_text(value) == text
