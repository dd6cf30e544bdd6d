"""ADAS's search protocol, driven by scripted models (PAPERS.md #15; issue 15 evidence 1 and 2).

The meta agent proposes and reviews twice (three calls, temperature 0.8, JSON replies asked for); an
evaluation error goes back with the debug instruction at most `debug_max` = 3 times, then the candidate
is dropped; a mean accuracy under 0.01 is an error for generated agents only. The evaluator here is a
stand-in that returns set outcomes, so the protocol is seen alone; `test_adas_search.py` runs it through
the harness and the sandbox.
"""

from __future__ import annotations

import json

import pytest

from agentzoo import Journal, ScriptedModel
from agentzoo.prompts import render
from agentzoo.runtime import runner
from agentzoo.search.adas import AdasSearch, Archive, Brief, Entry, Evaluation, Fitness, MetaAgent, Settings
from agentzoo.search.adas.agent import API_SOURCE
from agentzoo.search.adas.meta import PROMPTS
from agentzoo.search.adas.search import OUTPUT_EXAMPLE

BRIEF = Brief("gsm8k", "a final number", "What is 6 times 7?", "42")
SEED_CODE = "def forward(self, task):\n    return LLMAgent(['answer'], 'A')([task], 'Solve.')[0]\n"


def reply(name="Agent X", code="def forward(self, task):\n    return 'v1'\n", **extra):
    return json.dumps({"thought": f"the idea of {name}", "name": name, "code": code, **extra})


class StubEvaluator:
    """Returns the outcomes (or the error) queued for each call, and keeps the candidates it was given."""

    def __init__(self, *results):
        self.results = list(results)
        self.candidates = []

    def describe(self):
        return {"env": "stub", "tasks": ["t0", "t1", "t2", "t3"]}

    async def __call__(self, candidate):
        self.candidates.append(candidate)
        result = self.results.pop(0)
        error = result if isinstance(result, str) else None
        outcomes = [0, 0, 0, 0] if error else list(result)
        correct = sum(outcomes)
        rate = correct / len(outcomes)
        return Evaluation(outcomes, Fitness(rate, max(rate - 0.25, 0), min(rate + 0.25, 1), correct, len(outcomes)),
                          error, 4 if error else 0, {"model_calls": 4})


def evaluated(name="Seed", median=0.5):
    return Entry(name, SEED_CODE, "seed idea", None, Fitness(median, 0.25, 0.75, 2, 4))


async def search(tmp_path, script, evaluator, *, start=None, generations=1, debug_max=3):
    meta_model = ScriptedModel(script)
    start = start or Archive([evaluated()])
    program = AdasSearch(MetaAgent(meta_model, seed=7), evaluator, BRIEF, start,
                         settings=Settings(generations, debug_max), api_source=API_SOURCE)
    with Journal(tmp_path / "journal.db") as journal:
        result = await runner.run(program, "search", journal=journal)
    assert result.ok, result.error
    return program.archive, meta_model


def opening(archive_view):
    """The first two messages of a generation: the system prompt and the proposal prompt."""
    return [{"role": "system", "content": render(PROMPTS / "meta_system.j2")},
            {"role": "user", "content": render(PROMPTS / "meta_propose.j2", env="gsm8k", answer_kind="a final number",
                                               example_task="What is 6 times 7?", example_answer="42",
                                               api=API_SOURCE.strip(), archive=archive_view,
                                               output_example=json.dumps(OUTPUT_EXAMPLE, separators=(",", ":")))}]


async def test_a_proposal_is_three_calls_at_temperature_0_8_asking_for_json(tmp_path):
    replies = [reply("Draft"), reply("Reviewed", reflection="r1"), reply("Final", reflection="r2")]
    archive, meta = await search(tmp_path, replies, StubEvaluator([1, 1, 0, 1]))

    assert meta.calls == 3
    assert {r.temperature for r in meta.requests} == {0.8}
    assert {json.dumps(r.response_format) for r in meta.requests} == {'{"type": "json_object"}'}
    assert {r.max_tokens for r in meta.requests} == {4096} and {r.seed for r in meta.requests} == {7}
    view = '[{"thought":"seed idea","name":"Seed","code":' + json.dumps(SEED_CODE) + \
        ',"fitness":"95% Bootstrap Confidence Interval: (25.0%, 75.0%), Median: 50.0%"}]'
    first_review = render(PROMPTS / "meta_reflect_first.j2", previous=None)
    second_review = render(PROMPTS / "meta_reflect_second.j2")
    assert meta.requests[0].messages == opening(view)
    assert meta.requests[1].messages == [*opening(view), {"role": "assistant", "content": replies[0]},
                                         {"role": "user", "content": first_review}]
    assert meta.requests[2].messages == [*meta.requests[1].messages, {"role": "assistant", "content": replies[1]},
                                         {"role": "user", "content": second_review}]
    assert "last agent you designed" not in first_review  # generation 1: no earlier design to show (as ADAS)
    # The last review's proposal is the one evaluated and archived, without its review.
    new = archive.entries[-1]
    assert (new.name, new.generation, new.attempts, new.fitness.median) == ("Final", 1, 1, 0.75)
    assert "reflection" not in json.dumps(new.to_json())


