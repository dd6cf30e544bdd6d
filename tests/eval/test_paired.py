"""Comparisons that show their noise: paired differences against a baseline with a paired bootstrap
interval, pass^k and the flip rate, the minimum detectable difference, cost and tokens per success,
the matched single-agent anchor, and `agentzoo compare --baseline`. Hand-computed cases throughout."""

from __future__ import annotations

import itertools
import json
from math import comb, sqrt

import numpy as np
import pytest

from agentzoo.errors import ConfigError
from agentzoo.eval.anchor import MULTI_AGENT, classify
from agentzoo.eval.experiment import Experiment, load_experiment, plan
from agentzoo.eval.paired import NOT_DISTINGUISHABLE, choose_baseline, comparisons
from agentzoo.eval.report import render_markdown, summarize, write_reports
from agentzoo.eval.stats import (ASSUMED_VARIANCE, flip_rate, mean_pass_at_k, mean_pass_hat_k,
                                 minimum_detectable_difference, paired_difference, pass_hat_k, success_rate)
from agentzoo.eval.store import ResultStore
from helpers.cli import agentzoo

Z = 1.959964 + 0.841621  # z(0.975) + z(0.8), from a normal table


# ------------------------------------------------------------------------------ paired difference

# Four tasks, two seeds; per task the (agent, baseline) outcome of seed 0 and seed 1.
TABLE = {"A": [(True, False), (True, True)],    # +1, 0
         "B": [(True, True), (False, False)],   # 0, 0
         "C": [(False, True), (False, False)],  # -1, 0
         "D": [(True, False), (True, False)]}   # +1, +1


def exact_bootstrap(task_sums: list[int], pairs: int) -> np.ndarray:
    """Every equally likely draw of len(task_sums) tasks with replacement: the bootstrap's exact distribution."""
    return np.sort([sum(draw) / pairs for draw in itertools.product(task_sums, repeat=len(task_sums))])


def test_the_paired_difference_of_a_fixed_table_and_its_interval_over_tasks():
    ci = paired_difference(TABLE)
    assert ci.difference == 2 / 8 and (ci.pairs, ci.tasks, ci.wins, ci.losses) == (8, 4, 3, 1)
    assert (ci.agent_rate, ci.baseline_rate) == (5 / 8, 3 / 8)  # the difference is the rates' difference
    # Resampling tasks (seeds kept together) against the exact distribution of the 4^4 draws:
    # its 2.5% and 97.5% quantiles are -0.25 and 0.75; 2000 resamples land within one step of them.
    exact = exact_bootstrap([1, 0, -1, 2], 8)
    assert exact[int(0.01 * len(exact))] <= ci.low <= exact[int(0.05 * len(exact))]
    assert exact[int(0.95 * len(exact))] <= ci.high <= exact[int(0.99 * len(exact))]
    assert (ci.low, ci.high) == (-0.25, 0.75)
    # Resampling the 8 pairs one by one would forget that a task's seeds go together: narrower on top.
    rng = np.random.default_rng(0)
    flat = np.array([1, 0, 0, 0, -1, 0, 1, 1])
    assert np.quantile(flat[rng.integers(0, 8, (20000, 8))].mean(axis=1), 0.975) < ci.high
    # The interval holds 0: not distinguishable, and reproducible (fixed seed).
    assert not ci.distinguishable and paired_difference(TABLE) == ci
    assert ci.as_dict()["distinguishable"] is False and ci.resamples == 2000


def test_an_interval_that_leaves_out_zero_is_distinguishable():
    # 10 tasks × 3 seeds: the agent wins every seed of 8 tasks, ties on 2. The bootstrap's mean is
    # (tasks drawn among the 8) / 10 ~ Binomial(10, 0.8) / 10, whose 2.5% quantile is 0.5.
    table = [[(True, False)] * 3] * 8 + [[(True, True)] * 3] * 2
    ci = paired_difference(table)
    assert ci.difference == pytest.approx(0.8) and ci.pairs == 30 and ci.tasks == 10
    assert ci.low == pytest.approx(0.5, abs=0.1) and ci.high == 1.0
    assert ci.distinguishable
    lower = paired_difference([[(b, a) for a, b in task] for task in table])  # the same, the other way round
    assert lower.difference == pytest.approx(-0.8) and lower.high < 0 and lower.distinguishable


