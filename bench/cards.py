"""Reported vs reproduced: one card per recipe in docs/recipes/, generated from a saved eval.

    .venv/bin/python bench/cards.py bench/results/local-model-baselines [--out docs/recipes]

Each card puts the paper's headline number (its model and benchmark, from the paper as summarised in
the team's PAPERS.md) beside what agentzoo measured: the model, the tasks and seeds, success with its
95% interval, the paired difference against the eval's baseline and whether it can be told from noise,
and the cost in calls and tokens per success. A recipe the eval did not run says so, and says how to
measure it. The cards are regenerated, never edited by hand: rerun this after a new eval.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from agentzoo.catalog import get_kind, names  # noqa: E402

# The paper's headline per recipe: what it reported, with which model, on which benchmark. "[unverified]"
# marks figures we could not check against the paper's own table.
REPORTED: dict[str, dict[str, str]] = {
    "cot": {"paper": "Wei et al. 2022, Chain-of-Thought Prompting (NeurIPS)",
            "headline": "56.9% on GSM8K with PaLM 540B, 8-shot chain of thought (17.9% with standard prompting)",
            "model": "PaLM 540B", "benchmark": "gsm8k"},
    "cot-sc": {"paper": "Wang et al. 2023, Self-Consistency (ICLR)",
               "headline": "74.4% on GSM8K with PaLM 540B and 40 sampled paths (+17.9 points over chain of thought)",
               "model": "PaLM 540B", "benchmark": "gsm8k"},
    "self-refine": {"paper": "Madaan et al. 2023, Self-Refine (NeurIPS)",
                    "headline": "about +20 points averaged over seven tasks; small gains on math reasoning [unverified]",
                    "model": "GPT-3.5 / GPT-4", "benchmark": "gsm8k"},
    "reflexion": {"paper": "Shinn et al. 2023, Reflexion (NeurIPS)",
                  "headline": "91.0% pass@1 on HumanEval with GPT-4 (80.1% without reflection)",
                  "model": "GPT-4", "benchmark": "humaneval"},
    "llm-debate": {"paper": "Du et al. 2023, Improving Factuality and Reasoning through Multiagent Debate",
                   "headline": "higher GSM8K accuracy than a single agent with 3 agents × 2 rounds [unverified figures]",
                   "model": "gpt-3.5-turbo", "benchmark": "gsm8k"},
    "agentcoder": {"paper": "Huang et al. 2023, AgentCoder (#27)",
                   "headline": "77.4% / 89.1% pass@1 on HumanEval-ET / MBPP-ET with GPT-3.5", "model": "GPT-3.5",
                   "benchmark": "humaneval"},
    "codecor": {"paper": "CodeCoR (#57)", "headline": "average pass@1 77.8% over HumanEval(-ET) and MBPP(-ET)",
                "model": "GPT-3.5", "benchmark": "humaneval"},
    "metagpt": {"paper": "Hong et al. 2024, MetaGPT (#39)", "headline": "85.9% / 87.7% pass@1 HumanEval / MBPP [unverified]",
                "model": "GPT-4", "benchmark": "humaneval"},
    "dylan": {"paper": "Liu et al. 2024, DyLAN (#41)",
              "headline": "+13.3% on HumanEval and +13.0% on MATH over a single GPT-3.5 run", "model": "gpt-3.5-turbo",
              "benchmark": "humaneval"},
    "mallm": {"paper": "Becker et al. 2024, MALLM (#43)",
              "headline": "multi-agent discussion beats a single model on complex reasoning, not on basic tasks (qualitative)",
              "model": "various", "benchmark": "gsm8k"},
    "magentic-one": {"paper": "Fourney et al. 2024, Magentic-One (#34)",
                     "headline": "competitive with the state of the art on GAIA, AssistantBench and WebArena [unverified figures]",
                     "model": "GPT-4o / o1", "benchmark": "tau-retail"},
    "magentic-one-legacy": {"paper": "Fourney et al. 2024, Magentic-One (#34), first release",
                            "headline": "as magentic-one", "model": "GPT-4o", "benchmark": "tau-retail"},
    "agentless": {"paper": "Xia et al. 2024, Agentless (#24)", "headline": "27.33% on SWE-bench Lite at $0.34 per issue",
                  "model": "GPT-4o", "benchmark": "seeded-bugs"},
    "codeact": {"paper": "Wang et al. 2024, CodeAct (#62, ICML)",
                "headline": "up to 20% higher success than text/JSON actions across 17 LLMs (API-Bank + M3ToolEval)",
                "model": "17 LLMs", "benchmark": "gsm8k"},
    "ltl": {"paper": "LTL-specified agents (#13)", "headline": "guardrails improve performance (qualitative)",
            "model": "various", "benchmark": "gsm8k"},
    "croto": {"paper": "Du et al. 2024, Cross-Team Orchestration (#40, ACL 2025 Findings)",
              "headline": "a notable increase in software quality over single-team ChatDev on SRDD (no figure "
                          "quoted here); also story generation", "model": "GPT-3.5 [unverified]",
              "benchmark": "humaneval"},
    "ioa": {"paper": "Chen et al. 2024, Internet of Agents (#68)",
            "headline": "outperforms state-of-the-art baselines on general-assistant (GAIA), embodied (RoCoBench) and "
                        "retrieval-augmented QA tasks (qualitative in the abstract; no figure quoted here)",
            "model": "GPT-4 (gpt-4-1106-preview in the code's configs)", "benchmark": "gsm8k"},
    "webarena-agent": {"paper": "Zhou et al. 2023, WebArena (#14)",
                       "headline": "14.41% end-to-end task success on WebArena with GPT-4 and chain of thought "
                                   "(10.59% in the first version); humans 78.24%",
                       "model": "GPT-4", "benchmark": "webworld"},
    "agentoccam": {"paper": "Yang et al. 2024, AgentOccam (#26)",
                   "headline": "43.1% success on WebArena with GPT-4-turbo: +9.8 points (+29.4%) over the previous "
                               "state of the art, +26.6 points over a plain web agent", "model": "GPT-4-turbo",
                   "benchmark": "webworld"},
    "react-textgame": {"paper": "Yao et al. 2023, ReAct (ICLR), its ALFWorld setup",
                       "headline": "71% success on ALFWorld's 134 unseen games (best of 6 prompts), 34 points over "
                                   "the imitation-learned BUTLER (37%); Act 45% [unverified]",
                       "model": "PaLM-540B (text-davinci-002 in the released code)", "benchmark": "textworld"},
    "tree-search": {"paper": "(agentzoo's tree search on any step environment: the engine SWE-Search and Agent-R share)",
                    "headline": "—", "model": "—", "benchmark": "gridworld"},
    "swe-search": {"paper": "Antoniades et al. 2024, SWE-Search (#51)",
                   "headline": "23% relative improvement on SWE-bench Lite across five models over the same agents "
                               "without tree search", "model": "five open and closed models [unverified]",
                   "benchmark": "seeded-bugs"},
    "agent-r": {"paper": "Yuan et al. 2025, Agent-R (#8)",
                "headline": "+5.59% over baselines on three interactive environments after iterative self-training on "
                            "the revision trajectories", "model": "Llama-3.1-8B [unverified]", "benchmark": "textworld"},
    "persona": {"paper": "Chen et al. 2022, What would Harry say? (HPD, #1); Chen et al. 2024, the RPLA survey (#2)",
                "headline": "qualitative: DialoGPT, BOB and ChatGPT baselines fluent but often out of character",
                "model": "ChatGPT among others", "benchmark": "persona-sessions"},
    "agenttorch": {"paper": "Chopra et al. 2024, On the limits of agency in agent-based models (#54, AAMAS 2025)",
                   "headline": "LLM archetypes drive 8.4M New York agents (COVID-19 isolation, willingness to work) "
                               "and are compared with heuristic agents on disease waves and unemployment "
                               "(qualitative here; no figure quoted)", "model": "GPT-3.5 [unverified]",
                   "benchmark": "populations"},
    "generative-agents": {"paper": "Park et al. 2023, Generative Agents: Interactive Simulacra of Human Behavior (#32, UIST)",
                          "headline": "believable individual and emergent social behaviour (a party invitation spreads "
                                      "through the town); ablations show observation, planning and reflection each "
                                      "matter", "model": "gpt-3.5-turbo", "benchmark": "town"},
    "concordia": {"paper": "Vezhnevets et al. 2023, Generative agent-based modeling with Concordia (#58)",
                  "headline": "qualitative: a library for grounded social simulation", "model": "—",
                  "benchmark": "concordia-scenes"},
    "deep-agent": {"paper": "Deep Agent: hierarchical task DAG (HTDAG) with autonomous API and tool creation (#17)",
                   "headline": "qualitative", "model": "—", "benchmark": "gsm8k"},
    "pangu-agent": {"paper": "Christianos et al. 2023, Pangu-Agent (#5)",
                    "headline": "qualitative: structured reasoning plus fine-tuning beats first-order prompting",
                    "model": "—", "benchmark": "gridworld"},
    "langgraph-mt": {"paper": "Wang & Duan 2024, Agent AI with LangGraph for machine translation (#56)",
                     "headline": "qualitative", "model": "GPT-4o, GLM-4", "benchmark": "mt-dialogues"},
    "aegis": {"paper": "AEGIS, an agent-based framework for issue reproduction (#9)",
              "headline": "+23.0% fail-to-pass over the state of the art; its scripts raise Agentless's relative "
                          "resolve rate by 12.5%", "model": "GPT-4o [unverified]", "benchmark": "seeded-bugs"},
    "poact": {"paper": "PoAct: policy and action dual-control agent (#47)",
              "headline": "+20% on LegalAgentBench with fewer tokens", "model": "—", "benchmark": "m3tooleval"},
    "multi-branch": {"paper": "Low-parameter LLM agent tuning with multi-branch reasoning (#16)",
                     "headline": "qualitative, on 5 AgentBench tasks", "model": "7B/13B fine-tuned", "benchmark": "gsm8k"},
    "jailjudge": {"paper": "Liu et al. 2024, JAILJUDGE (#10)",
                  "headline": "JailBoost +29.24% attack performance; GuardShield defence ASR 40.46% → 0.15%",
                  "model": "GPT-4 judges [unverified]", "benchmark": "judge-pairs"},
    "installamatic": {"paper": "Milliken et al. 2024, Installamatic (#18)",
                      "headline": "55% of 40 repositories installed at least once in 10 tries",
                      "model": "GPT-4o-mini [unverified]", "benchmark": "repo-install"},
    "core-agent": {"paper": "Siegel et al. 2024, CORE-Bench (#33)", "headline": "21% on the hardest level (best agent)",
                   "model": "GPT-4o", "benchmark": "core-bench"},
    "agentable": {"paper": "Agentable (#29)", "headline": "88.79% accuracy, 91.03% recall; 889 defects found in 84 real agents",
                  "model": "an LLM beside code-graph patterns [unverified]", "benchmark": "agent-defects"},
    "cogni-cismef": {"paper": "Cogni-CISMeF (#7)", "headline": "qualitative: a dialogue modelled on human experts' "
                     "query refinement", "model": "none (pre-LLM)", "benchmark": "catalogue-search"},
    "agent-laboratory": {"paper": "Schmidgall et al. 2025, Agent Laboratory (#31)",
                         "headline": "o1-preview the best backend; research costs cut 84% against earlier autonomous "
                                     "research methods", "model": "o1-preview", "benchmark": "mlagentbench"},
    "mechagents": {"paper": "Ni & Buehler 2024, MechAgents (#23)",
                   "headline": "qualitative: autonomous solving of elasticity problems", "model": "GPT-4",
                   "benchmark": "numeric-problems"},
    "mobile-agent-v2": {"paper": "Wang et al. 2024, Mobile-Agent-v2 (#60)",
                        "headline": "over 30% better task completion than the single-agent Mobile-Agent",
                        "model": "GPT-4V / GPT-4o", "benchmark": "screens"},
    "proactive-agent": {"paper": "Lu et al. 2024, Proactive Agent (ProactiveBench, #42)",
                        "headline": "F1 66.47% for the fine-tuned model", "model": "fine-tuned Qwen2-7B [unverified]",
                        "benchmark": "proactive-events"},
    "proagent": {"paper": "Zhang et al. 2024, ProAgent (#20, AAAI)",
                 "headline": "beats 5 self-play and population-based methods with AI partners; over 10% above COLE "
                             "with human proxies", "model": "GPT-3.5", "benchmark": "kitchen"},
    "mlagentbench": {"paper": "Huang et al. 2024, MLAgentBench (#37, ICML)",
                     "headline": "Claude v3 Opus best at 37.5% average success; 0% on recent Kaggle tasks",
                     "model": "Claude v3 Opus", "benchmark": "mlagentbench"},
    "tool-calling": {"paper": "(agentzoo's single agent; the matched single-agent anchor of team comparisons)",
                     "headline": "—", "model": "—", "benchmark": "gsm8k"},
}

STRONGER = ("A 135M-parameter model answers almost nothing right on these benchmarks, so its numbers test the "
            "harness, the recipe's mechanics and the noise reporting, not the recipe's worth. Reproducing the "
            "paper's gain needs a model of the paper's class (GPT-3.5 or better, or an open 7B+ instruct model "
            "behind an OpenAI-compatible server) and 100+ tasks per benchmark, so that the minimum detectable "
            "difference falls below the gain claimed.")


def load(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "summary.json").read_text())


def measured(summary: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Groups by the recipe each agent label ran (from the eval meta's specs)."""
    specs = (summary.get("meta") or {}).get("specs") or {}
    out: dict[str, list[dict[str, Any]]] = {}
    for group in summary.get("groups", []):
        recipe = (specs.get(group["agent"]) or {}).get("agent", group["agent"])
        out.setdefault(recipe, []).append(group)
    return out


