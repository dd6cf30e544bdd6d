"""agentzoo.synth.decontam: rows that copy a shipped benchmark's test items are caught, named and reported."""

import json

import pytest

from agentzoo.envs import registry
from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError
from agentzoo.synth.decontam import BENCHMARKS, benchmark_index, decontaminate

PROV = {"pipeline": "demo", "stage": "write", "run_id": "r1", "scope": "item#0/agent"}


def sft(user: str, answer: str = "Done.", n: int = 0) -> dict:
    return {"kind": "sft", "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": answer}],
            "provenance": {**PROV, "scope": f"item#{n}/agent"}}


def task(env: str, number: int):
    return list(get_env(env).tasks())[number]


def gsm8k_question(number: int) -> str:
    # The env's prompt is our instruction, a blank line, then GSM8K's own question.
    return task("gsm8k", number).prompt.split("\n\n", 1)[1]


UNRELATED = ("Plan a three day walking tour of the old harbour town, with a museum on the first morning, a boat "
             "trip to the islands on the second day and a long lunch by the fish market on the last afternoon.")


def test_a_copied_gsm8k_question_and_a_pasted_humaneval_prompt_are_caught_with_their_task_ids():
    humaneval = task("humaneval", 12)
    rows = [
        sft(UNRELATED, n=0),
        sft(gsm8k_question(5), "He pays 64.", n=1),
        sft("Here is some code my colleague sent me, can you finish it? She said it is urgent:\n\n"
            + humaneval.data["prompt"] + "\n\nThanks a lot, and please keep the docstring as it is.", n=2),
        sft("What is the capital of France?", "Paris.", n=3),
    ]
    kept, report = decontaminate(rows)  # every text benchmark
    assert [r["provenance"]["scope"] for r in kept] == ["item#0/agent", "item#3/agent"]
    assert report.total == 4 and report.kept == 2 and report.hits == {"gsm8k": 1, "humaneval": 1}
    by_row = {c["index"]: c for c in report.caught}
    assert by_row[1]["benchmark"] == "gsm8k" and by_row[1]["task_id"] == "gsm8k/5"
    assert by_row[2]["benchmark"] == "humaneval" and by_row[2]["task_id"] == humaneval.id == "HumanEval/12"
    for c in report.caught:  # the overlapping n-gram really is 13 words of both the row and the task
        assert len(c["ngram"].split()) == 13
    assert by_row[1]["ngram"].startswith("kylar went to the store")
    assert set(report.benchmarks) == set(BENCHMARKS) - set(report.skipped)
    assert report.benchmarks["gsm8k"] == 1319 and report.benchmarks["humaneval"] == 164


def test_a_gold_answer_in_an_assistant_turn_or_a_tool_result_is_caught_too():
    solution = task("gsm8k", 7).data["solution"]
    mbpp = task("mbpp", 3)
    rows = [sft("Solve this.", solution, n=0),
            {"kind": "sft", "provenance": PROV, "messages": [
                {"role": "user", "content": "Find me an example."},
                {"role": "assistant", "content": None, "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "search", "arguments": '{"q": "heap"}'}}]},
                {"role": "tool", "tool_call_id": "c", "content": mbpp.prompt},
                {"role": "assistant", "content": "Found one."}]}]
    kept, report = decontaminate(rows, benchmarks=["gsm8k", "mbpp"])
    assert kept == [] and [(c["benchmark"], c["task_id"]) for c in report.caught] == [("gsm8k", "gsm8k/7"),
                                                                                      ("mbpp", mbpp.id)]


def test_our_instruction_template_alone_is_not_contamination():
    instruction = task("gsm8k", 0).prompt.split("\n\n", 1)[0]  # in every GSM8K task: not a test item
    row = sft(instruction + "\n\nTom has 3 red kites and buys 4 more at the fair. How many kites does he have now?")
    kept, report = decontaminate([row], benchmarks=["gsm8k"])
    assert kept == [row] and report.caught == [] and report.hits == {}


def test_n_is_configurable_and_a_short_overlap_counts_only_at_a_smaller_n():
    words = gsm8k_question(5).split()[:10]  # ten words of a test question inside other text
    row = sft("Here is the start of a story: " + " ".join(words) + " and then the shop closed for the night.")
    assert decontaminate([row], benchmarks=["gsm8k"])[1].caught == []
    kept, report = decontaminate([row], benchmarks=["gsm8k"], n=8)
    assert kept == [] and report.n == 8 and report.caught[0]["task_id"] == "gsm8k/5"
    assert len(report.caught[0]["ngram"].split()) == 8


def test_preference_rows_are_checked_in_prompt_chosen_and_rejected():
    pair = {"kind": "preference", "prompt": [{"role": "user", "content": "Tell me a maths puzzle."}],
            "chosen": [{"role": "assistant", "content": "A hen lays an egg a day; how many in a week? Seven."}],
            "rejected": [{"role": "assistant", "content": gsm8k_question(11)}], "provenance": PROV}
    kept, report = decontaminate([pair], benchmarks=("gsm8k",))
    assert kept == [] and report.caught[0]["task_id"] == "gsm8k/11"


def test_an_environment_that_cannot_load_is_skipped_with_the_reason_and_an_unknown_one_is_an_error(monkeypatch):
    monkeypatch.setitem(registry.ENVIRONMENTS, "broken-bench", ("agentzoo.envs.no_such_module", "Nothing"))
    kept, report = decontaminate([sft(gsm8k_question(5))], benchmarks=["broken-bench", "gsm8k"])
    assert kept == [] and report.hits == {"gsm8k": 1}
    assert "ModuleNotFoundError" in report.skipped["broken-bench"] and "broken-bench" not in report.benchmarks
    assert "broken-bench (skipped: ModuleNotFoundError" in report.to_markdown()
    with pytest.raises(ConfigError, match="unknown benchmark 'gsm8000'"):
        decontaminate([], benchmarks=["gsm8000"])


def test_the_index_is_built_once_and_the_report_serialises_and_renders():
    assert benchmark_index(("gsm8k",)) is benchmark_index(("gsm8k",))
    _, report = decontaminate([sft(gsm8k_question(5)), sft(UNRELATED)], benchmarks="gsm8k")
    data = json.loads(json.dumps(report.to_json()))
    assert data["hits"] == {"gsm8k": 1} and data["caught"][0]["index"] == 0 and data["kept"] == 1
    table = report.to_markdown()
    assert "| gsm8k | 1319 | 0 | 1 |" in table and "| 0 | gsm8k | gsm8k/5 | kylar went to the store" in table
    assert "2 / 1 / 1" in table
