"""M3ToolEval as an environment: upstream's 82 tasks, our tools reaching every expected output, the benchmark's
answer check, and the oracle through the harness for tool-calling and CodeAct's three action modes, replayed
from the journal with no model call."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest
import yaml

from agentzoo.builder import build
from agentzoo.envs.base import ScoringContext
from agentzoo.envs.m3tooleval import oracle as m3oracle
from agentzoo.envs.m3tooleval import web
from agentzoo.envs.m3tooleval.env import CONTRACT, M3ToolEval
from agentzoo.envs.m3tooleval.toolkit import arithmetic
from agentzoo.envs.registry import get_env
from agentzoo.errors import ConfigError
from agentzoo.eval.agents import UNSET_MODEL
from agentzoo.eval.harness import EvalConfig, run_eval
from agentzoo.eval.matrix import expand
from agentzoo.eval.store import ResultStore
from agentzoo.runtime import runner
from agentzoo.runtime.journal import Journal
from agentzoo.runtime.spec import AgentSpec
from agentzoo.sandbox import probe
from helpers.cli import agentzoo

ROOT = Path(__file__).resolve().parents[2]
EXPERIMENT = ROOT / "experiments" / "codeact-m3tooleval.yaml"
COUNTS = {"message_decoder": 8, "cryptobotanists_plant_dna_sequencer": 8, "trade_calculator": 17,
          "travel_itinerary_planning": 15, "web_browsing": 34}
SAFE_TIERS = [r.name for r in probe() if r.name != "unsafe" and r.available]
needs_sandbox = pytest.mark.skipif(not SAFE_TIERS, reason="codeact's code mode runs code in the sandbox and no "
                                   "isolation tier works here (see `agentzoo sandbox probe`)")
AGENTS = {label: AgentSpec(agent=agent, action_format=form, model=UNSET_MODEL)  # the model is each sample's
          for label, agent, form in [("tool-calling", "tool-calling", None), ("react", "tool-calling", "react"),
                                     ("codeact-code", "codeact", "code"), ("codeact-json", "codeact", "json"),
                                     ("codeact-text", "codeact", "text")]}
ENV = M3ToolEval()


def by_id(env: M3ToolEval = ENV) -> dict:
    return {t.id: t for t in env.tasks()}


def calls_of(task) -> int:
    return sum(len(r) for r in task.data["calls"])


def rows(out: Path) -> dict[str, dict]:
    store = ResultStore(out / "results.db")
    try:
        return {r["key"]: r for r in store.rows()}
    finally:
        store.close()


async def play_gold(task):
    """Every gold round run through a fresh episode's tools: the results, round by round."""
    episode = ENV.episode(task)
    tools = {t.name: t for t in episode.tools}
    results = []
    for round_ in task.data["calls"]:
        params = {c["tool"]: list(tools[c["tool"]].parameters["properties"]) for c in round_}
        results.append([await tools[c["tool"]].invoke(dict(zip(params[c["tool"]], c["args"]))) for c in round_])
    return episode, results


# --- the tasks -----------------------------------------------------------------------------------


def test_the_tasks_are_upstreams_82_in_its_order():
    tasks = ENV.tasks()
    assert Counter(t.data["domain"] for t in tasks) == COUNTS
    assert [t.data["domain"] for t in tasks[::8]][:3] == ["message_decoder", "cryptobotanists_plant_dna_sequencer",
                                                          "trade_calculator"]
    assert len({t.id for t in tasks}) == 82 and get_env("m3tooleval").tasks() == tasks
    first = tasks[0]
    assert first.id == "message_decoder/full_alien_message_decoding" and first.gold == "fchahcufcu"
    assert first.prompt.startswith(first.data["instruction"]) and first.prompt.endswith(f"{CONTRACT.instruction}.")
    travel = by_id()["travel_itinerary_planning/plan_trip_to_0"]
    assert travel.data["instruction"].startswith('You are at "E". Plan a trip to "A" on 2023-12-25')
    assert travel.gold == 1050 and ENV.answer_contract(travel).kind == ENV.answer_kind == "tool-calls"


