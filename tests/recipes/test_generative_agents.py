"""Generative Agents (#32) on the town: the paper's memory protocol through the recipe, the plan's three levels,
news spreading by conversation in a scripted three-resident afternoon, replay, resume after SIGKILL, a fork that
withholds the news from one resident, the local model, and the harness.

The scripted town (`generative_agents_script.play`) answers every prompt from what it shows: a resident speaks of
the party only when its memories or the conversation mention it, so news spreads only through the recipe's own
memory, retrieval and dialogue. In `tiny-party` (15:00-19:00) Isabella, the host, meets Maria at the cafe at
15:10 (step 1 at 10-minute steps) and Maria meets Klaus at the library at 16:10 (step 7).
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import generative_agents_script as town
from agentzoo import Journal, ScriptedModel
from agentzoo.envs.base import ScoringContext
from agentzoo.envs.town import Percept, Town, load_scenario
from agentzoo.errors import ConfigError
from agentzoo.memory import MemoryStream
from agentzoo.recipes import build_recipe
from agentzoo.recipes import generative_agents as ga
from agentzoo.recipes.generative_agents.asking import Tally
from agentzoo.recipes.generative_agents.mind import Mind
from agentzoo.recipes.generative_agents.planning import fill
from agentzoo.runtime import runner
from agentzoo.types import AgentResult

HERE = Path(__file__).parent
T0 = datetime(2023, 2, 14, 15, tzinfo=timezone.utc).timestamp()


def scripted() -> ScriptedModel:
    return ScriptedModel(town.play)


def answer_of(result) -> dict:
    assert result.ok, result.error
    return json.loads(result.answer)


async def run_day(journal, model=None, **options):
    agent = build_recipe("generative-agents", model or scripted(), **options)
    return agent, await runner.run(agent, "tiny-party", journal=journal)


def answer_of_text(result) -> str:
    assert result.ok, result.error
    return result.answer


def scopes(journal, run_id, kind="model") -> list[str]:
    return [e.scope for e in journal.entries(run_id) if e.kind == kind]


# --- the paper's protocol, through the recipe's mind ---------------------------------------------------------


class OneMind:
    """Runs `body(mind, ctx)` on Maria's mind under the gateway (importance asked of `model`)."""

    name = "one-mind"

    def __init__(self, model, body, **options):
        self.model, self.body = model, body
        self.sim = ga.build(model, **options)
        self.mind: Mind | None = None

    async def run(self, task, ctx):
        scenario = load_scenario("tiny-party")
        s = self.sim.settings
        stream = MemoryStream(model=self.model, agent="Maria Lopez", decay=s.recency_decay, top_k=s.top_k,
                              reflection_threshold=s.reflection_threshold)
        self.mind = Mind(scenario.residents[1], 1, stream, self.sim.asker, s, Tally())
        return AgentResult(json.dumps(await self.body(self.mind, ctx)), [])


def rating(value):
    """A model that rates every memory `value` (and writes reflections citing the first record shown)."""
    def play(request):
        if request.response_format:
            return json.dumps({"importance": value})
        return town.reflection(request.messages[-1]["content"])
    return ScriptedModel(play)


async def test_reflection_fires_once_when_importance_reaches_150_then_counts_again_from_zero(journal):
    """PAPERS.md #32: events of importance 100, then 60 → one reflection (at ≥ 150), and the count is reset."""
    counts = []

    async def body(mind, ctx):
        first = [Percept(f"the bench {i} is painted a new colour") for i in range(10)]  # 10 × 10 = 100
        await mind.observe(ctx.child("observe", 0), first, T0)
        counts.append((mind.stream.importance_since_reflection, mind.reflections))
        second = [Percept(f"the lamp {i} flickers") for i in range(6)]  # + 6 × 10 = 160 ≥ 150
        await mind.observe(ctx.child("observe", 1), second, T0 + 600)
        counts.append((mind.stream.importance_since_reflection, mind.reflections))
        return [r.record.kind for r in await mind.recall(ctx, "What matters most?", T0 + 700, k=100)]

    agent = OneMind(rating(10), body, attention_bandwidth=20, retention=20)
    result = await runner.run(agent, "protocol", journal=journal)
    kinds = json.loads(answer_of_text(result))
    assert counts == [(100.0, 0), (0.0, 1)]
    reflection_scopes = {s[:s.index("/reflection#") + len("/reflection#0")]
                         for s in scopes(journal, result.run_id) if "/reflection#" in s}
    assert reflection_scopes == {"observe#1/reflection#0"}  # fired once, in the step that crossed 150
    assert kinds.count("reflection") >= 1 and kinds.count("observation") == 16
    insights = [r for r in agent.mind.stream.store.latest(100) if r.kind == "reflection"]
    assert insights and all(r.evidence for r in insights)  # reflections cite what they rest on