def test_pairing_sees_a_difference_that_two_separate_intervals_hide():
    # 30 tasks of very different difficulty: 15 both solve, 9 neither, 6 only the agent.
    table = [[(True, True)]] * 15 + [[(False, False)]] * 9 + [[(True, False)]] * 6
    agent = success_rate([[a for a, _ in task] for task in table])
    base = success_rate([[b for _, b in task] for task in table])
    assert (agent.rate, base.rate) == (0.7, 0.5) and agent.low < base.high  # the separate intervals overlap
    ci = paired_difference(table)
    assert ci.difference == pytest.approx(0.2) and ci.low > 0 and ci.distinguishable


def test_no_pairs_give_no_difference():
    ci = paired_difference({})
    assert (ci.difference, ci.low, ci.high, ci.pairs, ci.mde) == (None, None, None, 0, None)
    assert not ci.distinguishable


# ------------------------------------------------------------------------------ pass^k and flips

def brute_pass_hat_k(outcomes: list[bool], k: int) -> float:
    """pass^k by its definition: the share of the k-subsets of a task's samples that all succeeded."""
    subsets = list(itertools.combinations(outcomes, k))
    return sum(all(s) for s in subsets) / len(subsets)


def test_pass_hat_k_and_the_flip_rate_on_a_fixed_table():
    # four tasks, four seeds each: c = 4, 2, 3, 0
    table = {"t0": [True] * 4, "t1": [True, False, True, False], "t2": [True, True, False, True], "t3": [False] * 4}
    counts = [(len(v), sum(v)) for v in table.values()]
    hats = mean_pass_hat_k(counts)
    assert hats == pytest.approx({1: 9 / 16, 2: (1 + 1 / 6 + 3 / 6 + 0) / 4, 3: (1 + 0 + 1 / 4 + 0) / 4, 4: 1 / 4})
    for k in range(1, 5):
        assert hats[k] == pytest.approx(sum(brute_pass_hat_k(v, k) for v in table.values()) / 4)
        assert hats[k] <= mean_pass_at_k(counts)[k]
    assert hats[1] == mean_pass_at_k(counts)[1] == 9 / 16  # pass^1 = pass@1
    assert pass_hat_k(5, 2, 3) == 0.0 and pass_hat_k(5, 5, 5) == 1.0 and pass_hat_k(5, 3, 2) == comb(3, 2) / comb(5, 2)
    with pytest.raises(ValueError):
        pass_hat_k(3, 4, 1)

    flips = flip_rate(table)
    assert (flips.flipped, flips.tasks, flips.rate) == (2, 4, 0.5)  # t1 and t2 change across seeds
    single = flip_rate([[True], [False], [True, False]])  # a task run once cannot flip
    assert (single.flipped, single.tasks, single.rate) == (1, 1, 1.0)
    assert flip_rate([[True], [False]]).rate is None


# ----------------------------------------------------------------------------- detectable difference

def test_the_minimum_detectable_difference_from_a_known_variance():
    diffs = [1.0, -1.0] * 8 + [0.0] * 4  # 20 tasks: mean 0, sample variance 16 / 19
    m = minimum_detectable_difference(diffs)
    assert m.source == "observed" and m.tasks == 20 and m.sd == pytest.approx(sqrt(16 / 19))
    assert m.value == pytest.approx(Z * sqrt(16 / 19) / sqrt(20), rel=1e-5)  # 0.5751
    assert (m.alpha, m.power) == (0.05, 0.8)

    few = minimum_detectable_difference([1.0, -1.0, 0.0])  # too few tasks to trust their spread
    assert few.source == "assumed" and few.sd == pytest.approx(sqrt(ASSUMED_VARIANCE))
    assert few.value == pytest.approx(Z * sqrt(0.5) / sqrt(3), rel=1e-5)
    flat = minimum_detectable_difference([0.0] * 30)  # no spread at all says nothing about the next run
    assert flat.source == "assumed" and flat.value == pytest.approx(Z * sqrt(0.5 / 30), rel=1e-5)
    planned = minimum_detectable_difference([], tasks=20)
    assert planned.value == pytest.approx(0.44297, abs=1e-4)  # 2.8016 · 0.7071 / 4.4721
    with pytest.raises(ValueError):
        minimum_detectable_difference([])