# The expected output is a judgement over the results, not one of them: how each follows from them.
JUDGED = {
    "message_decoder/length_based_decoding_puzzle":  # the decoded message whose length is 5
        lambda r: [m for m, n in zip(r[1], r[2]) if n == 5] == ["bcdef"],
    "cryptobotanists_plant_dna_sequencer/validate_transcribe_translate": lambda r: r == [[False]],
    "cryptobotanists_plant_dna_sequencer/reverse_transcribe_count_max_nucleotide":  # the nucleotide, not its count
        lambda r: r[-1][0] == ("A", 5),
    "cryptobotanists_plant_dna_sequencer/transcribe_translate_amino_acid_length":
        lambda r: len(r[-1][0].split("-")) == 4,
    "cryptobotanists_plant_dna_sequencer/validate_find_longest_valid_sequence": lambda r: r == [[True, False, True]],
    "cryptobotanists_plant_dna_sequencer/transcribe_translate_find_amino_acid":
        lambda r: "Methionine" not in r[-1][0],
    "web_browsing/people_in_sales": lambda r: r[-1][0].count("[Clickable '/team/sales/") == 4,
    "web_browsing/people_in_customer_support":
        lambda r: (r[-2][0] + r[-1][0]).count("[Clickable '/team/customer_support/") == 6,
}


async def test_the_gold_rounds_reach_every_expected_output_with_our_tools():
    # Upstream computed each expected output with its own tools; ours, called as the gold says, give it back.
    from agentzoo.envs.m3tooleval.scoring import answers_match

    for task in ENV.tasks():
        _, results = await play_gold(task)
        last = results[-1]
        if task.id in JUDGED:
            assert JUDGED[task.id](results), task.id
        elif isinstance(task.gold, list) and len(last) == len(task.gold) > 1:  # a list answer: the last round
            assert last == task.gold, task.id
        elif isinstance(last[0], str) and isinstance(task.gold, str) and task.id.startswith("web_browsing/"):
            assert task.gold in last[0], task.id  # looked up on the page
        elif task.id.startswith("web_browsing/price_of"):
            assert f"Price: ${task.gold}" in last[0], task.id
        else:
            got = list(last[0]) if isinstance(last[0], tuple) else last[0]
            assert got == task.gold and answers_match(task.gold, m3oracle.answer_text(got)), task.id


def test_every_gold_call_can_be_written_in_every_action_mode():
    # Text mode splits on commas and strips: no argument may hold a comma or outer white space.
    for task in ENV.tasks():
        for c in (c for r in task.data["calls"] for c in r):
            assert all("," not in str(a) and str(a) == str(a).strip() for a in c["args"]), (task.id, c)
            assert all(isinstance(a, (str, int, float)) for a in c["args"]), (task.id, c)


def test_a_tasks_file_of_the_format_and_its_errors(tmp_path):
    line = json.dumps({"id": "trade_calculator/x", "instruction": "What is 2 + 3?", "expected": 5,
                       "gold": [[{"tool": "calculator", "args": ["2 + 3"]}]]})
    path = tmp_path / "tasks.jsonl"
    path.write_text(line + "\n\n")
    assert [t.id for t in get_env("m3tooleval", path).tasks()] == ["trade_calculator/x"]
    path.write_text(line + "\n" + json.dumps({"id": "chess/x", "instruction": "", "expected": 1, "gold": []}) + "\n")
    with pytest.raises(ConfigError, match=r"line 2: task 'chess/x' is in no known domain"):
        M3ToolEval(path).tasks()
    path.write_text('{"id": "trade_calculator/x"}\n')
    with pytest.raises(ConfigError, match=r"line 1: expected JSON with id, instruction, expected and gold"):
        M3ToolEval(path).tasks()