async def test_with_the_same_relevance_the_more_recent_and_more_important_memory_ranks_first(journal):
    """PAPERS.md #32: two memories with the same text (equal relevance) — the later, more important one first."""
    async def body(mind, ctx):
        text = "Klaus Mueller is reading about gentrification at the library"
        await mind.remember(ctx, "observation", [text], T0, [2])
        await mind.remember(ctx, "observation", [text], T0 + 2 * 3600, [9])
        await mind.remember(ctx, "observation", ["the piano is idle"], T0 + 2 * 3600, [1])
        found = await mind.recall(ctx, "What is Klaus reading about?", T0 + 3 * 3600)
        return [(r.record.created, r.record.importance, r.relevance) for r in found[:2]]

    result = await runner.run(OneMind(rating(5), body), "protocol", journal=journal)
    (first, second) = json.loads(answer_of_text(result))
    assert first[2] == pytest.approx(second[2])  # the same relevance
    assert (first[0], first[1]) == (T0 + 2 * 3600, 9) and (second[0], second[1]) == (T0, 2)


async def test_an_idle_object_is_rated_1_without_asking_and_a_seen_event_is_not_perceived_again(journal):
    model = rating(7)

    async def body(mind, ctx):
        seen = [Percept("Isabella Rodriguez is wiping the counter", "Isabella Rodriguez"), Percept("piano is idle",
                                                                                                    idle=True)]
        new = await mind.observe(ctx, seen, T0)
        again = await mind.observe(ctx, seen, T0 + 600)
        return [len(new), len(again), [r.importance for r in mind.stream.store.latest(10)]]

    result = await runner.run(OneMind(model, body), "protocol", journal=journal)
    assert json.loads(answer_of_text(result)) == [2, 0, [7.0, 1.0]]
    assert model.calls == 1  # only the resident was rated by the model


# --- planning: day → hours → 5-15-minute actions, made when reached ----------------------------------------------


async def test_the_plan_has_a_day_in_broad_strokes_hour_chunks_and_short_actions_made_lazily(journal):
    agent, result = await run_day(journal, hours=2)
    answer = answer_of(result)
    assert answer["simulated_hours"] == 2.0 and answer["steps"] == 12
    for name, plan in agent.last["plans"].items():
        assert 5 <= len(plan["day"]) <= 8, name
        assert list(plan["hours"]) == ["15:00", "16:00"], name  # one hour-long chunk per hour reached
        actions = plan["actions"]
        starts = [datetime.strptime(a["start"], "%H:%M") for a in actions]
        assert starts[0].strftime("%H:%M") == "15:00"
        for a, b, start_b in zip(actions, actions[1:], starts[1:]):  # contiguous
            end_a = datetime.strptime(a["start"], "%H:%M").timestamp() + 60 * a["minutes"]
            assert end_a == start_b.timestamp(), (name, a, b)
        assert sum(a["minutes"] for a in actions) >= 120
        planned = [a for a in actions if "chatting_with" not in a]
        assert all(1 <= a["minutes"] <= 15 for a in actions), name
        assert sum(5 <= a["minutes"] <= 15 for a in planned) >= len(planned) - 2  # only cut pieces are shorter
    model_scopes = scopes(journal, result.run_id)
    for i in range(3):  # lazily: the day once, each hour and its decomposition when the hour comes
        mine = [s for s in model_scopes if f"/resident#{i}/plan/" in s]
        assert [s.split("/")[0] for s in mine if s.endswith("/day")] == ["step#0"]
        assert [s.split("/")[0] for s in mine if s.endswith("/hour")] == ["step#0", "step#6"]
        assert [s.split("/")[0] for s in mine if s.endswith("/decompose")] == ["step#0", "step#6"]