# --------------------------------------------------------------------------------- result rows

def row(agent: str, task: int, seed: int, success: bool, *, env: str = "gsm8k", model: str = "m",
        cost: float = 0.002, unpriced: int = 0, calls: int = 1, status: str | None = None,
        scopes: dict | None = None) -> dict:
    return {"key": f"{env}|{env}/{task}|{agent}|{model}|{seed}", "env": env, "task": f"{env}/{task}", "agent": agent,
            "model": model, "seed": seed, "reward": float(success), "success": success,
            "status": status or ("finished" if success else "failed"), "input_tokens": 90, "output_tokens": 10,
            "cost_usd": cost, "unpriced_calls": unpriced, "model_calls": calls, "tool_calls": 0, "wall_seconds": 0.5,
            "model_latencies": [0.4], "scopes": scopes or {"": {"model_calls": 1, "input_tokens": 90,
                                                                "output_tokens": 10, "cost_usd": cost,
                                                                "unpriced_calls": unpriced}}}


def table_rows(agent: str, outcomes: dict[str, list[bool]], **kw) -> list[dict]:
    return [row(agent, int(t[1:]), seed, ok, **kw) for t, seeds in outcomes.items() for seed, ok in enumerate(seeds)]


AGENT = {f"t{i}": [a for a, _ in pairs] for i, pairs in enumerate(TABLE.values())}
BASE = {f"t{i}": [b for _, b in pairs] for i, pairs in enumerate(TABLE.values())}
STRONG = {f"t{i}": [True, True] for i in range(4)}


def test_the_summary_pairs_each_agent_with_the_named_baseline_on_the_same_tasks_and_seeds():
    rows = table_rows("base", BASE) + table_rows("team", AGENT) + table_rows("strong", STRONG)
    rows.append(row("team", 9, 0, True))  # no baseline partner: unpaired
    rows.append(row("base", 0, 5, True, status="infra_error"))  # no outcome: not a pair either
    meta = {"agents": ["base", "team", "strong"], "baseline": "base", "envs": ["gsm8k"], "models": ["m"]}
    summary = summarize(rows, meta)
    paired = summary["paired"]
    assert (paired["baseline"], paired["baseline_source"], paired["note"]) == ("base", "named", None)
    team, strong = paired["comparisons"]
    assert team["agent"] == "team" and team["difference"] == 0.25 and team["pairs"] == 8 and team["tasks"] == 4
    assert (team["low"], team["high"], team["distinguishable"]) == (-0.25, 0.75, False)
    assert (team["unpaired_agent"], team["unpaired_baseline"]) == (1, 0) and team["resamples"] == 2000
    assert team["mde"]["source"] == "assumed"
    assert strong["difference"] == 5 / 8 and strong["low"] > 0 and strong["distinguishable"]

    md = render_markdown(summary)
    section = md[md.index("## Paired comparison with the baseline"):md.index("## gsm8k")]
    assert "Baseline: **base**, named by the eval." in section
    assert "Δ: agent − baseline success in points over pairs (same task and seed); 95% CI: paired bootstrap" in section
    assert (f"| gsm8k | team | m | 8 (4) | 62.5% | 37.5% | +25.0 [-25.0, +75.0] | 99.1\\* | {NOT_DISTINGUISHABLE} |"
            in section)
    assert "| gsm8k | strong | m | 8 (4) | 100.0% | 37.5% | +62.5 [" in section
    strong_line = next(line for line in section.splitlines() if "| strong |" in line)
    assert strong_line.endswith("| higher than the baseline |") and NOT_DISTINGUISHABLE not in strong_line
    assert "team × m on gsm8k: 1 of its scored samples and 0 of the baseline's have no partner" in section
    assert "Bloom 1995" in section and "σ² = 0.5" in section
    assert max(len(line) for line in section.splitlines() if line.startswith("|")) <= 120


def test_without_a_named_baseline_the_first_agent_is_the_baseline_and_the_report_says_so():
    rows = table_rows("team", AGENT) + table_rows("base", BASE)
    summary = summarize(rows, {"agents": ["base", "team"]})
    assert summary["paired"]["baseline"] == "base" and summary["paired"]["baseline_source"] == "first agent"
    assert "no baseline was named" in summary["paired"]["note"]
    assert "Baseline: **base**, the first agent listed, as no baseline was named" in render_markdown(summary)
    assert choose_baseline({"baseline": "gone"}, ["a", "b"])["label"] == "a"  # named but absent: said too
    assert "has no samples here" in choose_baseline({"baseline": "gone"}, ["a", "b"])["note"]


