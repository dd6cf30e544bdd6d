"""agentable (#29): the structural findings plus the model's answers make the report; scopes describe#i /
conflict#k in program order; replay makes no model call; a harness run on agent-defects with scripted roles; the
structural checks alone over all twenty sample agents; the shipped local model."""

import json

import pytest

from agentzoo.envs.agent_defects import AgentDefects, metrics, read_findings
from agentzoo.errors import ConfigError
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import Sample
from agentzoo.eval.store import ResultStore
from agentzoo.models.scripted import ScriptedModel
from agentzoo.recipes import build_recipe
from agentzoo.recipes.agentable import code_of
from agentzoo.runtime import runner

ENV = AgentDefects()
TASKS = {t.id.split("/")[1]: t for t in ENV.tasks()}


def verdicts(*words):
    """Replies in call order: `Verdict: <word>` with a reason that says `line 99` (it must not become a finding)."""
    return ScriptedModel([f"Verdict: {w}\nReason: see line 99 of it" for w in words])


async def test_the_model_flags_overlapping_tools_and_the_report_names_type_and_line(journal):
    task = TASKS["a16_overlapping_tools"]
    model = verdicts("consistent", "consistent", "overlap")
    agent = build_recipe("agentable", model, sampling={"temperature": 0.0})
    result = await runner.run(agent, task.prompt, journal=journal)
    assert result.ok, result.error
    scopes = [e.scope for e in journal.entries(result.run_id) if e.kind == "model"]
    assert scopes == ["describe#1", "describe#2", "conflict#1"]
    first = model.requests[0].messages[-1]["content"]
    assert "Tool name: search_web (defined at line 6)" in first and "def search_web" in first
    pair = model.requests[2].messages[-1]["content"]
    assert "Tool A: search_web (line 6)" in pair and "Tool B: find_online (line 16)" in pair
    assert result.answer.splitlines()[0] == "Defects: tool-trigger line 16"
    assert read_findings(result.answer) == [("tool-trigger", 16)]  # the reason's "line 99" is not read as one
    assert [(f.defect, f.line, f.kind) for f in agent.findings] == [("tool-trigger", 16, "model")]
    assert agent.findings[0].file == "a16_overlapping_tools.py"


async def test_a_description_that_does_not_match_the_code_is_a_tool_metadata_finding(journal):
    model = verdicts("inconsistent")
    agent = build_recipe("agentable", model)
    result = await runner.run(agent, TASKS["a15_mismatched_description"].prompt, journal=journal)
    assert result.ok and result.answer.startswith("Defects: tool-metadata line 8\n")
    assert "smtplib" in model.requests[0].messages[-1]["content"]  # the model reads the function's code
    assert model.requests[0].temperature == 0.0  # a judgement: greedy unless the caller says otherwise


async def test_structural_and_model_findings_on_one_line_are_one_finding_and_an_undecided_reply_is_none(journal):
    # a20: two tools named "calendar" (structural) and the model also says they overlap: reported once.
    agent = build_recipe("agentable", verdicts("consistent", "consistent", "overlap"))
    result = await runner.run(agent, TASKS["a20_duplicate_names"].prompt, journal=journal)
    assert result.answer.splitlines()[0] == "Defects: tool-trigger line 24"
    assert [f.kind for f in agent.findings] == ["ast"]
    shrug = build_recipe("agentable", ScriptedModel(["I am not sure."] * 3))
    result = await runner.run(shrug, TASKS["a01_clean_calculator"].prompt, journal=journal)
    assert result.answer.startswith("Defects: none") and shrug.undecided == 3
    assert result.answer.endswith("(model questions: 3 asked, 3 without a verdict)")


async def test_replay_makes_no_model_call(journal):
    task = TASKS["a16_overlapping_tools"]
    result = await runner.run(build_recipe("agentable", verdicts("consistent", "consistent", "overlap")),
                              task.prompt, journal=journal)
    again = ScriptedModel([])
    replayed = await runner.replay(build_recipe("agentable", again), result.run_id, journal=journal)
    assert replayed.ok and replayed.answer == result.answer and again.requests == [] and replayed.live_effects == 0


async def test_code_that_does_not_parse_fails_the_run_by_name(journal):
    result = await runner.run(build_recipe("agentable", ScriptedModel([])), "File: x.py\n```python\ndef f(:\n```",
                              journal=journal)
    assert not result.ok
    assert result.error["type"] == "AgentSourceError" and "x.py:1: not Python that parses" in result.error["message"]
    assert code_of("print(1)\n") == ("print(1)\n", "agent.py")
    with pytest.raises(ConfigError, match="system= is not used"):
        build_recipe("agentable", ScriptedModel([]), system="be strict")


async def test_a_harness_run_with_scripted_roles_scores_the_report(tmp_path):
    task = TASKS["a16_overlapping_tools"]
    script = tmp_path / "roles.json"
    script.write_text(json.dumps(["Verdict: consistent", "Verdict: consistent", "Verdict: overlap"]))
    await run_eval([Sample("agent-defects", task, "agentable", f"scripted:{script}", 0)], {"agent-defects": ENV},
                   EvalConfig(out=tmp_path / "out"))
    store = ResultStore(tmp_path / "out" / "results.db")
    try:
        [row] = list(store.rows())
    finally:
        store.close()
    assert row["success"] and row["reward"] == 1.0 and row["model_calls"] == 3, row
    assert row["score"]["counts"] == {"tool-trigger": [1, 0, 0]}


async def test_the_structural_checks_alone_over_the_twenty_agents(journal):
    """The `ast` preset (no model call): every labelled defect but the two only a model can see (a description
    that says something else, two overlapping descriptions), and no false finding."""
    rows = []
    for task in ENV.tasks():
        result = await runner.run(build_recipe("agentable", ScriptedModel([]), model_checks=False), task.prompt,
                                  journal=journal)
        assert result.ok, (task.id, result.error)
        rows.append((await ENV.score(ENV.episode(task), result.answer, None)).details)
    figures = metrics(rows)
    assert figures["overall"]["fp"] == 0 and figures["overall"]["fn"] == 2 and figures["overall"]["tp"] == 17
    assert figures["accuracy"] == 18 / 20
    assert figures["types"]["tool-metadata"]["recall"] == 3 / 4 and figures["types"]["tool-trigger"]["recall"] == 2 / 3


async def test_the_shipped_local_model_runs_the_recipe(journal):
    """SmolLM2-135M answers the description question for one tool: the mechanics (one short call; a reply without a
    verdict is undecided, which is an outcome too)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?ctx=2048&max_tokens=32")
    agent = build_recipe("agentable", model, max_tools=1, conflicts=False)
    result = await runner.run(agent, TASKS["a15_mismatched_description"].prompt, journal=journal)
    assert result.ok, result.error
    assert [e.scope for e in journal.entries(result.run_id) if e.kind == "model"] == ["describe#1"]
    assert result.answer.startswith("Defects: ")