def test_actions_are_fitted_to_their_window_cut_at_the_end_or_continued_in_short_pieces():
    start, end = datetime(2023, 2, 14, 15), datetime(2023, 2, 14, 16)
    known, objects = ["Hobbs Cafe:cafe", "Oak Hill College:library"], {"Hobbs Cafe:cafe": ("piano",)}
    short = fill([{"description": "tidying up.", "minutes": 10, "location": "Hobbs Cafe:cafe", "object": "piano"},
                  {"description": "reading", "minutes": 15, "location": "Nowhere:at all", "object": "piano"}],
                 start, end, 15, where="Oak Hill College:library", known=known, objects=objects)
    assert [(a.minutes, a.description, a.location, a.object) for a in short] == [
        (10, "tidying up", "Hobbs Cafe:cafe", "piano"), (15, "reading", "Oak Hill College:library", ""),
        (15, "reading", "Oak Hill College:library", ""), (15, "reading", "Oak Hill College:library", ""),
        (5, "reading", "Oak Hill College:library", "")]
    long = fill([{"description": "x", "minutes": 15, "location": "Hobbs Cafe:cafe", "object": ""}] * 6, start, end,
                15, where="Hobbs Cafe:cafe", known=known, objects=objects)
    assert [a.minutes for a in long] == [15, 15, 15, 15] and long[-1].end == end


async def test_a_day_plan_outside_the_schema_is_sent_back_then_the_routine_is_followed_and_counted(journal):
    asked = []

    def play(request):
        fmt = (request.response_format or {}).get("json_schema", {})
        if fmt.get("name") == "day_plan":
            asked.append(request.messages[-1]["content"])
            return json.dumps({"plan": [{"time": "15:00", "activity": "too few items"}]})  # 1 < 5
        return town.play(request)

    agent, result = await run_day(journal, ScriptedModel(play), hours=1, residents=2, reply_attempts=2)
    answer = answer_of(result)
    retries = [a for a in asked if a.startswith("That reply cannot be used")]
    assert len(asked) == 4 and len(retries) == 2 and all("is too short" in r for r in retries)  # then the fallback
    assert answer["fallbacks"]["plan"] == 2  # both residents fell back to their routine
    assert agent.last["plans"]["Isabella Rodriguez"]["day"][0] == {
        "time": "15:00", "activity": "serving customers and decorating the cafe"}


# --- the news spreads by conversation --------------------------------------------------------------------------


async def test_the_party_invitation_spreads_by_dialogue_and_the_town_scores_the_diffusion(journal):
    agent, result = await run_day(journal)
    answer = answer_of(result)
    assert answer["simulated_hours"] == 4.0 and answer["residents"] == ["Isabella Rodriguez", "Maria Lopez",
                                                                         "Klaus Mueller"]
    assert answer["told"] == {
        "Klaus Mueller": {"how": "conversation", "step": 7, "by": "Maria Lopez", "time": "16:10"},
        "Maria Lopez": {"how": "conversation", "step": 1, "by": "Isabella Rodriguez", "time": "15:10"}}
    assert answer["knew"] == ["Maria Lopez", "Klaus Mueller"] and answer["diffusion"] == 1.0
    assert answer["hallucinated"] == [] and answer["fallbacks"] == {}
    assert answer["attended"] == ["Isabella Rodriguez", "Klaus Mueller", "Maria Lopez"]  # both planned to go at 17:00
    first = answer["dialogues"][0]
    assert first["between"] == ["Isabella Rodriguez", "Maria Lopez"] and "party" in first["lines"][0]["text"]
    town_env = Town()
    task = next(t for t in town_env.tasks() if t.id == "tiny-party")
    score = await town_env.score(town_env.episode(task), result.answer, ScoringContext())
    assert score.reward == 1.0 and score.success
    assert score.details["simulated_hours"] == 4.0 and score.details["knew"] == ["Maria Lopez", "Klaus Mueller"]
    assert score.details["attended"] == answer["attended"]
    rated = {m.groups() for e in journal.entries(result.run_id) if e.kind == "model"
             for m in re.finditer(r"Dialogue: Conversation between (.+?) and (.+?) at ", json.dumps(e.request))}
    assert {("Isabella Rodriguez", "Maria Lopez"), ("Maria Lopez", "Isabella Rodriguez"),
            ("Maria Lopez", "Klaus Mueller"), ("Klaus Mueller", "Maria Lopez")} <= rated  # in both memories