# --- the tools -----------------------------------------------------------------------------------


async def call(task_id: str, name: str, *args, state_of=None):
    episode = ENV.episode(by_id()[task_id]) if state_of is None else state_of
    tool = next(t for t in episode.tools if t.name == name)
    return await tool.invoke(dict(zip(tool.parameters["properties"], args)))


DNA = "cryptobotanists_plant_dna_sequencer/find_most_common_nucleotide_and_transcribe"
DECODER = "message_decoder/full_alien_message_decoding"
TRADE = "trade_calculator/estimate_final_value"
TRAVEL = "travel_itinerary_planning/plan_trip_to_0"
WEB = "web_browsing/people_in_sales"


@pytest.mark.parametrize("task, name, args, result", [
    (DNA, "count_nucleotides", ["AGCTA"], {"A": 2, "G": 1, "C": 1, "T": 1}),
    (DNA, "transcribe_dna_to_mrna", ["ACGTX"], "UGCAX"),
    (DNA, "reverse_transcribe_mrna_to_dna", ["UCAG"], "AGTC"),
    (DNA, "translate_mrna_to_amino_acid", ["AUGUUUUUCGCAU"], "Methionine-Phenylalanine-Phenylalanine-X-X"),
    (DNA, "find_max_nucleotide", ["A", 2, "C", 3, "G", 3], ("C", 3)),      # the first of equal counts
    (DNA, "is_valid_dna_sequence", ["ACGU"], False),
    (DECODER, "convert_hex_to_ascii", ["48656c6c6f"], "Hello"),
    (DECODER, "caesar_decode", ["Khoor, Zruog! 3", 3], "Hello, World! 3"),
    (DECODER, "minimum_value", [4, 2.5, 7], 2.5),
    (DECODER, "maximum_value", [4], 4),
    (TRADE, "calculate_tariff", [150, 7.5], 11.25),
    (TRADE, "calculator", ["2 + (3 * 4)"], 14),
    (TRADE, "calculator", ["round(10 / 4, 1) + max([1, 2])"], 4.5),
    (TRAVEL, "find_flights", ['"E"', "B", "2023-11-10"],
     [{"from_location": "E", "to_location": "B", "date": "2023-11-10", "price": 350},
      {"from_location": "E", "to_location": "B", "date": "2023-11-10", "price": 165}]),
    (TRAVEL, "book_hotel", ["B", "gym", "pool"],
     [{"location": "B", "preferences": ["pool", "gym", "wifi"], "price_per_night": 160, "rating": 5}]),
    (TRAVEL, "budget_calculator", [165, 150, 3], 615),
    (TRAVEL, "sum_values", [1, 2, 3.5], 6.5),
])
async def test_tools_behave_as_upstreams(task, name, args, result):
    assert await call(task, name, *args) == result


@pytest.mark.parametrize("task, name, args, error", [
    (DECODER, "convert_hex_to_ascii", ["zz"], "'zz' is not hex-encoded text"),
    (TRAVEL, "find_flights", ["Paris", "A", "2023-12-25"], "origin 'Paris' is not a known location"),
    (TRADE, "calculator", ["__import__('os').system('true')"], "is not allowed"),
    (TRADE, "calculator", ["(1).real"], "is not allowed"),
    (TRADE, "calculator", ["9 ** 9 ** 9"], "exponent"),
    (TRADE, "calculator", ["1 / 0"], "cannot evaluate"),
    (TRADE, "calculator", ["2 +"], "cannot read the expression"),
    (DNA, "find_max_nucleotide", ["A", 2, "C"], "give nucleotide_2 and count_2 together"),
])
async def test_tool_errors_name_the_problem(task, name, args, error):
    with pytest.raises(ValueError, match=error):
        await call(task, name, *args)


