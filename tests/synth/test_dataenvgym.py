"""DataEnvGym (#30): after each round the teacher's next prompt holds the student's per-skill accuracy, and the
loop stops once the data budget is reached; data and report per round, traced to the calls that made them."""

from __future__ import annotations

import asyncio
import json
import re

import pytest

from agentzoo.envs.gsm8k import GSM8K
from agentzoo.errors import ConfigError
from agentzoo.models.scripted import ScriptedModel
from agentzoo.runtime import runner
from agentzoo.synth.pipeline import final_items, stage_records
from agentzoo.synth.pipelines import get_pipeline
from agentzoo.synth.rows import validate_rows

dataenvgym = get_pipeline("dataenvgym")
ENV = GSM8K()
TASKS = ENV.tasks()[:3]
SKILLS = {TASKS[0].prompt: "eggs arithmetic", TASKS[1].prompt: "fractions", TASKS[2].prompt: "eggs arithmetic"}
SMALL = {"rounds": 4, "stop_at": 5, "data_per_round": 2, "specs_per_call": 2}


def gym() -> ScriptedModel:
    """Teacher, engine and student as a function of the request. The student answers a task right only when
    its prompt shows an example taught for the task's skill."""
    return ScriptedModel(script(), name="gym-script")


def script():
    def reply(request) -> str:
        last = request.messages[-1]["content"]
        if last.startswith("Name the one skill"):
            return next(skill for prompt, skill in SKILLS.items() if prompt in last)
        if "Plan " in last and "training examples" in last:
            n = int(re.search(r"Plan (\d+) training", last).group(1))
            weak = re.findall(r"^## (.+)$", last, re.M) or re.findall(r"^- (.+?): ", last, re.M)
            return json.dumps({"specs": [{"skill": weak[k % len(weak)], "focus": f"practice {k}"}
                                         for k in range(n)]})
        if last.startswith("Write one training example"):
            skill = re.search(r"Skill: (.+)", last).group(1)
            return json.dumps({"instruction": f"A new task about {skill}.", "response": "Step by step.\n#### 1"})
        system = request.messages[0]["content"] if request.messages[0]["role"] == "system" else ""
        task = next(t for t in TASKS if t.prompt == last)
        taught = f"about {SKILLS[task.prompt]}." in system
        return f"Reasoning.\n#### {task.gold if taught else 0}"
    return reply


async def test_each_round_the_teacher_is_shown_the_students_per_skill_accuracy_and_the_budget_stops_it(journal):
    m = gym()
    result = await runner.run(dataenvgym.build(m, ENV, limit=3, **SMALL), "gym", journal=journal)
    assert result.ok, result.error
    reports = dataenvgym.round_reports(journal, result.run_id)
    assert [r["round"] for r in reports] == [1, 2, 3]  # round 4 never ran: 2 + 2 + 1 = 5 = stop_at
    assert [r["accuracy"] for r in reports] == [0.0, 1.0, 1.0]  # the in-context student learned round 1's data
    assert [r["data_made"] for r in reports] == [2, 2, 1]
    assert reports[0]["per_skill"] == {"eggs arithmetic": {"correct": 0, "total": 2, "accuracy": 0.0},
                                       "fractions": {"correct": 0, "total": 1, "accuracy": 0.0}}
    plans = [r for r in m.requests if "training examples" in r.messages[-1]["content"]]
    assert len(plans) == 3
    for plan, report in zip(plans, reports):
        text = plan.messages[-1]["content"]
        assert f"This is round {report['round']} of 4" in text
        for skill, s in report["per_skill"].items():
            assert f"- {skill}: {s['accuracy']:.2f} ({s['correct']} of {s['total']})" in text
    assert "The student got every task right." in plans[1].messages[-1]["content"]
    assert "Student's answer: Reasoning.\n#### 0" in plans[0].messages[-1]["content"]
    assert TASKS[0].gold not in plans[0].messages[-1]["content"].split("Tasks the student got wrong")[1]
    records = {r.stage: r for r in stage_records(journal, result.run_id)}
    assert records["round-4"].items[0]["provenance"][-1]["note"] == {"round": 4, "skipped": "data budget reached"}
    assert not [e for e in journal.entries(result.run_id) if e.scope.startswith("round-4/")]


async def test_without_an_update_the_student_stays_as_it_was(journal):
    result = await runner.run(dataenvgym.build(gym(), ENV, limit=3, student_update="none", **SMALL), "gym",
                              journal=journal)
    assert [r["accuracy"] for r in dataenvgym.round_reports(journal, result.run_id)] == [0.0, 0.0, 0.0]


