"""agent-defects: twenty sample agents with labelled defects; (type, line) matching with a one-line slack; per-type
precision/recall/F1 and accuracy; the oracle's answer scores 1; labels are read from the samples and hidden from
the task."""

import pytest

from agentzoo.analysis import TYPE_IDS
from agentzoo.envs.agent_defects import (LINE_SLACK, AgentDefects, gold_report, labelled, match, metrics,
                                         read_findings)
from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError

ENV = AgentDefects()


def test_twenty_agents_fifteen_defective_every_type_labelled_and_the_labels_hidden_from_the_task():
    tasks = ENV.tasks()
    assert len(tasks) == 20 and get_env("agent-defects").tasks()[0].id == tasks[0].id
    defective = [t for t in tasks if t.data["defects"]]
    assert len(defective) == 15 and sum(len(t.data["defects"]) for t in tasks) == 19
    assert {kind for t in tasks for kind, _ in t.data["defects"]} == set(TYPE_IDS)
    assert all("# defect:" not in t.prompt and "```python\n" in t.prompt for t in tasks)
    weather = next(t for t in tasks if t.id == "agent-defects/a02_weather_tools")
    assert weather.gold == "Defects: tool-metadata line 12; output-parsing line 30"
    code = weather.prompt.split("```python\n", 1)[1]
    assert code.splitlines()[29].strip() == "args = json.loads(call.function.arguments)"  # line 30, unchanged
    assert next(t for t in tasks if t.id.endswith("a01_clean_calculator")).gold == "Defects: none"


def test_labels_are_read_from_trailing_comments_and_an_unknown_type_is_refused(tmp_path):
    code, labels = labelled("x = 1\ny = f()  # defect: output-parsing, api-misuse\n")
    assert code == "x = 1\ny = f()\n" and labels == [("output-parsing", 2), ("api-misuse", 2)]
    assert gold_report(labels) == "Defects: api-misuse line 2; output-parsing line 2" and gold_report([]) == \
        "Defects: none"
    (tmp_path / "bad.py.txt").write_text("x = 1  # defect: typo-type\n")
    with pytest.raises(ConfigError, match="unknown defect type.*typo-type"):
        AgentDefects(tmp_path).tasks()
    with pytest.raises(ConfigError, match="expected a folder"):
        AgentDefects(tmp_path / "none").tasks()


def test_findings_are_read_anywhere_and_matched_within_the_slack():
    answer = "Defects: Tool-Metadata line 12; output-parsing at line 31\n- fault-tolerance: line 3 (ast)"
    assert read_findings(answer) == [("fault-tolerance", 3), ("tool-metadata", 12), ("output-parsing", 31)]
    assert read_findings("no defect here, line 4") == [] and read_findings(None) == []
    gold = [("tool-metadata", 12), ("output-parsing", 30)]
    assert LINE_SLACK == 1
    assert match([("tool-metadata", 12), ("output-parsing", 31)], gold) == {"tool-metadata": [1, 0, 0],
                                                                             "output-parsing": [1, 0, 0]}
    assert match([("output-parsing", 33), ("api-misuse", 1)], gold) == {
        "output-parsing": [0, 1, 1], "api-misuse": [0, 1, 0], "tool-metadata": [0, 0, 1]}
    # one prediction matches one label: a second finding on the same line is a false one
    assert match([("tool-metadata", 12), ("tool-metadata", 12)], gold[:1]) == {"tool-metadata": [1, 1, 0]}


async def test_scores_the_oracle_a_partial_report_a_clean_agent_and_no_answer():
    tasks = {t.id.split("/")[1]: t for t in ENV.tasks()}
    weather, clean = tasks["a02_weather_tools"], tasks["a01_clean_calculator"]

    async def score(task, answer):
        return await ENV.score(ENV.episode(task), answer, None)

    [oracle] = ENV.oracle(weather, "cot")
    full = await score(weather, oracle)
    assert full.success and full.reward == 1.0 and full.details["exact"]
    half = await score(weather, "Defects: tool-metadata line 12; dependency line 1")
    assert not half.success and half.reward == pytest.approx(0.5)  # tp 1, fp 1, fn 1
    assert (await score(clean, "Defects: none")).reward == 1.0
    assert (await score(clean, "Defects: tool-return line 5")).reward == 0.0
    missing = await score(clean, None)
    assert not missing.success and missing.reward == 0.0 and not missing.details["answered"]


def test_metrics_give_per_type_precision_recall_f1_and_accuracy():
    rows = [{"counts": {"tool-metadata": [1, 0, 0]}, "exact": True},
            {"counts": {"tool-metadata": [0, 1, 1], "output-parsing": [2, 0, 0]}, "exact": False},
            {"counts": {}, "exact": True}]
    figures = metrics(rows)
    meta = figures["types"]["tool-metadata"]
    assert (meta["precision"], meta["recall"], meta["f1"]) == (0.5, 0.5, 0.5)
    assert figures["types"]["output-parsing"]["recall"] == 1.0 and figures["types"]["dependency"]["recall"] is None
    assert figures["overall"]["precision"] == 0.75 and figures["overall"]["recall"] == 0.75
    assert figures["accuracy"] == pytest.approx(2 / 3) and figures["agents"] == 3