def test_the_calculator_reads_arithmetic_only():
    assert arithmetic("-(2 ** 3) // 3 % 5 + 1.5") == (-(2 ** 3)) // 3 % 5 + 1.5
    for text in ("x", "abs", "[1, 2]", "'a' * 3", "True + 1", "min(1, key=abs)", "a" * 3000):
        with pytest.raises(ValueError):
            arithmetic(text)


def test_a_variadic_tool_takes_its_arguments_in_a_row_as_upstreams_args():
    tool = next(t for t in ENV.episode(by_id()[TRAVEL]).tools if t.name == "book_hotel")
    assert list(tool.parameters["properties"]) == ["location", "preference_1", "preference_2", "preference_3"]
    assert tool.parameters["required"] == ["location"]
    assert len(asyncio.run(tool.invoke({"location": "C"}))) == 4  # no preference: every hotel there


async def test_the_browser_state_is_the_episodes_json():
    episode = ENV.episode(by_id()[WEB])
    assert episode.state == {"page": "/", "history": [], "scroll": 0}
    opened = await call(WEB, "click_url", "'/team/customer-support'", state_of=episode)  # quotes dropped
    assert opened.startswith("[Opened page: /team/customer-support]\n----------\n[Web Page Name: "
                             "/team/customer-support]\n[Viewing page 1 of 2]\n\nCustomer Support Team:")
    assert (await call(WEB, "scroll_down", state_of=episode)).count("[Clickable") == 2
    assert await call(WEB, "scroll_down", state_of=episode) == "[Reached the bottom of the page.]\n"
    assert episode.state == {"page": "/team/customer-support", "history": ["/"], "scroll": 5}
    assert await call(WEB, "click_url", "/team/customer_support", state_of=episode) == "[URL not found.]"
    assert json.loads(json.dumps(episode.state)) == episode.state
    assert (await call(WEB, "go_to_previous_page", state_of=episode)).startswith("[Opened page: /]")
    assert await call(WEB, "go_to_previous_page", state_of=episode) == "[No previous page.]"
    assert await call(WEB, "scroll_up", state_of=episode) == "[Reached the top of the page.]\n"
    assert (await call(WEB, "view", state_of=episode)).endswith("- Blog [Clickable '/blog']\n----------")  # 5 lines
    assert ENV.episode(by_id()[WEB]).state == web.fresh_state()  # each episode its own


async def test_the_browser_restored_from_a_snapshot_shows_the_same_after_five_steps():
    import step_conformance  # tests/envs/step_conformance.py: issue 14's evidence for step environments

    probe = ["scroll_down", "click_url /team/customer_support/mike_allen", "go_to_previous_page", "scroll_down",
             "scroll_up", "view"]
    await step_conformance.restore_gives_the_same_observations(
        web.Website(), by_id()[WEB], prefix=["click_url /team", "click_url /team/customer-support"], probe=probe)


# --- the score -------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_id, answer, success", [
    ("travel_itinerary_planning/plan_trip_to_0", "1050", True),
    ("travel_itinerary_planning/plan_trip_to_0", "Answer: 1050.0", True),   # a marker left on is taken off
    ("travel_itinerary_planning/plan_trip_to_0", "The total is 1050.", False),
    ("web_browsing/total_price_of_selected_items_2", "380.41999999999996", True),
    ("web_browsing/total_price_of_selected_items_2", "380.42", False),         # floats compared exactly, as upstream
    ("trade_calculator/fluctuating_conversion_rates_impact", "[36380.0, 48150.0, 68480.0]", True),
    ("trade_calculator/fluctuating_conversion_rates_impact", "36380.0, 48150.0, 68480.0", True),  # a tuple
    ("cryptobotanists_plant_dna_sequencer/reverse_transcribe_palindrome_check", "{'A': 2, 'C': 2, 'G': 1, 'T': 1}",
     True),
    ("cryptobotanists_plant_dna_sequencer/transcribe_translate_find_amino_acid", "False", True),
    ("cryptobotanists_plant_dna_sequencer/find_most_common_nucleotide_combined_sequence", "('A', 3)", True),
    ("web_browsing/email_of_allison_hill", "Final Answer: allison.hill@taylor.net", True),
    ("web_browsing/email_of_allison_hill", None, False),
])
async def test_the_score_is_m3toolevals_answer_check(task_id, answer, success):
    task = by_id()[task_id]
    score = await ENV.score(ENV.episode(task), answer, ScoringContext())
    assert (score.success, score.reward) == (success, float(success))
    assert score.details["expected"] == task.gold