def test_a_single_agent_report_states_what_its_design_could_detect():
    rows = table_rows("solo", {f"t{i}": [True, False, True] for i in range(20)})
    summary = summarize(rows, {"agents": ["solo"], "seeds": 3})
    assert summary["paired"]["comparisons"] == []
    (design,) = summary["paired"]["design"]
    assert (design["env"], design["tasks"], design["seeds"]) == ("gsm8k", 20, 3)
    assert design["mde"]["value"] == pytest.approx(0.44297, abs=1e-4)
    assert ("gsm8k: with 20 task(s) × 3 seed(s), a paired comparison could detect differences of about 44.3 points"
            in render_markdown(summary))


def test_pass_hat_k_flip_rate_and_cost_and_tokens_per_success_in_the_summary():
    table = {"t0": [True] * 4, "t1": [True, False, True, False], "t2": [True, True, False, True], "t3": [False] * 4}
    roles = {"planner": {"model_calls": 1, "input_tokens": 60, "output_tokens": 0, "cost_usd": 0.001,
                         "unpriced_calls": 0},
             "solver": {"model_calls": 1, "input_tokens": 30, "output_tokens": 10, "cost_usd": 0.0,
                        "unpriced_calls": 1}}
    rows = (table_rows("team", table, cost=0.001, unpriced=1, calls=2, scopes=roles)
            + table_rows("free", table, cost=0.0, unpriced=1))
    summary = summarize(rows, {"agents": ["team", "free"], "baseline": "free"})
    team = next(g for g in summary["groups"] if g["agent"] == "team")
    assert team["pass_hat_k"] == pytest.approx({"1": 9 / 16, "2": 5 / 12, "3": 5 / 16, "4": 1 / 4})
    assert team["flip"] == {"rate": 0.5, "flipped": 2, "tasks": 4}
    # 16 samples, 9 successes: 16 · 0.001 / 9 dollars and 16 · 100 / 9 tokens per success
    assert team["cost"]["per_success"] == pytest.approx(0.016 / 9)
    assert team["tokens"]["per_success"] == pytest.approx(1600 / 9)
    assert team["roles"]["planner"]["per_success"] == pytest.approx({"tokens": 960 / 9, "cost_usd": 0.016 / 9})
    assert team["roles"]["solver"]["per_success"]["tokens"] == pytest.approx(640 / 9)

    md = render_markdown(summary)
    assert "| team | m | 16 | 4 | 56.2% [" in md
    assert "| 56.2% | 70.8% | 75.0% | 75.0% | 41.7% | 31.2% | 25.0% | 50.0% | 0.562 |" in md
    assert "| pass@4 | pass^2 | pass^3 | pass^4 | flip | reward |" in md  # pass^1 is pass@1: not repeated
    assert "| team | m | 90.0 / 10.0 | 177.8 | $0.00100 † | $0.00178 † |" in md  # some calls unpriced
    assert "| free | m | 90.0 / 10.0 | 177.8 | unpriced | unpriced |" in md
    assert "| team | m | planner | 16 | 1.00 / 0.00 / 0.00 | 60.0 / 0.0 | 106.7 | $0.00100 | $0.00178 |" in md
    assert "| team | m | solver | 16 | 1.00 / 0.00 / 0.00 | 30.0 / 10.0 | 71.1 | unpriced | unpriced |" in md

    nobody = summarize(table_rows("none", {"t0": [False, False]}))
    assert nobody["groups"][0]["cost"]["per_success"] is None and nobody["groups"][0]["tokens"]["per_success"] is None
    assert "| none | m | 90.0 / 10.0 | — | $0.00200 | — |" in render_markdown(nobody)


def test_pairs_are_only_made_within_one_environment_and_model():
    rows = (table_rows("base", BASE) + table_rows("team", AGENT)
            + table_rows("team", AGENT, model="other"))  # the baseline never ran model 'other'
    found = comparisons(rows, "base")
    assert [(c["model"], c["pairs"], c["difference"]) for c in found] == [("m", 8, 0.25), ("other", 0, None)]
    assert found[1]["unpaired_agent"] == 8
    assert "| gsm8k | team | other | 0 (0) | — | — | — | — | no pairs |" in render_markdown(
        summarize(rows, {"agents": ["base", "team"], "baseline": "base"}))