def pct(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.1f}%"


def card(name: str, groups: list[dict[str, Any]], summary: dict[str, Any], source: str) -> str:
    kind = get_kind(name)
    reported = REPORTED.get(name, {"paper": "—", "headline": "—", "model": "—", "benchmark": "—"})
    meta = summary.get("meta") or {}
    lines = [f"# {name}", "", kind.summary, "",
             "## Reported", "", f"- **Paper:** {reported['paper']}", f"- **Headline:** {reported['headline']}",
             f"- **Model:** {reported['model']}", "", "## Reproduced here", ""]
    if not groups:
        lines += [f"Not measured in `{source}` yet. To measure it on the shipped model:", "",
                  "```bash", f"agentzoo eval --env {reported['benchmark']} --agent {name} --model local:smollm2-135m "
                  "--limit 10 --seeds 3 --out results/" + name, "```", ""]
    else:
        paired = {(c["env"], c["agent"], c["model"]): c for c in (summary.get("paired") or {}).get("comparisons", [])}
        baseline = (summary.get("paired") or {}).get("baseline")
        lines += [f"From `{source}` (experiment `{meta.get('name') or '—'}`), {meta.get('seeds')} seed(s) per task, "
                  f"baseline `{baseline}`.", "",
                  "| agent | env | model | tasks | success (95% CI) | Δ vs baseline (95% CI) | verdict | calls / sample | tokens / success |",
                  "| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: |"]
        for g in groups:
            s = g["success"]
            c = paired.get((g["env"], g["agent"], g["model"]))
            delta = "baseline" if g["agent"] == baseline else "—"
            verdict = ""
            if c:
                delta = f"{100 * c['difference']:+.1f} [{100 * c['low']:+.1f}, {100 * c['high']:+.1f}]"
                verdict = ("not distinguishable from the baseline" if not c["distinguishable"]
                           else "higher than the baseline" if c["difference"] > 0 else "lower than the baseline")
            per_success = g["tokens"].get("per_success")
            lines.append(f"| {g['agent']} | {g['env']} | {g['model']} | {g['tasks']} | {pct(s['rate'])} "
                         f"[{pct(s['low'])}, {pct(s['high'])}] | {delta} | {verdict} | "
                         f"{g['calls']['model_per_sample']:.1f} | "
                         f"{'—' if per_success is None else f'{per_success:,.0f}'} |")
        lines += ["", STRONGER, ""]
    if kind.deviations:
        lines += ["## Where agentzoo's defaults differ from the paper", ""]
        lines += [f"- {d}" for d in kind.deviations]
        lines.append("")
    lines += [f"Regenerate: `python bench/cards.py {source}`. Options and presets: `agentzoo recipes show {name}`.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="an eval results folder (its summary.json)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "recipes")
    args = parser.parse_args()
    summary = load(args.folder)
    by_recipe = measured(summary)
    source = str(args.folder.resolve().relative_to(ROOT)) if args.folder.resolve().is_relative_to(ROOT) else str(args.folder)
    args.out.mkdir(parents=True, exist_ok=True)
    index = ["# Recipes: reported vs reproduced", "",
             f"Generated by `bench/cards.py` from `{source}`. {STRONGER}", "",
             "| recipe | paper's headline | measured here |", "| --- | --- | --- |"]
    for name in names():
        groups = by_recipe.get(name, [])
        (args.out / f"{name}.md").write_text(card(name, groups, summary, source))
        here = "; ".join(f"{g['env']} {pct(g['success']['rate'])}" for g in groups) or "not yet"
        index.append(f"| [{name}]({name}.md) | {REPORTED.get(name, {}).get('headline', '—')} | {here} |")
    (args.out / "README.md").write_text("\n".join(index) + "\n")
    print(f"wrote {len(names()) + 1} files to {args.out}")


if __name__ == "__main__":
    main()