# --- the oracle ------------------------------------------------------------------------------------


def test_the_codeact_oracle_reads_the_mode_and_the_reply_limit_from_the_prompt():
    from agentzoo.agents.codeact import CodeActAgent
    from agentzoo.models.scripted import ScriptedModel
    from agentzoo.types import ModelRequest

    task = by_id()["trade_calculator/best_trade_route_selection"]  # 10 calls in 4 rounds
    play = ENV.oracle(task, "codeact")
    for mode, first in [("code", "Action:\nprint(convert_currency(500, 1.3))\nprint(convert_currency(500, 1.4))"),
                        ("json", 'Action: {"tool": "convert_currency", "args": [500, 1.3]} End Action'),
                        ("text", "Action: convert_currency, 500, 1.3 End Action")]:
        agent = CodeActAgent(ScriptedModel([]), ENV.episode(task).tools, action_mode=mode, max_turns=4)
        system = {"role": "system", "content": agent.system}
        assert play(ModelRequest([system, {"role": "user", "content": task.prompt}])).startswith(first)
        history = [system] + [{"role": "assistant", "content": "..."}] * (1 if mode == "code" else 3)
        assert play(ModelRequest(history)) == "Answer: 624.0"  # code: one action; text, json: 3 calls fit in 4
    with pytest.raises(ConfigError, match="shows no example action"):
        play(ModelRequest([{"role": "system", "content": "Be brief."}]))


def eval_config(out: Path, concurrency: int = 8) -> EvalConfig:
    return EvalConfig(out=out, concurrency=concurrency, agents=AGENTS,
                      env_sources={"m3tooleval": {"name": "m3tooleval"}})


@pytest.fixture(scope="module")
def oracle_eval(tmp_path_factory) -> Path:
    """tool-calling and CodeAct's three modes on all 82 tasks, ReAct on a slice, with the oracle model."""
    out = tmp_path_factory.mktemp("m3-oracle")
    agents = ["tool-calling", "codeact-json", "codeact-text"] + (["codeact-code"] if SAFE_TIERS else [])
    samples = expand({"m3tooleval": ENV}, agents, ["oracle"], 1)
    samples += expand({"m3tooleval": ENV}, ["react"], ["oracle"], 1)[::8]
    progress = asyncio.run(run_eval(samples, {"m3tooleval": ENV}, eval_config(out)))
    assert progress.done == len(samples)
    return out


def test_the_oracle_scores_100_percent_for_every_agent_kind(oracle_eval):
    got = rows(oracle_eval)
    per_agent = Counter(r["agent"] for r in got.values())
    assert per_agent == {**{a: 82 for a in ("tool-calling", "codeact-json", "codeact-text")},
                         **({"codeact-code": 82} if SAFE_TIERS else {}), "react": 11}
    assert [r["key"] for r in got.values() if r["reward"] != 1.0 or r["status"] != "finished"] == []