# --------------------------------------------------------------------------------------- the anchor

def test_which_recipes_are_teams_is_written_down_with_a_reason_each():
    from agentzoo.recipes import RECIPES

    assert set(MULTI_AGENT) <= set(RECIPES) and all(reason for reason in MULTI_AGENT.values())
    assert classify("llm-debate") == "multi" and classify("agentcoder@code") == "multi"
    assert {classify(a) for a in ("cot", "cot-sc", "reflexion", "self-refine", "tool-calling", "codeact")} == {"single"}
    assert classify("mypkg.agents:build") is None


def experiment(agents, envs=("gsm8k",), **extra):
    return Experiment.model_validate({"agents": list(agents), "envs": list(envs), "models": ["oracle"], **extra})


def test_a_team_only_eval_gets_a_matched_single_agent_anchor_as_its_baseline():
    the_plan = plan(experiment([{"agent": "llm-debate", "budgets": {"tokens": 5000},
                                 "sampling": {"temperature": 0.7, "max_tokens": 256}}, "mallm"]))
    assert the_plan.labels == ["anchor:cot", "llm-debate", "mallm"]
    assert the_plan.experiment.baseline == "anchor:cot"
    anchor = the_plan.agents["anchor:cot"]
    team = the_plan.agents["llm-debate"]
    assert anchor.agent == "cot" and anchor.budgets == team.budgets and anchor.budgets.tokens == 5000
    assert anchor.sampling == team.sampling and anchor.model == team.model  # the same model and budget
    assert the_plan.anchor["for"] == ["llm-debate", "mallm"] and the_plan.anchor["agent"] == "cot"

    tools = plan(experiment(["magentic-one"], envs=("tau-retail",)))  # a tool environment: tool-calling
    assert tools.labels == ["anchor:tool-calling", "magentic-one"]
    mixed = plan(experiment(["magentic-one"], envs=("gsm8k", "tau-retail")))  # one anchor that runs on both
    assert mixed.labels[0] == "anchor:tool-calling"
    code = plan(experiment(["agentcoder@code", "metagpt"], envs=("humaneval",), baseline="metagpt",
                           budgets={"usd": 0.5}))
    assert code.labels[0] == "anchor:cot" and code.experiment.baseline == "metagpt"  # a named baseline stays
    assert code.agents["anchor:cot"].budgets.usd == 0.5


def test_no_anchor_beside_a_single_agent_or_when_turned_off():
    assert plan(experiment(["cot", "llm-debate"])).labels == ["cot", "llm-debate"]
    assert plan(experiment(["tool-calling", "codeact"])).labels == ["tool-calling", "codeact"]
    assert plan(experiment(["reflexion"])).anchor is None
    off = plan(experiment(["llm-debate"], anchor=False))
    assert off.labels == ["llm-debate"] and off.anchor is None and off.experiment.baseline is None
    with pytest.raises(ConfigError, match="the name of the matched single-agent anchor"):
        plan(experiment([{"agent": "mallm", "label": "anchor:cot"}, "llm-debate"]))