async def test_with_schema_each_turn_asks_for_its_keys(tmp_path):
    meta_model = ScriptedModel([reply()] * 3 + [reply(code="def forward(self, task):\n    return 'v2'\n")])
    program = AdasSearch(MetaAgent(meta_model, schema=True), StubEvaluator("boom", [1, 1, 1, 1]), BRIEF,
                         Archive([evaluated()]), settings=Settings(1, 3), api_source=API_SOURCE)
    with Journal(tmp_path / "journal.db") as journal:
        assert (await runner.run(program, "search", journal=journal)).ok
    keys = [r.response_format["json_schema"]["schema"]["required"] for r in meta_model.requests]
    assert keys == [["thought", "name", "code"], ["reflection", "thought", "name", "code"],
                    ["reflection", "thought", "name", "code"], ["thought", "name", "debug_thought", "code"]]
    assert {r.temperature for r in meta_model.requests} == {0.8}


async def test_the_first_review_shows_the_last_agent_designed(tmp_path):
    earlier = Entry("Earlier", SEED_CODE, "its idea", 1, Fitness(0.5, 0.25, 0.75, 2, 4))
    start = Archive([evaluated(), earlier], generations_done=1)
    _, meta = await search(tmp_path, [reply()] * 3, StubEvaluator([1, 0, 0, 1]), start=start, generations=2)
    review = meta.requests[1].messages[-1]["content"]
    assert review.startswith("This is the last agent you designed:\n")
    assert '"name":"Earlier"' in review and "95% Bootstrap Confidence Interval: (25.0%, 75.0%)" in review


async def test_an_error_goes_back_with_the_debug_instruction_three_times_then_the_candidate_is_dropped(tmp_path):
    errors = [f"Agent X: ValueError: broken {i}" for i in range(1, 5)]
    evaluator = StubEvaluator(*errors)
    fixes = [reply(code=f"def forward(self, task):\n    return 'v{i}'\n", debug_thought=f"fix {i}") for i in (2, 3, 4)]
    archive, meta = await search(tmp_path, [reply(), reply(), reply(), *fixes], evaluator)

    assert meta.calls == 6  # proposal, two reviews, three debugging turns
    debug = [r.messages[-1] for r in meta.requests[3:]]
    assert debug == [{"role": "user", "content": render(PROMPTS / "meta_debug.j2", error=e)} for e in errors[:3]]
    assert debug[0]["content"] == (
        "Your agent failed when it was evaluated:\nAgent X: ValueError: broken 1\n\n"
        "Find where your latest code went wrong, using what your earlier attempts taught you, and fix it so that "
        "it carries out the same idea. Repeat your previous thought in \"thought\" and your agent's \"name\", put "
        "your reasoning about the bug in \"debug_thought\", and give the fixed code in \"code\".")
    # Each turn carries the whole conversation: the reply before it is there, as written.
    assert meta.requests[4].messages[-2] == {"role": "assistant", "content": fixes[0]}
    # Every version was evaluated (the original and its three repairs), then the candidate was dropped.
    assert [c.code.splitlines()[1].strip() for c in evaluator.candidates] == [f"return 'v{i}'" for i in (1, 2, 3, 4)]
    assert len(archive.entries) == 1 and archive.generations_done == 1
    [dropped] = archive.dropped
    assert (dropped.generation, dropped.name, dropped.attempts, dropped.reason) == (1, "Agent X", 4, errors[3])