async def test_each_line_is_conditioned_on_the_speakers_memories_of_the_other(journal):
    model = scripted()
    await run_day(journal, model, hours=1)
    lines = [r.messages[-1]["content"] for r in model.requests
             if (r.response_format or {}).get("json_schema", {}).get("name") == "utterance"]
    host_first = next(p for p in lines if p.startswith("Name: Isabella Rodriguez"))
    assert "What Isabella remembers that bears on Maria Lopez" in host_first
    assert "Valentine's Day party at Hobbs Cafe" in host_first.split("remembers")[1]  # her seed memory, retrieved


# --- replay, resume, fork ----------------------------------------------------------------------------------------


async def test_a_finished_day_replays_byte_for_byte_without_a_model_call(journal):
    _, result = await run_day(journal)

    def refuse(request):
        raise AssertionError("replay asked the model")

    replayed = await runner.replay(build_recipe("generative-agents", ScriptedModel(refuse)), result.run_id,
                                   journal=journal)
    assert replayed.ok and replayed.answer == result.answer and replayed.live_effects == 0
    assert replayed.model_calls == result.model_calls > 100


@pytest.mark.parametrize("kill_after", [40, 95])
async def test_a_day_killed_mid_way_resumes_without_repeating_a_finished_call(tmp_path, kill_after):
    script = HERE / "generative_agents_crash.py"
    ref = subprocess.run([sys.executable, script, tmp_path / "ref.db"], capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stderr
    ref_id = ref.stdout.split()[0]
    with Journal(tmp_path / "ref.db") as journal:
        reference = journal.get_run(ref_id)
        ref_calls = sum(e.kind == "model" for e in journal.entries(ref_id))
    out = subprocess.run([sys.executable, script, tmp_path / "j.db", str(kill_after)], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == -signal.SIGKILL, out.stderr
    sys.path.insert(0, str(HERE))
    try:
        import generative_agents_crash as crash
    finally:
        sys.path.remove(str(HERE))
    with Journal(tmp_path / "j.db") as journal:
        [run] = journal.list_runs()
        done = [e for e in journal.entries(run.run_id) if e.kind == "model" and e.status == "ok"]
        assert kill_after <= len(done) < ref_calls  # killed mid-day
        model = scripted()
        resumed = await runner.resume(crash.agent(model), run.run_id, journal=journal)
        assert resumed.ok, resumed.error
        assert resumed.answer == reference.answer
        assert model.calls == ref_calls - len(done)  # every finished call served, none asked again
        keys = [(e.scope, e.seq) for e in journal.entries(run.run_id) if e.kind == "model"]
        assert len(keys) == len(set(keys)) == ref_calls


async def test_a_fork_where_maria_never_hears_of_the_party_diverges_at_that_step_and_the_news_stops(journal):
    _, parent = await run_day(journal)
    assert answer_of(parent)["diffusion"] == 1.0
    model = scripted()
    fork_agent = build_recipe("generative-agents", model, withhold={"resident": "Maria Lopez", "from_step": 1})
    forked = await runner.fork(fork_agent, parent.run_id, journal=journal)
    answer = answer_of(forked)
    assert forked.fork_point["scope"].startswith("step#1/dialogue#0/turn#1")  # Maria's first line, without the news
    assert answer["diffusion"] == 0.0 and answer["knew"] == [] and answer["told"] == {}
    assert answer["withhold"] == {"resident": "Maria Lopez", "from_step": 1}
    withheld = answer["dialogues"][0]["lines"][0]
    assert "party" in withheld["text"] and withheld["withheld_from"] == ["Maria Lopez"]
    served = sum(e.kind == "model" for e in journal.entries(forked.run_id)) - model.calls
    prefix = sum(1 for e in journal.entries(parent.run_id) if e.kind == "model" and e.scope.startswith(
        ("setup", "step#0/")))
    assert served >= prefix > 0  # the parent's calls before step 1 were served, not asked again
    assert not any(r for r in model.requests if "Name: Klaus Mueller" in r.messages[-1]["content"]
                   and "starts the day" in r.messages[-1]["content"])  # Klaus's day plan was served


async def test_withholding_the_hosts_seed_memory_at_step_0_keeps_the_whole_town_unaware(journal):
    _, result = await run_day(journal, hours=2, withhold={"resident": "Isabella Rodriguez", "from_step": 0})
    answer = answer_of(result)
    assert answer["told"] == {} and answer["diffusion"] == 0.0
    assert all("party" not in line["text"] for d in answer["dialogues"] for line in d["lines"])


def test_bad_options_and_interventions_are_named():
    model = scripted()
    with pytest.raises(ConfigError, match="steps_per_hour"):
        ga.build(model, steps_per_hour=7)
    with pytest.raises(ConfigError, match="withhold"):
        ga.build(model, withhold={"who": "Maria Lopez"})
    with pytest.raises(ConfigError, match="from_step"):
        ga.build(model, withhold={"resident": "Maria Lopez", "from_step": -1})
    with pytest.raises(ConfigError, match="residents must be at least 2"):
        ga.build(model, residents=1)


async def test_a_withheld_resident_who_is_not_in_the_run_is_refused_by_name(journal):
    agent = build_recipe("generative-agents", scripted(), residents=2, withhold={"resident": "Klaus Mueller"})
    result = await runner.run(agent, "tiny-party", journal=journal)
    assert not result.ok and "Klaus Mueller" in result.error["message"] and "withhold" in result.error["message"]


async def test_a_scenario_given_as_json_runs_and_a_bad_one_is_refused_naming_the_field(journal):
    data = load_scenario("tiny-party").to_json()
    agent = build_recipe("generative-agents", scripted(), hours=1)
    result = await runner.run(agent, json.dumps(data), journal=journal)
    assert answer_of(result)["scenario"] == "tiny-party"
    data["residents"][2]["home"] = "Nowhere:at all"
    bad = await runner.run(build_recipe("generative-agents", scripted()), json.dumps(data), journal=journal)
    assert not bad.ok and "residents[2].home" in bad.error["message"]
    unknown = await runner.run(build_recipe("generative-agents", scripted()), "no-such-town", journal=journal)
    assert not unknown.ok and "tiny-party" in unknown.error["message"]


# --- the shipped local model and the harness ---------------------------------------------------------------------


async def test_the_shipped_local_model_simulates_a_short_afternoon_and_it_replays(journal):
    """SmolLM2-135M with grammar-constrained JSON: the mechanics (two residents, one half-hour step), not the
    quality (under load a call takes 2-20 s)."""
    pytest.importorskip("xllamacpp", reason="the local extra is not installed (pip install 'agentzoo[local]')")
    from agentzoo.models.registry import parse_model

    model = parse_model("local:smollm2-135m?max_tokens=256")
    options = {"residents": 2, "hours": 0.5, "steps_per_hour": 2, "top_k": 5, "dialogue_memories": 3,
               "max_dialogue_rounds": 1, "reply_attempts": 1}
    try:
        result = await runner.run(build_recipe("generative-agents", model, **options), "tiny-party", journal=journal)
    finally:
        await model.aclose()
    answer = answer_of(result)
    assert answer["simulated_hours"] == 0.5 and answer["residents"] == ["Isabella Rodriguez", "Maria Lopez"]
    assert set(answer["interviews"]) == {"Maria Lopez"} and answer["attended"] is None
    assert result.model_calls >= 7  # two day plans, two hours, two decompositions, one interview
    assert all(e.request["response_format"]["type"] == "json_schema" for e in journal.entries(result.run_id)
               if e.kind == "model")  # every question asked with its schema (llama.cpp's grammar)

    def refuse(request):
        raise AssertionError("replay asked the model")

    replayed = await runner.replay(build_recipe("generative-agents", ScriptedModel(refuse, name=model.name),
                                                **options), result.run_id, journal=journal)
    assert replayed.ok and replayed.answer == result.answer


async def test_the_harness_scores_the_town_and_reports_simulated_hours(tmp_path):
    from agentzoo.eval.harness import EvalConfig, run_eval
    from agentzoo.eval.matrix import expand
    from agentzoo.eval.report import summarize
    from agentzoo.eval.store import ResultStore

    envs = {"town": Town()}
    samples = expand(envs, ["generative-agents"], [f"scripted:{HERE / 'generative_agents_script.py'}:play"], 1,
                     limit=1)
    await run_eval(samples, envs, EvalConfig(out=tmp_path, concurrency=1))
    store = ResultStore(tmp_path / "results.db")
    try:
        [row] = list(store.rows())
    finally:
        store.close()
    assert row["task"] == "tiny-party" and row["status"] == "finished"
    assert row["reward"] == 1.0 and row["success"] and row["score"]["simulated_hours"] == 4.0
    assert row["score"]["knew"] == ["Maria Lopez", "Klaus Mueller"] and row["model_calls"] > 100
    [group] = summarize([row])["groups"]
    assert group["success"]["rate"] == 1.0
