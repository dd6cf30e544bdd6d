"""mlagentbench: MLAgentBench's research agent. A response missing an entry performs nothing and the model is asked
again with the error; unreadable JSON input is an ActionInputParsingError observation and performs nothing; only the
last 3 steps are in the prompt; observations over 5,000 characters are summarised in 10,000-character blocks; the
AI edit and its undo; the research log; the action limit; replay with no model and no workspace; a 300-step run
killed mid-way resumes repeating no action with the files as they were, and forks at step 150; the oracle through
agentzoo eval; the shipped local model."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sklearn", reason="the mlagentbench tasks are made from scikit-learn's datasets: "
                    "pip install -e '.[mlagentbench]'")

from agentzoo.envs import stepping  # noqa: E402
from agentzoo.envs.base import Episode  # noqa: E402
from agentzoo.envs.mlagentbench import MLAgentBench  # noqa: E402
from agentzoo.errors import ConfigError  # noqa: E402
from agentzoo.models.scripted import ScriptedModel  # noqa: E402
from agentzoo.recipes import build_recipe  # noqa: E402
from agentzoo.recipes.mlagentbench import build, parse_action_input, parse_entries  # noqa: E402
from agentzoo.runtime import runner  # noqa: E402
from agentzoo.runtime.journal import Journal  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "envs"))
import step_conformance as conformance  # noqa: E402
from mlagentbench_script import long_run, respond  # noqa: E402

ENV = MLAgentBench()
IRIS = next(t for t in ENV.tasks() if t.id == "iris")
FINAL = respond("Final Answer", {"final_answer": "done"})
BLOCK_MARK, JOIN_MARK = "The observation is too long to read whole", "was summarised in parts"


def agent_on(script, task=IRIS, **options):
    episode = ENV.episode(task)
    model = ScriptedModel(script)
    return episode, model, build(model, episode=episode, **options)


def prompt_of(request) -> str:
    return request.messages[-1]["content"]


def main_prompts(model) -> list[str]:
    return [prompt_of(r) for r in model.requests if prompt_of(r).startswith("You are a research assistant.")]


def workspace(episode):
    return stepping.driver_of(episode).record.snapshot


async def test_a_response_missing_fact_check_performs_nothing_and_the_model_is_asked_again_with_the_error():
    episode, model, agent = agent_on([respond("List Files", {"dir_path": "."}, skip=("Fact Check",)),
                                      respond("List Files", {"dir_path": "."}), FINAL])
    driver = stepping.driver_of(episode)
    result = await runner.run(agent, "x")
    assert result.ok and result.answer == "done"
    first, again, last = (prompt_of(r) for r in model.requests)
    assert again.startswith(first) and again[len(first):].strip() == (
        "Your reply was not in the right format (no Fact Check). Reply again with every entry: Reflection, "
        "Research Plan and Status, Fact Check, Thought, Action, Action Input.")
    assert driver.progress.steps == 2 and driver.performed == 3  # the reset, List Files once, Final Answer
    assert "Action: List Files" in last and "Your reply was not" not in last
    episode, model, five_bad = agent_on([respond("List Files", {"dir_path": "."}, skip=("Thought",))] * 5)
    ended = await runner.run(five_bad, "x")
    assert ended.answer == "No valid response after 5 tries." and len(model.requests) == 5
    assert stepping.driver_of(episode).progress.steps == 0


async def test_an_unreadable_action_input_is_an_action_input_parsing_error_observation_and_performs_nothing():
    bad = respond("Execute Script", None, raw_input='{"script_name": train.py}')
    episode, model, agent = agent_on([bad, respond("List Files", {"dir_path": "."}),
                                      respond("List Files", {"dir_path": "data"}), FINAL])
    result = await runner.run(agent, "x")
    assert result.ok
    driver = stepping.driver_of(episode)
    assert driver.progress.steps == 3 and "submission.csv" not in workspace(episode)["files"]  # never executed
    second, third = main_prompts(model)[1:3]
    assert "Observation:\n```\nActionInputParsingError: the JSON is not valid:" in second
    assert '"script_name": [the script to run, relative to the workspace]' in second
    assert "ActionInputParsingError" not in third  # dropped once a later step was good
    fenced = '```json\n{"script_name": "train.py"}\n```'
    assert parse_action_input(fenced, "Execute Script") == {"script_name": "train.py"}
    assert parse_action_input('{"file_name": "a.py", "content": "line 1\nline 2"}', "Write File")["content"] == \
        "line 1\nline 2"  # a raw newline inside a string, as models write code
    assert parse_entries("Reflection: a\nResearch Plan and Status: b\nFact Check: c\nThought: d\nAction: e\n"
                         "Action Input: {}")["Thought"].strip() == "d"


async def test_only_the_last_three_steps_are_in_the_prompt_and_the_first_ones_start_the_history():
    script = [respond("List Files", {"dir_path": "."}, plan=f"plan {i}") for i in range(5)] + [FINAL]
    episode, model, agent = agent_on(script)
    assert (await runner.run(agent, "x")).ok
    prompts = main_prompts(model)
    assert len(prompts) == 6
    assert all("Now let's start!" in p for p in prompts[:4]) and "Now let's start!" not in prompts[5]
    assert [p.count("Research Plan and Status: plan") for p in prompts] == [0, 1, 2, 3, 3, 3]
    assert "plan 1" not in prompts[5] and all(f"plan {i}" in prompts[5] for i in (2, 3, 4))
    assert prompts[5].count("Observation:\n```\ndata/") == 3  # each shown step's observation (3 in context)
    assert model.requests[0].temperature == 0.5 and model.requests[0].max_tokens == 2000


async def test_an_observation_over_5000_characters_is_summarised_in_10000_character_blocks():
    printer = "print('x' * 12000)\n"

    def play(request):
        text = prompt_of(request)
        if BLOCK_MARK in text:
            return f"[Observation]: block of {len(text.split('```')[1].strip())} characters"
        if JOIN_MARK in text:
            return "[Observation]: a long line of x"
        return next(script)

    script = iter([respond("Write File", {"file_name": "p.py", "content": printer}),
                   respond("Execute Script", {"script_name": "p.py"}),
                   respond("Write File", {"file_name": "q.py", "content": "print('y' * 4900)\n"}),
                   respond("Execute Script", {"script_name": "q.py"}), FINAL])
    episode = ENV.episode(IRIS)
    model = ScriptedModel(play)
    journal = Journal(":memory:")
    result = await runner.run(build(model, episode=episode), "x", journal=journal)
    assert result.ok
    summaries = [e for e in journal.entries(result.run_id) if e.kind == "model" and e.scope.startswith("summarize")]
    assert [e.scope for e in summaries] == ["summarize#2"] * 3  # the second turn's observation only
    blocks = [prompt_of_entry(e) for e in summaries]
    assert "characters 1 to 10000:" in blocks[0] and "characters 10001 to 12" in blocks[1] and JOIN_MARK in blocks[2]
    assert "Part 1:\n[Observation]: block of 10000 characters" in blocks[2]
    last = main_prompts(model)[-1]
    assert "Observation:\n```\na long line of x\n```" in last and "x" * 100 not in last
    assert "y" * 4900 in last  # under 5,000 characters: shown whole
    journal.close()


def prompt_of_entry(entry) -> str:
    return entry.request["messages"][-1]["content"]


async def test_edit_script_ai_rewrites_the_script_undo_puts_it_back_and_the_edit_wins_the_task():
    def play(request):
        text = prompt_of(request)
        if text.startswith("Here is a Python script:"):
            assert "Baseline: a nearest-centroid" in text and "Use k nearest neighbours." in text
            assert request.max_tokens == 4000
            return "Here you go.\n```python\n" + IRIS.gold + "```\nDone."
        return next(script)

    edit = respond("Edit Script (AI)", {"script_name": "train.py", "edit_instruction": "Use k nearest neighbours.",
                                        "save_name": "train.py"})
    script = iter([edit, respond("Undo Edit Script", {"script_name": "train.py"}), edit,
                   respond("Execute Script", {"script_name": "train.py"}), FINAL])
    episode = ENV.episode(IRIS)
    model = ScriptedModel(play)
    journal = Journal(":memory:")
    result = await runner.run(build(model, episode=episode), "x", journal=journal)
    assert result.ok
    prompts = main_prompts(model)
    assert "Observation:\n```\nSaved the edited script to train.py. Its diff;" in prompts[1]
    assert "+K = 5" in prompts[1]
    assert "train.py after undoing its last edit:\n\"\"\"Baseline: a nearest-centroid" in prompts[2]
    assert [e.scope for e in journal.entries(result.run_id) if e.kind == "model" and e.scope.startswith("edit")] \
        == ["edit#1", "edit#3"]
    score = await ENV.score(episode, result.answer)
    assert score.success and score.details["improvement"] > 0.1
    journal.close()


async def test_the_research_log_summarises_each_step_and_a_retrieval_opens_the_prompt_after_three():
    def play(request):
        text = prompt_of(request)
        if text.startswith("Here is an action you took"):
            return "I think [Reasoning]: looked around [Action]: listed [Observation]: files"
        if text.startswith("The research problem:"):
            assert "Step 0:\n[Reasoning]: looked around" in text
            return "RETRIEVED: the files are known"
        return next(script)

    script = iter([respond("List Files", {"dir_path": "."})] * 4 + [FINAL])
    episode = ENV.episode(IRIS)
    model = ScriptedModel(play)
    result = await runner.run(build_recipe("mlagentbench", model, episode=episode, retrieval=True), "x")
    assert result.ok
    log = (await stepping.driver_of(episode).live()).files["research_log.log"]
    assert log.count("[Reasoning]: looked around") == 4 and "\n\nStep 3:\n" in log
    prompts = main_prompts(model)
    assert "- Reflection:" in prompts[0]  # shown with the research log
    assert "RETRIEVED: the files are known" in prompts[4] and "Now let's start!" not in prompts[4]
    assert all("RETRIEVED" not in p for p in prompts[:4])


async def test_the_default_prompt_hides_the_actions_mlagentbench_hides_and_max_steps_counts_actions():
    episode, model, agent = agent_on([respond("List Files", {"dir_path": "."})] * 3, max_steps=2)
    result = await runner.run(agent, "x")
    assert result.ok and len(model.requests) == 2 and stepping.driver_of(episode).progress.steps == 2
    shown = [line[2:].split(":")[0] for line in prompt_of(model.requests[0]).split("\n") if line.startswith("- ")]
    assert shown[:8] == ["List Files", "Copy File", "Undo Edit Script", "Execute Script", "Final Answer",
                         "Understand File", "Inspect Script Lines", "Edit Script (AI)"]
    assert "Reflection" not in shown and "Read File" not in shown  # hidden as MLAgentBench hides them
    with pytest.raises(ConfigError, match="needs an episode of mlagentbench"):
        build(ScriptedModel([]), episode=Episode(IRIS))
    with pytest.raises(ConfigError, match="max_retries must be at least 1"):
        build(ScriptedModel([]), episode=ENV.episode(IRIS), max_retries=0)


async def test_a_run_replays_with_no_model_call_and_no_workspace(tmp_path):
    journal = Journal(tmp_path / "j.db")
    episode, _, agent = agent_on(long_run(IRIS, 8), max_steps=8, agent_max_steps=8)
    live = await runner.run(agent, "x", journal=journal)
    assert live.ok and (await ENV.score(episode, live.answer)).success
    again = build(ScriptedModel([]))  # no episode: every step is served; a model with no replies
    replayed = await runner.replay(again, live.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0
    assert replayed.answer == live.answer and json.dumps(replayed.messages) == json.dumps(live.messages)
    journal.close()


def crash(journal, kill_after, steps):
    return subprocess.run([sys.executable, HERE / "mlagentbench_crash.py", journal, str(kill_after), str(steps)],
                          capture_output=True, text=True, timeout=600)


async def test_a_300_step_run_killed_at_step_150_resumes_repeating_no_action_and_forks_at_step_150(tmp_path):
    steps = 300
    reference = crash(tmp_path / "reference.db", "none", steps)
    assert reference.returncode == 0, reference.stderr
    with Journal(tmp_path / "reference.db") as journal:
        ref_run = journal.get_run("latest")
        ref_env = [e for e in journal.entries(ref_run.run_id) if e.kind == "env"]
        assert len(ref_env) == steps + 1 and ref_env[-1].result["progress"]["done"]
    killed = crash(tmp_path / "j.db", 150, steps)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with Journal(tmp_path / "j.db") as journal:
        run = journal.get_run("latest")
        assert run.status == "running"
        before = [e for e in journal.entries(run.run_id) if e.kind == "env"]
        assert len(before) == 150  # the reset and 149 actions
        episode = ENV.episode(IRIS)
        model = ScriptedModel(long_run(IRIS, steps))
        agent = build(model, episode=episode, agent_max_steps=steps, max_steps=steps)
        resumed = await runner.resume(agent, run.run_id, journal=journal)
        assert resumed.ok and resumed.answer == "done"
        driver = stepping.driver_of(episode)
        assert driver.performed == steps + 1 - 150 and driver.restores == 1  # no action again; restored once
        entries = list(journal.entries(run.run_id))
        assert len({e.key for e in entries}) == len(entries)
        after = [e for e in entries if e.kind == "env"]
        assert [e.result for e in after] == [e.result for e in ref_env]  # the same workspace at every step
        assert "notes/145.txt" in after[150].result["snapshot"]["files"]  # the files from before the kill were there
        # A fork that summarises observations over 1,000 characters: the 149th observation (the training data) is
        # now summarised, so the 150th prompt differs and the fork goes live there, the 149 steps before reused.
        def fork_play(request):
            text = prompt_of(request)
            if BLOCK_MARK in text:
                return "[Observation]: the training data, 105 rows"
            return FINAL if "fork.txt" in text else respond("Write File", {"file_name": "fork.txt", "content": "x"})

        fork_episode = ENV.episode(IRIS)
        forked = await runner.fork(build(ScriptedModel(fork_play), episode=fork_episode, agent_max_steps=steps,
                                         max_steps=steps, summarize_over=1000), run.run_id, journal=journal)
        assert forked.ok and forked.answer == "done"
        fork_driver = stepping.driver_of(fork_episode)
        files = workspace(fork_episode)["files"]
        assert "fork.txt" in files and "notes/145.txt" in files and "submission.csv" not in files
        assert fork_driver.performed == 2 and fork_driver.progress.steps == 151  # Write File, Final Answer


def test_the_oracle_improves_every_task_through_agentzoo_eval(tmp_path):
    rows = conformance.oracle_scores_full_through_cli("mlagentbench", tmp_path, agents="mlagentbench")
    assert len(rows) == 4 and all(r["model_calls"] == 3 for r in rows)


async def test_the_shipped_local_model_takes_a_step(tmp_path):
    pytest.importorskip("xllamacpp")
    from agentzoo.eval.harness import EvalConfig, run_eval
    from agentzoo.eval.matrix import Sample
    from agentzoo.eval.store import ResultStore
    from agentzoo.models.local import model_file
    from agentzoo.runtime.spec import AgentSpec

    try:
        model_file("smollm2-135m")
    except ConfigError as exc:
        pytest.skip(f"the shipped local model is not installed: {exc}")
    # The recipe asks for MLAgentBench's 2,000 reply tokens (its option; the model string's max_tokens is only a
    # default for requests that name none): 2,000 tokens took 100 s on a CPU.
    spec = AgentSpec(agent="mlagentbench", model="local:smollm2-135m",
                     options={"agent_max_steps": 1, "max_retries": 1, "max_tokens": 32})
    await run_eval([Sample(ENV.name, IRIS, "mlagentbench", spec.model, 0)], {ENV.name: ENV},
                   EvalConfig(out=tmp_path, concurrency=1, agents={"mlagentbench": spec}))
    store = ResultStore(tmp_path / "results.db")
    [row] = list(store.rows())
    store.close()
    assert row["status"] == "finished", row["error"]
    assert 1 <= row["model_calls"] <= 4 and row["success"] is False  # a model action may add its own calls


async def test_understand_file_asks_about_each_10000_character_block_then_joins_and_reflection_reads_the_log():
    big = "".join(f"row {i:05d} " + "v" * 80 + "\n" for i in range(250))  # 250 lines of 90 characters: 22,500

    def play(request):
        text = prompt_of(request)
        if text.startswith("Here is part of a file, lines "):
            return f"part from line {text.split('lines ')[1].split(' ')[0]}"
        if text.startswith("A file was read in parts"):
            assert "Part 3:\npart from line " in text
            return "the file holds 250 rows"
        if text.startswith("The research problem:"):
            assert "Step" not in text.split("```")[1]  # no research log yet: an empty one
            return "all is well"
        return next(script)

    script = iter([respond("Write File", {"file_name": "big.txt", "content": big}),
                   respond("Understand File", {"file_name": "big.txt", "things_to_look_for": "how many rows"}),
                   respond("Reflection", {"things_to_reflect_on": "progress"}),
                   respond("Understand File", {"file_name": "nope.txt", "things_to_look_for": "x"}), FINAL])
    episode = ENV.episode(IRIS)
    model = ScriptedModel(play)
    journal = Journal(":memory:")
    result = await runner.run(build(model, episode=episode), "x", journal=journal)
    assert result.ok
    asked = [prompt_of_entry(e) for e in journal.entries(result.run_id) if e.scope == "understand#2"]
    assert [p.split(",")[1].split(":")[0].strip() for p in asked[:3]] == ["lines 1 to 109", "lines 110 to 218",
                                                                        "lines 219 to 251"]  # 109 whole lines fit
    assert all(len(p.split("```")[1].strip()) <= 10_000 for p in asked[:3]) and len(asked) == 4
    prompts = main_prompts(model)
    assert "Observation:\n```\nthe file holds 250 rows\n```" in prompts[2]
    assert "Observation:\n```\nReflection: all is well\n```" in prompts[3]
    assert "EnvError: cannot read nope.txt: there is no such file in the workspace" in prompts[4]
    journal.close()