async def test_a_repair_that_works_joins_the_archive_with_its_attempts(tmp_path):
    evaluator = StubEvaluator("Agent X: NameError: name 'x' is not defined", [1, 1, 1, 0])
    archive, meta = await search(tmp_path, [reply()] * 3 + [reply(code="def forward(self, task):\n    return 'v2'\n")],
                                 evaluator)
    assert meta.calls == 4
    new = archive.entries[-1]
    assert (new.attempts, new.fitness.correct, "v2" in new.code) == (2, 3, True)
    assert new.evaluation["error"] is None and archive.dropped == []


async def test_a_mean_accuracy_under_0_01_is_an_error_for_generated_agents(tmp_path):
    evaluator = StubEvaluator([0, 0, 0, 0], [0, 1, 0, 0])
    archive, meta = await search(tmp_path, [reply()] * 4, evaluator, debug_max=1)
    assert "answered 0 of 4 validation tasks correctly: a mean accuracy under 0.01" in meta.requests[3].messages[-1]["content"]
    assert archive.entries[-1].fitness.correct == 1


async def test_debug_max_0_drops_a_failing_candidate_without_asking_again(tmp_path):
    archive, meta = await search(tmp_path, [reply()] * 3, StubEvaluator("boom"), debug_max=0)
    assert meta.calls == 3 and archive.dropped[0].reason == "boom" and len(archive.entries) == 1


async def test_a_reply_without_code_is_fed_back_without_an_evaluation(tmp_path):
    evaluator = StubEvaluator([1, 1, 0, 0])
    no_code = json.dumps({"thought": "t", "name": "Empty"})
    archive, meta = await search(tmp_path, [reply(), reply(), no_code, reply("Fixed")], evaluator)
    assert 'your reply has no "code"' in meta.requests[3].messages[-1]["content"]
    assert [c.name for c in evaluator.candidates] == ["Fixed"]
    assert archive.entries[-1].attempts == 1


def test_a_proposal_is_read_leniently_and_a_long_name_is_cut():
    from agentzoo.search.adas.meta import read_proposal

    long = read_proposal("Here it is: " + json.dumps({"thought": "t", "name": "word " * 50, "code": "def forward"}))
    assert long.problem is None and long.name == ("word " * 16).strip() and len(long.name) <= 80
    assert read_proposal(json.dumps({"name": "A", "code": "   "})).problem.startswith('your reply has no "code"')
    assert read_proposal("[1, 2]").problem.startswith("your reply is not a JSON object")


async def test_a_proposal_that_is_not_json_drops_the_generation(tmp_path):
    evaluator = StubEvaluator()
    archive, meta = await search(tmp_path, [reply(), "I would rather write prose."], evaluator, generations=1)
    assert meta.calls == 2 and evaluator.candidates == []
    [dropped] = archive.dropped
    assert dropped.generation == 1 and dropped.name is None and "not a JSON object" in dropped.reason
    assert archive.generations_done == 1


async def test_initial_agents_are_evaluated_first_and_a_failure_leaves_them_without_fitness(tmp_path):
    start = Archive([Entry("A", SEED_CODE), Entry("B", SEED_CODE), evaluated("C")])
    evaluator = StubEvaluator([0, 0, 0, 0], "B: TypeError: nope")
    archive, meta = await search(tmp_path, [], evaluator, start=start, generations=0)
    assert meta.calls == 0 and [c.name for c in evaluator.candidates] == ["A", "B"]
    a, b, c = archive.entries
    assert a.fitness.median == 0.0  # all wrong is no error for the initial archive (ADAS checks it in the loop only)
    assert b.fitness is None and b.evaluation["error"] == "B: TypeError: nope"
    assert c.fitness.median == 0.5  # already evaluated: not again


@pytest.mark.parametrize(("outcomes", "low", "median", "high"), [([1, 0] * 64, 41.4, 50.0, 58.6),
                                                                 ([1] * 10, 100.0, 100.0, 100.0)])
def test_fitness_is_the_bootstrap_median_and_interval_of_the_harness_statistics(outcomes, low, median, high):
    from agentzoo.eval.adas import fitness

    got = fitness(outcomes)
    assert (got.correct, got.total, got.resamples, got.confidence) == (sum(outcomes), len(outcomes), 100_000, 0.95)
    assert abs(got.low * 100 - low) < 0.8 and abs(got.median * 100 - median) < 0.8 and abs(got.high * 100 - high) < 0.8
    assert got.text == (f"95% Bootstrap Confidence Interval: ({got.low * 100:.1f}%, {got.high * 100:.1f}%), "
                        f"Median: {got.median * 100:.1f}%")
    assert fitness(outcomes) == got  # the bootstrap has a fixed seed