def test_the_oracle_follows_the_gold_calls_in_each_mode_without_a_failed_action(oracle_eval):
    tasks = by_id()
    limit = m3oracle.DEFAULT_REPLIES - 1  # a text or JSON action is one call: 9 calls and the answer
    expected = {"tool-calling": lambda t: (calls_of(t), len(t.data["calls"]) + 1),
                "react": lambda t: (calls_of(t), calls_of(t) + 1),
                "codeact-code": lambda t: (calls_of(t), 2),
                "codeact-json": lambda t: (min(calls_of(t), limit), min(calls_of(t), limit) + 1),
                "codeact-text": lambda t: (min(calls_of(t), limit), min(calls_of(t), limit) + 1)}
    for r in rows(oracle_eval).values():
        assert (r["tool_calls"], r["model_calls"]) == expected[r["agent"]](tasks[r["task"]]), r["key"]
    failed = []
    with Journal(oracle_eval / "journal.db") as journal:
        for run in journal.list_runs(limit=1000):
            for entry in journal.entries(run.run_id):
                result = entry.result if isinstance(entry.result, dict) else {}
                if result.get("is_error") or result.get("ok") is False:
                    failed.append((run.label, entry.kind))
    assert failed == []


async def test_every_oracle_run_replays_from_the_journal_with_no_model_or_tool(oracle_eval):
    # One task of each domain for each agent kind (the web's tools change the episode's state).
    picked = {"message_decoder/shortest_caesar_decoded_message", "travel_itinerary_planning/grand_tour_vacation",
              "web_browsing/match_phone_number_to_person_mike_allen", "trade_calculator/dynamic_pricing_strategy",
              "cryptobotanists_plant_dna_sequencer/find_most_common_nucleotide_and_transcribe",
              "message_decoder/full_alien_message_decoding"}
    replayed = Counter()
    with Journal(oracle_eval / "journal.db") as journal:
        for row in rows(oracle_eval).values():
            if row["task"] not in picked:
                continue
            info = journal.get_run(row["run_id"])
            built = build(AgentSpec.from_config(info.config), replay=True)
            try:
                again = await runner.replay(built.agent, info.run_id, journal=journal)
            finally:
                await built.aclose()
            assert (again.status, again.answer, again.model_calls, again.tool_calls, again.live_effects) == \
                (info.status, row["answer"], row["model_calls"], row["tool_calls"], 0), row["key"]
            replayed[row["agent"]] += 1
    assert set(replayed) >= {"tool-calling", "codeact-json", "codeact-text"} | ({"codeact-code"} if SAFE_TIERS
                                                                                  else set())


@pytest.mark.parametrize("agent", ["tool-calling", "codeact-text"])
async def test_a_resumed_run_restores_the_browser_and_repeats_no_step(journal, agent):
    # The run fails after two clicks (the provider falls over); resumed, its scroll is on the page it had reached.
    from agentzoo.agents.codeact import CodeActAgent
    from agentzoo.agents.tool_calling import ToolCallingAgent
    from agentzoo.errors import ServerError
    from agentzoo.models.scripted import ScriptedModel

    task = by_id()["web_browsing/people_in_customer_support"]
    if agent == "tool-calling":
        replies = ENV.oracle(task, "tool-calling")
    else:
        replies = ENV.oracle(task, "codeact").replies("text", m3oracle.DEFAULT_REPLIES)

    def agent_on(episode, script):
        if agent == "tool-calling":
            return ToolCallingAgent(ScriptedModel(script), episode.tools)
        return CodeActAgent(ScriptedModel(script), episode.tools, action_mode="text")

    first = ENV.episode(task)
    broken = await runner.run(agent_on(first, [*replies[:2], ServerError("the provider fell over")]), task.prompt,
                              journal=journal)
    assert broken.status == "failed" and first.state["page"] == "/team/customer-support"
    again = ENV.episode(task)  # a new process would have a fresh browser
    resumed = await runner.resume(agent_on(again, replies), broken.run_id, journal=journal)
    assert (resumed.status, resumed.answer) == ("finished", "6")
    assert again.state == {"page": "/team/customer-support", "history": ["/", "/team"], "scroll": 5}
    seen = [m["content"] for m in resumed.messages if m["role"] in ("tool", "user") and m["content"]][-1]
    assert "[Viewing page 2 of 2]" in seen and "mike_allen" in seen
    steps = [(e.request["op"], e.request.get("action")) for e in journal.entries(resumed.run_id) if e.kind == "env"]
    assert steps == [("reset", None), ("step", "click_url /team"), ("step", "click_url /team/customer-support"),
                     ("step", "scroll_down")]