def test_an_experiment_file_turns_the_anchor_off_and_the_flag_overrides_it(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("agents: [llm-debate]\nenvs: [gsm8k]\nmodels: [oracle]\nanchor: false\n")
    assert load_experiment(path).labels == ["llm-debate"]
    path.write_text("agents: [llm-debate]\nenvs: [gsm8k]\nmodels: [oracle]\n")
    assert load_experiment(path).labels == ["anchor:cot", "llm-debate"]
    assert load_experiment(path, anchor=False).labels == ["llm-debate"]
    path.write_text("agents: [llm-debate]\nenvs: [gsm8k]\nmodels: [oracle]\nbaseline: anchor:cot\n")
    assert load_experiment(path).experiment.baseline == "anchor:cot"  # the anchor can be named


def cli(*args, cwd=None):
    return agentzoo(*args, cwd=cwd, check=False, timeout=300, columns=160)


def test_agentzoo_eval_adds_the_anchor_and_closes_with_a_vs_baseline_table_and_no_anchor_turns_it_off(tmp_path):
    done = cli("eval", "--env", "gsm8k", "--agent", "llm-debate", "--model", "oracle", "--limit", "2",
               "--out", tmp_path / "r", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["meta"]["agents"] == ["anchor:cot", "llm-debate"] and summary["meta"]["baseline"] == "anchor:cot"
    assert summary["meta"]["anchor"]["for"] == ["llm-debate"]
    assert summary["paired"]["baseline_source"] == "anchor"
    (c,) = summary["paired"]["comparisons"]
    assert (c["agent"], c["pairs"], c["difference"], c["distinguishable"]) == ("llm-debate", 2, 0.0, False)
    said = " ".join(done.stdout.split())
    assert "vs baseline anchor:cot" in said and "not distinguishable" in said and "matched single-agent anchor" in said
    assert "Baseline: **anchor:cot**, the matched single-agent anchor" in (tmp_path / "r" / "summary.md").read_text()

    done = cli("eval", "--env", "gsm8k", "--agent", "llm-debate", "--model", "oracle", "--limit", "2", "--no-anchor",
               "--out", tmp_path / "off", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "off" / "summary.json").read_text())
    assert summary["meta"]["agents"] == ["llm-debate"] and summary["paired"]["comparisons"] == []
    assert "one agent, nothing to compare" in " ".join(done.stdout.split())


# ------------------------------------------------------------------------------------------ compare

def folder(path, rows, meta):
    path.mkdir()
    store = ResultStore(path / "results.db")
    try:
        for i, r in enumerate(rows):
            store.put(r, float(i))
        store.set_meta("eval", meta)
    finally:
        store.close()
    return path


@pytest.fixture
def two_folders(tmp_path):
    first = folder(tmp_path / "first", table_rows("base", BASE) + table_rows("team", AGENT),
                   {"agents": ["base", "team"], "baseline": "team", "envs": ["gsm8k"], "models": ["m"]})
    second = folder(tmp_path / "second", table_rows("strong", STRONG)[:-1],  # the last (task, seed) is missing
                    {"agents": ["strong"], "envs": ["gsm8k"], "models": ["m"]})
    return first, second


def test_compare_pairs_agents_across_folders_with_a_named_baseline(two_folders):
    first, second = two_folders
    done = cli("compare", first, second, "--baseline", "base", "--json")
    assert done.returncode == 0, done.stderr
    paired = json.loads(done.stdout)["paired"]
    assert paired["baseline"] == {"folder": "first", "agent": "base"} and paired["baseline_source"] == "named"
    team, strong = paired["comparisons"]
    assert (team["folder"], team["agent"], team["difference"], team["low"], team["high"]) == (
        "first", "team", 0.25, -0.25, 0.75)
    assert not team["distinguishable"]
    assert (strong["folder"], strong["agent"], strong["pairs"], strong["unpaired_baseline"]) == ("second", "strong", 7, 1)
    assert strong["difference"] == pytest.approx(1 - 3 / 7)  # the baseline solved 3 of the 7 it shares

    done = cli("compare", first, second, "--baseline", "base")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("vs baseline base in first" in line for line in lines)
    team_line = next(line for line in lines if "│ team " in line and "+25.0" in line)
    assert "+25.0 [-25.0, +75.0]" in team_line and "not distinguishable" in team_line
    assert "1 scored sample(s) had no partner" in done.stdout

    # Without --baseline: the first folder's own (its eval named 'team').
    paired = json.loads(cli("compare", first, second, "--json").stdout)["paired"]
    assert paired["baseline"] == {"folder": "first", "agent": "team"}
    assert [c["agent"] for c in paired["comparisons"]] == ["base", "strong"]

    wrong = cli("compare", first, second, "--baseline", "nobody")
    assert wrong.returncode == 2 and "--baseline 'nobody': no folder has an agent with that label" in wrong.stderr


def test_compare_reads_samples_jsonl_when_results_db_is_gone(two_folders):
    first, second = two_folders
    write_reports(first)
    (first / "results.db").unlink()
    paired = json.loads(cli("compare", first, second, "--baseline", "base", "--json").stdout)["paired"]
    assert [c["agent"] for c in paired["comparisons"]] == ["team", "strong"] and paired["notes"] == []
