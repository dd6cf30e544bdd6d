"""LTL-specified agents (PAPERS.md #13): the formula compiler against a reference semantics, the
ReAct and PASS protocols, the paper's protocol test (a reply that breaks the spec is never accepted,
an invalid example is rejected at load), the constraint each kind of model is sent, replay, and one
short run of the shipped local model whose grammar forces the next segment."""

from __future__ import annotations

import itertools
import json
import re

import pytest

import agentzoo
from agentzoo import Journal, ScriptedModel
from agentzoo.catalog import get_kind
from agentzoo.errors import ConfigError
from agentzoo.models.openai_compat import OpenAICompatible
from agentzoo.recipes import build_recipe
from agentzoo.recipes import ltl as ltl_recipe
from agentzoo.recipes.ltl.agent import ProtocolBroken
from agentzoo.recipes.ltl import protocol as protocol_module
from agentzoo.recipes.ltl.automaton import DEAD, Automaton
from agentzoo.recipes.ltl.formula import parse
from agentzoo.recipes.ltl.protocol import load
from agentzoo.recipes.ltl.segments import read
from agentzoo.testing.fake_openai import FakeOpenAIServer


def lookup(city: str) -> str:
    """The population of a city.

    Args:
        city: the city's name
    """
    lookup.calls.append(city)
    return {"Lyon": "522250", "Marseille": "873076"}[city]


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first addend
        b: the second addend
    """
    add.calls.append((a, b))
    return a + b


@pytest.fixture(autouse=True)
def _count_tool_calls():
    lookup.calls, add.calls = [], []


def constrained(script, *supports):
    """A scripted model whose server (it says) does grammar- or JSON-schema-constrained decoding."""
    model = ScriptedModel(script)
    model.constrained_decoding = frozenset(supports)
    return model


def after_task(request):
    return request.messages[2:]


# --- the compiler: LTL on finite traces ---------------------------------------------------------


def holds(f, trace, i=0):
    """Reference semantics of a formula in negation normal form at position i of a finite trace."""
    op, n = f[0], len(trace)
    if op in ("true", "false"):
        return op == "true"
    if op in ("atom", "natom"):
        return (trace[i] == f[1]) == (op == "atom")
    if op in ("and", "or"):
        return (all if op == "and" else any)(holds(g, trace, i) for g in f[1:])
    if op == "X":
        return i + 1 < n and holds(f[1], trace, i + 1)
    if op == "WX":
        return i + 1 >= n or holds(f[1], trace, i + 1)
    if op == "G":
        return all(holds(f[1], trace, j) for j in range(i, n))
    if op == "F":
        return any(holds(f[1], trace, j) for j in range(i, n))
    if op == "U":
        return any(holds(f[2], trace, k) and all(holds(f[1], trace, j) for j in range(i, k)) for k in range(i, n))
    if op == "R":
        return all(holds(f[2], trace, k) or any(holds(f[1], trace, j) for j in range(i, k)) for k in range(i, n))
    raise AssertionError(op)


FORMULAS = ["a", "!a", "X b", "WX b", "G(a -> X b)", "F c", "a U b", "a R b", "a W b", "G(a -> WX false)",
            "F(a & X(b | c))", "!(a U b) | G !c", "a <-> X a", "G F b", "F G a", "□(a → ○b)", "X X c", "¬◇c",
            "a & X(!a U c)", "(a or b) and not X true", "G(b -> !(X b)) & F(c & WX false)"]


@pytest.mark.parametrize("text", FORMULAS)
def test_the_automaton_accepts_exactly_the_traces_that_satisfy_the_formula(text):
    formula = parse(text, frozenset("abc"))
    automaton = Automaton.compile([formula], "abc")
    for n in range(1, 6):
        for trace in itertools.product("abc", repeat=n):
            assert automaton.accepts(trace) == holds(formula, trace), (text, trace)


def test_formula_errors_name_the_column_and_the_unknown_segment():
    with pytest.raises(ConfigError, match=r"expected '\)' at column 19"):
        parse("G(Thought -> X Act", frozenset({"Thought", "Act"}))
    with pytest.raises(ConfigError, match="'Acton' is not a segment of this spec"):
        parse("G(Thought -> X Acton)", frozenset({"Thought", "Action"}))
    with pytest.raises(ConfigError, match=r"unexpected '\$'"):
        parse("Thought $", frozenset({"Thought"}))


REACT_GOOD = [["Thought", "Answer"], ["Thought", "Action", "Observation", "Thought", "Answer"],
              ["Thought", "Action", "Observation", "Thought", "Action", "Observation", "Thought", "Answer"]]
REACT_BAD = [["Action"], ["Answer"], ["Thought", "Thought"], ["Thought", "Action", "Thought"],
             ["Thought", "Action", "Action"], ["Thought", "Action", "Observation", "Answer"],
             ["Thought", "Answer", "Thought"], ["Thought"], ["Thought", "Action", "Observation"]]
PASS_GOOD = [["Plan", "Solution"], ["Plan", "Action", "Observation", "Summary", "Solution"],
             ["Plan", "Action", "Action", "Action", "Observation", "Observation", "Observation", "Summary",
              "Action", "Observation", "Summary", "Solution"]]
PASS_BAD = [["Solution"], ["Action"], ["Plan", "Summary"], ["Plan", "Action", "Observation", "Solution"],
            ["Plan", "Action", "Observation", "Action"], ["Plan", "Plan"], ["Plan", "Action", "Summary"],
            ["Plan", "Solution", "Plan"], ["Plan", "Action", "Observation", "Summary"]]


@pytest.mark.parametrize(("name", "good", "bad"), [("react", REACT_GOOD, REACT_BAD), ("pass", PASS_GOOD, PASS_BAD)])
def test_the_shipped_protocols_accept_and_reject_the_traces_their_papers_describe(name, good, bad):
    automaton = load(name).automaton
    assert all(automaton.accepts(trace) for trace in good)
    assert not any(automaton.accepts(trace) for trace in bad)


def test_allowed_next_segments_never_lead_into_a_dead_end():
    react, pas = load("react").automaton, load("pass").automaton
    after = _walk
    assert react.allowed(react.start) == ("Thought",)
    assert react.allowed(after(react, ["Thought"])) == ("Action", "Answer")
    assert react.allowed(after(react, ["Thought", "Action"])) == ("Observation",)
    assert pas.allowed(after(pas, ["Plan"])) == ("Action", "Solution")
    assert pas.allowed(after(pas, ["Plan", "Action"])) == ("Action", "Observation")
    assert pas.allowed(after(pas, ["Plan", "Action", "Observation"])) == ("Observation", "Summary")
    # Without tools the actions leave the alphabet: PASS is Plan then Solution, with no way through an Action.
    toolless = pas.restricted(["Plan", "Summary", "Solution"])
    assert toolless.allowed(toolless.start) == ("Plan",)
    assert toolless.allowed(after(toolless, ["Plan"])) == ("Solution",)
    # "F Answer" cannot be met once the answer is given up: a state that can never end is not offered.
    must_end = Automaton.compile([parse("G(a -> X a) & F b", frozenset("ab"))], "ab", terminal="b")
    assert must_end.allowed(must_end.start) == ("b",)


def _walk(automaton, trace):
    state = automaton.start
    for label in trace:
        state = automaton.step(state, label)
        assert state != DEAD, trace
    return state


# --- reading segments ---------------------------------------------------------------------------


def test_a_reply_is_read_as_segments_with_fenced_lines_never_taken_for_headers():
    text = ("thought: first line\nsecond line\nAnswer: here\n```python\nThought: not a header\n```\n"
            "Thoughts: still the answer")
    preamble, segments = read(text, ("Thought", "Action", "Answer"))
    assert preamble == ""
    assert [(s.label, s.content) for s in segments] == [
        ("Thought", "first line\nsecond line"),
        ("Answer", "here\n```python\nThought: not a header\n```\nThoughts: still the answer")]
    assert read("Sure! Thought: x\nAction: f {}", ("Thought", "Action"))[0] == "Sure! Thought: x"


# --- the protocol test (PAPERS.md #13) ----------------------------------------------------------


async def test_protocol_an_action_before_a_thought_is_never_accepted_and_the_model_is_asked_again():
    model = ScriptedModel(['Action: add {"a": 2, "b": 3}',  # breaks ReAct: a Thought comes first
                           'Thought: I add them.\nAction: add {"a": 2, "b": 3}',
                           "Thought: The tool says 5.\nAnswer: 5"])
    result = await agentzoo.run(build_recipe("ltl", model, [add], spec="react"), "What is 2 + 3?")

    assert result.ok and result.answer == "5"
    assert add.calls == [(2, 3)]  # the broken reply's action was never run
    assert after_task(model.requests[1]) == [
        {"role": "assistant", "content": 'Action: add {"a": 2, "b": 3}'},
        {"role": "user", "content": 'Your reply breaks the protocol "react", so it was not used: segment 1 is Action, '
                                    "but at the start of your reply the next segment must be Thought.\n\n"
                                    "Write the reply again; it must begin with Thought."}]
    # The conversation goes on from the accepted reply; the broken one is only in the journal.
    assert after_task(model.requests[2]) == [
        {"role": "assistant", "content": 'Thought: I add them.\nAction: add {"a": 2, "b": 3}'},
        {"role": "user", "content": "Observation: 5"}]
    assert result.model_calls == 3 and result.tool_calls == 1


@pytest.mark.parametrize(("examples", "problem"), [
    ([{"Action": 'add {"a": 1, "b": 2}'}, {"Observation": "3"}, {"Thought": "3"}, {"Answer": "3"}],
     r"example 2 \('Broken'\), step 1: Action may not come at the start; the rules allow Thought there"),
    ([{"Thought": "t"}, {"Action": 'add {"a": 1, "b": 2}'}, {"Thought": "t"}],
     r"example 2 \('Broken'\), step 3: Thought may not come after Action; the rules allow Observation there"),
    ([{"Thought": "t"}, {"Observation": "3"}],
     r"example 2 \('Broken'\), step 2: Observation may not come after Thought"),
    ([{"Thought": "t"}, {"Action": "{}"}, {"Observation": "3"}, {"Thought": "t"}, {"Answer": "3"}],
     r"example 2 \('Broken'\), step 2: an Action names a tool first"),
    ([{"Thought": "t"}], r"example 2 \('Broken'\): the trace must end with a final segment \(Answer\)"),
    ([{"Thinking": "t"}], r"example 2, step 1: 'Thinking' is not a segment of protocol 'react'"),
])
def test_protocol_an_invalid_example_is_rejected_at_load_naming_the_example_and_the_step(tmp_path, examples, problem):
    path = tmp_path / "examples.yaml"
    good = {"question": "Fine", "trace": [{"Thought": "no tool needed"}, {"Answer": "4"}]}
    path.write_text(json.dumps({"examples": [good, {"question": "Broken", "trace": examples}]}))
    with pytest.raises(ConfigError, match=f"examples file {re.escape(str(path))}: {problem}"):
        build_recipe("ltl", ScriptedModel([]), [add], spec="react", examples=str(path))


def test_a_spec_file_is_checked_rule_by_rule_and_its_own_examples_too(tmp_path):
    spec = {"name": "mine", "segments": [{"label": "Idea", "kind": "text"}, {"label": "Done", "kind": "final"}],
            "rules": [{"ltl": "Idea"}, {"ltl": "G(Idea -> X Done)"}],
            "examples": [{"question": "q", "trace": [{"Idea": "i"}, {"Done": "d"}]}]}
    path = tmp_path / "mine.yaml"
    path.write_text(json.dumps(spec))
    agent = build_recipe("ltl", ScriptedModel([]), spec=str(path))
    assert agent.protocol.name == "mine" and agent.automaton.allowed(agent.automaton.start) == ("Idea",)
    for change, problem in [
        ({"rules": [{"ltl": "Idea"}, {"ltl": "G(Idea -> X Idae)"}]}, r"rule 2: 'Idae' is not a segment"),
        ({"rules": [{"ltl": "Done"}, {"ltl": "G !Done"}]}, "no trace satisfies its rules"),
        ({"examples": [{"question": "q", "trace": [{"Done": "d"}]}]}, r"example 1 \('q'\), step 1: Done may not come"),
        ({"segments": [{"label": "G", "kind": "final"}]}, "label 'G' must be a name .* not one of the operators"),
        ({"segments": [{"label": "Idea"}]}, "no segment of kind 'final'"),
    ]:
        path.write_text(json.dumps({**spec, **change}))
        protocol_module._load.cache_clear()  # the same path, new contents
        with pytest.raises(ConfigError, match=problem):
            build_recipe("ltl", ScriptedModel([]), spec=str(path))
    with pytest.raises(ConfigError, match="unknown protocol spec 'reactt'; shipped: pass, react"):
        build_recipe("ltl", ScriptedModel([]), spec="reactt")


# --- an API model: validated, asked again, within a bound ---------------------------------------


async def test_an_api_model_is_sent_stop_sequences_and_asked_again_with_the_allowed_segments():
    script = [{"content": "Answer: 5"},  # ReAct's Answer only after a Thought
              {"content": 'Thought: add\nAction: add {"a": 2, "b": 3}'}, {"content": "Thought: 5\nAnswer: 5"}]
    async with FakeOpenAIServer(script) as server:
        model = OpenAICompatible("m", base_url=server.base_url)
        result = await agentzoo.run(build_recipe("ltl", model, [add], spec="react"), "What is 2 + 3?")
        await model.aclose()
        bodies = server.requests
    assert result.ok and result.answer == "5" and add.calls == [(2, 3)]
    assert all(b["stop"] == ["\nObservation:"] and "grammar" not in b and "response_format" not in b for b in bodies)
    assert bodies[1]["messages"][-1]["content"].startswith(
        'Your reply breaks the protocol "react", so it was not used: segment 1 is Answer, but at the start of your '
        "reply the next segment must be Thought.")
    assert bodies[0]["temperature"] == 0.0


async def test_after_the_retries_the_run_fails_with_a_typed_error_and_no_tool_ran():
    model = ScriptedModel(['Observation: 5\nThought: I know it\nAnswer: 5'] * 3)
    result = await agentzoo.run(build_recipe("ltl", model, [add], spec="react", max_retries=2), "What is 2 + 3?")
    assert not result.ok and result.error["type"] == "ProtocolBroken"
    assert "in all 3 attempts at one reply" in result.error["message"]
    assert model.calls == 3 and add.calls == [] and result.tool_calls == 0
    assert issubclass(ProtocolBroken, agentzoo.errors.UnexpectedModelBehavior)
    # Each retry was told that the runtime writes the observations.
    assert "segment 1 is Observation, which the runtime writes after your actions" in model.requests[1].messages[-1][
        "content"]


async def test_a_reply_that_writes_its_own_observation_or_prose_outside_segments_is_refused():
    model = ScriptedModel(["Sure, here is my plan.\nPlan: look it up", "Plan: look both up\n"
                           'Action: lookup {"city": "Lyon"}\nObservation: 1000',
                           'Plan: look both up\nAction: lookup {"city": "Lyon"}\nAction: lookup {"city": "Marseille"}',
                           "Summary: Marseille has more.\nSolution: Marseille"])
    result = await agentzoo.run(build_recipe("ltl", model, [lookup], max_retries=3), "Lyon or Marseille?")
    assert result.answer == "Marseille" and lookup.calls == ["Lyon", "Marseille"]
    assert "starts with text that is in no segment" in model.requests[1].messages[-1]["content"]
    assert "segment 3 is Observation, which the runtime writes" in model.requests[2].messages[-1]["content"]
    # PASS's parallel group: both actions run, both observations come back together, in order.
    assert after_task(model.requests[3])[-1] == {"role": "user", "content": "Observation: 522250\nObservation: 873076"}


# --- a model that constrains its decoding -------------------------------------------------------


def rule_of(grammar, name):
    return next(line for line in grammar.split("\n") if line.startswith(f"{name} ::= "))


def headers(rule):
    return re.findall(r'"(\w+): "', rule)


async def test_a_constrained_request_carries_a_grammar_that_admits_only_the_allowed_segments():
    model = constrained(['Plan: look both up\nAction: lookup {"city": "Lyon"}\nAction: lookup {"city": "Marseille"}',
                         "Summary: Marseille has more.\nSolution: Marseille"], "grammar")
    result = await agentzoo.run(build_recipe("ltl", model, [lookup]), "Lyon or Marseille?")
    assert result.answer == "Marseille"
    first, second = (r.extra["grammar"] for r in model.requests)
    start = rule_of(first, first.split("\n")[0].split(" ::= ")[1])
    assert headers(start) == ["Plan"]  # PASS begins with a Plan, and nothing else can be written
    # after the Plan: a group of actions (each a known tool and a JSON object) or the Solution
    assert headers(rule_of(first, "s1-open")) == ["Action", "Solution"]
    assert 'tool-call ::= ( "lookup" ) " " json-object' in first
    # after the Observations only a Summary; after it more Actions or the Solution
    assert headers(rule_of(second, second.split("\n")[0].split(" ::= ")[1])) == ["Summary"]
    assert all(r.stop == ["\nObservation:"] and r.response_format is None for r in model.requests)


async def test_a_json_schema_model_writes_one_allowed_segment_at_a_time_and_hands_over_for_observations():
    replies = [{"segment": "Plan", "content": "look both up"},
               {"segment": "Action", "tool": "lookup", "arguments": '{"city": "Lyon"}'},
               {"segment": "Action", "tool": "lookup", "arguments": '{"city": "Marseille"}'},
               {"segment": "Observation"},
               {"segment": "Summary", "content": "Marseille has more."},
               {"segment": "Solution", "content": "Marseille"}]
    model = constrained([json.dumps({"next": r}) for r in replies], "json")
    result = await agentzoo.run(build_recipe("ltl", model, [lookup]), "Lyon or Marseille?")
    assert result.answer == "Marseille" and lookup.calls == ["Lyon", "Marseille"]

    def enum(request):
        schema = request.response_format["json_schema"]["schema"]["properties"]["next"]
        return [o["properties"]["segment"]["enum"][0] for o in schema.get("anyOf", [schema])]

    assert [enum(r) for r in model.requests] == [["Plan"], ["Action", "Solution"], ["Action", "Observation"],
                                                  ["Action", "Observation"], ["Summary"], ["Action", "Solution"]]
    assert model.requests[1].response_format["json_schema"]["schema"]["properties"]["next"]["anyOf"][0][
        "properties"]["tool"] == {"type": "string", "enum": ["lookup"]}
    assert after_task(model.requests[4])[-1] == {"role": "user", "content": "Observation: 522250\nObservation: 873076"}


async def test_grammar_mode_reaches_an_openai_compatible_server_in_the_body():
    async with FakeOpenAIServer([{"content": "Thought: no tool needed\nAnswer: 4"}]) as server:
        model = OpenAICompatible("m", base_url=server.base_url)
        result = await agentzoo.run(build_recipe("ltl", model, [add], spec="react", constrain="grammar"), "2 + 2?")
        await model.aclose()
        (body,) = server.requests
    assert result.answer == "4"
    assert body["grammar"].startswith("root ::= s0-open\ns0-open ::= \"Thought: \" line")


# --- without tools, replay, the catalogue ---------------------------------------------------------


async def test_without_tools_actions_are_not_offered_and_examples_with_actions_are_left_out():
    model = ScriptedModel(['Plan: add\nAction: add {"a": 1, "b": 1}', "Plan: count\nSolution: 2"])
    agent = build_recipe("ltl", model)
    result = await agentzoo.run(agent, "1 + 1?")
    assert result.answer == "2"
    system = model.requests[0].messages[0]["content"]
    assert "You have no tools in this task, so you cannot write Action segments." in system
    assert "Question: A box holds 12 eggs." in system and "Lyon" not in system  # the tool example is left out
    assert "segment 2 is Action, but after Plan the next segment must be Solution" in model.requests[1].messages[-1][
        "content"]


async def test_replay_makes_no_model_call_and_runs_no_tool(tmp_path):
    script = ['Plan: look both up\nAction: lookup {"city": "Lyon"}\nAction: lookup {"city": "Marseille"}',
              "Solution: Marseille",  # breaks PASS (a Summary comes first): asked again
              "Summary: Marseille has more.\nSolution: Marseille"]
    with Journal(tmp_path / "journal.db") as journal:
        live = await agentzoo.run(build_recipe("ltl", ScriptedModel(script), [lookup]), "Lyon or Marseille?",
                                  journal=journal)
        silent = ScriptedModel([])  # raises if it is ever asked

        def broken(city: str) -> str:
            raise AssertionError("replay ran a tool")

        broken.__name__, broken.__doc__ = "lookup", lookup.__doc__  # the same tool to the model
        again = await agentzoo.replay(build_recipe("ltl", silent, [broken]), live.run_id, journal=journal)
        assert again.ok, again.error
    assert live.ok and live.model_calls == 3 and live.tool_calls == 2
    assert (again.answer, again.model_calls, again.live_effects, silent.calls) == ("Marseille", 3, 0, 0)
    assert again.messages == live.messages


def test_the_catalogue_reads_presets_sources_and_typed_options():
    kind = get_kind("ltl")
    assert kind.default_preset == "pass" and kind.presets == {"pass": {"spec": "pass"}, "react": {"spec": "react"}}
    assert kind.options_for("react", {"constrain": "grammar"}) == {"spec": "react", "constrain": "grammar"}
    with pytest.raises(ConfigError, match="constrain"):
        kind.options_for(None, {"constrain": "tokens"})
    assert set(ltl_recipe.OPTION_SOURCES) <= set(kind.options) and ltl_recipe.DEVIATIONS


# --- the shipped local model, for real ------------------------------------------------------------


async def test_the_local_model_is_forced_into_the_next_segment_by_the_grammar():
    pytest.importorskip("xllamacpp")
    from agentzoo.models.local import LocalModel

    agent = build_recipe("ltl", ScriptedModel([]), [add], spec="react", constrain="grammar")
    # Asked to chat, a model writes prose; from the start of a ReAct trace the grammar admits only a Thought,
    # and after a Thought only an Action (a known tool with a JSON object) or the Answer.
    chat = [{"role": "user", "content": "Say hello to me in French."}]
    try:
        model = LocalModel(max_tokens=24)
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    async with model:
        free = await model.complete(agentzoo.ModelRequest(messages=chat))
        forced = await model.complete(agentzoo.ModelRequest(messages=chat, **agent.request("grammar", 0, False)))
        then = agent.automaton.step(0, "Thought")
        after = await model.complete(agentzoo.ModelRequest(
            messages=[*chat, {"role": "assistant", "content": "Thought: I greet you."}],
            **agent.request("grammar", then, False)))
    assert not free.text.startswith("Thought:")
    assert forced.text.startswith("Thought: ")
    assert re.match(r"(Action: add \{|Answer: )", after.text), after.text
    agent.check("grammar", forced, 0, False)  # what the grammar let through, the automaton accepts