class Perturbed(M3ToolEval):
    """The oracle, with some tasks' answers changed the way a near miss would be."""

    WRONG = {"travel_itinerary_planning/plan_trip_to_0": 1051,
             "web_browsing/total_price_of_selected_items_2": 380.42,
             "trade_calculator/fluctuating_conversion_rates_impact": [36380.0, 48150.0],
             "web_browsing/email_of_allison_hill": "allison.hill@taylor.com",
             "cryptobotanists_plant_dna_sequencer/transcribe_translate_find_amino_acid": True}

    def tasks(self):
        right = "message_decoder/specific_decoded_character"  # one task left as it is
        return [t for t in super().tasks() if t.id in self.WRONG or t.id == right]

    def oracle(self, task, agent):
        wrong = self.WRONG.get(task.id, task.gold)
        return super().oracle(dataclasses.replace(task, gold=wrong), agent)


@pytest.mark.parametrize("agent", ["tool-calling", "codeact-text", pytest.param("codeact-code", marks=needs_sandbox)])
async def test_a_perturbed_oracle_scores_less(tmp_path, agent):
    env = Perturbed()
    progress = await run_eval(expand({"m3tooleval": env}, [agent], ["oracle"], 1), {"m3tooleval": env},
                              eval_config(tmp_path))
    got = {r["task"]: r for r in rows(tmp_path).values()}
    assert progress.done == len(got) == 6 and progress.succeeded == 1
    assert {t: r["success"] for t, r in got.items()} == {t: t not in Perturbed.WRONG for t in got}


# --- the command line and the experiment file --------------------------------------------------------


def az(*args, cwd: Path) -> subprocess.CompletedProcess:
    return agentzoo(*args, cwd=cwd, timeout=300)


def test_agentzoo_eval_runs_the_oracle_and_a_run_replays_from_the_command_line(tmp_path):
    az("eval", "--env", "m3tooleval", "--model", "oracle", "--limit", "20", "--out", tmp_path / "out", cwd=tmp_path)
    got = rows(tmp_path / "out")
    assert len(got) == 20 and all(r["success"] for r in got.values())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "m3tooleval" in json.dumps(summary)
    row = next(r for r in got.values() if r["task"] == "message_decoder/maximum_value_decoding")
    replayed = az("replay", row["run_id"], "--journal", tmp_path / "out" / "journal.db", cwd=tmp_path)
    assert "987" in replayed.stdout


@needs_sandbox
def test_the_shipped_experiment_runs_codeacts_three_modes_with_the_oracle_on_a_slice(tmp_path):
    from agentzoo.eval.experiment import load_experiment

    shipped = load_experiment(EXPERIMENT)
    assert sorted(shipped.agents) == ["codeact-code", "codeact-json", "codeact-text"]
    assert [e.name for e in shipped.experiment.envs] == ["m3tooleval"] and shipped.experiment.baseline in shipped.agents
    data = yaml.safe_load(EXPERIMENT.read_text())
    data.update(models=["oracle"], envs=[{"name": "m3tooleval", "offset": 40, "limit": 3}])
    (tmp_path / "slice.yaml").write_text(yaml.safe_dump(data))
    az("eval", tmp_path / "slice.yaml", "--out", tmp_path / "out", cwd=tmp_path)
    got = rows(tmp_path / "out")
    assert Counter(r["agent"] for r in got.values()) == {"codeact-code": 3, "codeact-json": 3, "codeact-text": 3}
    assert all(r["success"] for r in got.values())
    assert "codeact-text" in (tmp_path / "out" / "summary.md").read_text()