async def test_rows_hold_each_rounds_data_and_trace_back_to_the_engine_call_that_made_it(journal, tmp_path):
    result = await runner.run(dataenvgym.build(gym(), ENV, limit=3, **SMALL), "gym", journal=journal)
    items = final_items(journal, result.run_id)
    rows = dataenvgym.rows(items, result.run_id)
    assert validate_rows(rows) == rows
    assert [r["provenance"]["round"] for r in rows] == [1, 1, 2, 2, 3]
    calls = {e.scope: e for e in journal.entries(result.run_id) if e.kind == "model"}
    for row in rows:
        p = row["provenance"]
        assert p["pipeline"] == "dataenvgym" and p["stages"][-1] == f"round-{p['round']}"
        assert re.fullmatch(rf"round-{p['round']}/item#0/engine#\d", p["scope"])
        made = json.loads(calls[p["scope"]].result["message"]["content"])
        assert row["messages"] == [{"role": "user", "content": made["instruction"]},
                                   {"role": "assistant", "content": made["response"]}]
        assert p["scores"][f"round-{p['round']}"]["round"] == p["round"]
    datasets = pytest.importorskip("datasets")
    from agentzoo.synth.formats import write_dataset
    written = write_dataset(rows, tmp_path / "out", ["jsonl", "sharegpt"])
    loaded = datasets.load_dataset("json", data_files=str(written["jsonl"]), split="train")
    assert loaded.num_rows == 5 and loaded[0]["provenance"]["scope"] == rows[0]["provenance"]["scope"]
    students = [s for s in calls if "/student#" in s]
    assert len({s.split("/")[0] for s in students}) == 3 and len(students) == 9  # 3 tasks in each of 3 rounds


async def test_a_replay_makes_no_model_call(journal):
    first = await runner.run(dataenvgym.build(gym(), ENV, limit=3, **SMALL), "gym", journal=journal)
    again_model = gym()
    again = dataenvgym.build(again_model, ENV, limit=3, **SMALL)
    replayed = await runner.replay(again, first.run_id, journal=journal)
    assert replayed.ok and replayed.live_effects == 0 and again_model.requests == []
    assert again.records[-1].items == final_items(journal, first.run_id)


async def test_a_run_that_died_in_round_two_resumes_without_asking_a_finished_call_again(journal):
    reference = await runner.run(dataenvgym.build(gym(), ENV, limit=3, **SMALL), "gym", journal=journal)
    ref_calls = sum(e.kind == "model" for e in journal.entries(reference.run_id))
    answer, engine_calls = script(), []

    def dies_in_round_two(request):  # the provider goes away for good at the third engine call
        if request.messages[-1]["content"].startswith("Write one training example"):
            engine_calls.append(1)
            if len(engine_calls) >= 3:
                raise RuntimeError("provider gone")
        return answer(request)
    with pytest.raises(RuntimeError, match="provider gone"):
        await runner.run(dataenvgym.build(ScriptedModel(dies_in_round_two, name="gym-script"), ENV, limit=3,
                                          **SMALL), "gym", journal=journal)
    [broken] = [r for r in journal.list_runs() if r.run_id != reference.run_id]
    for _ in range(200):  # calls still running when the first failed end, failing too
        if len(asyncio.all_tasks()) == 1:
            break
        await asyncio.sleep(0.05)
    recorded = sum(e.kind == "model" and e.status == "ok" for e in journal.entries(broken.run_id))
    assert any(e.scope.startswith("round-2/") for e in journal.entries(broken.run_id) if e.kind == "model")
    again = gym()
    resumed = await runner.resume(dataenvgym.build(again, ENV, limit=3, **SMALL), broken.run_id, journal=journal)
    assert resumed.ok, resumed.error
    assert len(again.requests) == ref_calls - recorded
    assert final_items(journal, broken.run_id) == final_items(journal, reference.run_id)
    assert dataenvgym.round_reports(journal, broken.run_id) == dataenvgym.round_reports(journal, reference.run_id)


def test_bad_settings_are_refused_by_name():
    with pytest.raises(ConfigError, match="roundz"):
        dataenvgym.build(gym(), ENV, roundz=3)
    with pytest.raises(ConfigError, match="needs an environment"):
        dataenvgym.build(gym(), None)
    with pytest.raises(ConfigError, match="student_update"):
        dataenvgym.build(gym(), ENV, student_update="finetune")


async def test_with_the_shipped_local_model(journal):
    """SmolLM2-135M as teacher and student on two GSM8K tasks, one round: it may make no usable data; what is
    checked is that a real model drives the loop to its end and the round's report is recorded."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed")
    from agentzoo.models.registry import parse_model
    model = parse_model("local:smollm2-135m?max_tokens=64")
    try:
        result = await runner.run(dataenvgym.build(model, ENV, limit=2, rounds=1, data_per_round=1, specs_per_call=1,
                                                   student_max_steps=1, max_tokens=64), "gym", journal=journal)
    finally:
        await model.aclose()
    assert result.ok, result.error
    [report] = dataenvgym.round_reports(journal, result.run_id)
    assert report["total"] == 2 and sum(s["total"] for s in report["per_skill"].values()) == 2
    assert [r.stage for r in stage_records(journal, result.run_id)] == ["skills", "round-1", "collect"]
