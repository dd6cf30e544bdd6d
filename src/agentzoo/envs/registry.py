"""Environments by name, as the command line and the harness ask for them."""

from __future__ import annotations

import importlib
from pathlib import Path

from ..errors import ConfigError, did_you_mean
from .base import Environment

# name -> (module, class); loaded on first use so that `agentzoo eval --env gsm8k` imports no tau code.
ENVIRONMENTS: dict[str, tuple[str, str]] = {
    "humaneval": ("agentzoo.envs.code", "HumanEval"),
    "mbpp": ("agentzoo.envs.code", "MBPP"),
    "gsm8k": ("agentzoo.envs.gsm8k", "GSM8K"),
    "bfcl": ("agentzoo.envs.bfcl_env", "BFCLEnv"),
    "tau-retail": ("agentzoo.envs.tau_env", "TauRetail"),
    "tau-airline": ("agentzoo.envs.tau_env", "TauAirline"),
    "seeded-bugs": ("agentzoo.envs.seeded_bugs", "SeededBugs"),
    "gridworld": ("agentzoo.envs.gridworld", "GridWorld"),
    "screens": ("agentzoo.envs.screens", "Screens"),
    "textworld": ("agentzoo.envs.textworld_env", "TextWorld"),
    "m3tooleval": ("agentzoo.envs.m3tooleval.env", "M3ToolEval"),
    "miniwob": ("agentzoo.envs.miniwob_env", "MiniWoB"),
    "webworld": ("agentzoo.envs.webworld", "WebWorld"),
    "mt-dialogues": ("agentzoo.envs.mt_dialogues", "MTDialogues"),
    "populations": ("agentzoo.envs.populations", "Populations"),
    "concordia-scenes": ("agentzoo.envs.concordia_scenes", "ConcordiaScenes"),
    "mlagentbench": ("agentzoo.envs.mlagentbench", "MLAgentBench"),
    "repo-install": ("agentzoo.envs.repo_install", "RepoInstall"),
    "persona-sessions": ("agentzoo.envs.persona_sessions", "PersonaSessions"),
    "kitchen": ("agentzoo.envs.kitchen", "Kitchen"),
    "town": ("agentzoo.envs.town", "Town"),
    "judge-pairs": ("agentzoo.envs.judge_pairs", "JudgePairs"),
    "numeric-problems": ("agentzoo.envs.numeric_problems", "NumericProblems"),
    "proactive-events": ("agentzoo.envs.proactive_events", "ProactiveEvents"),
    "catalogue-search": ("agentzoo.envs.catalogue_search", "CatalogueSearch"),
    "agent-defects": ("agentzoo.envs.agent_defects", "AgentDefects"),
    "core-bench": ("agentzoo.envs.core_bench", "CoreBench"),
}


def get_env(name: str, tasks_file: str | Path | None = None, **options) -> Environment:
    """The environment called `name`, on its shipped tasks or on `tasks_file` (same format)."""
    try:
        module, cls = ENVIRONMENTS[name]
    except KeyError:
        guess = did_you_mean(name, ENVIRONMENTS, cutoff=0.75)
        raise ConfigError(f"unknown environment {name!r}{guess} (known: {', '.join(ENVIRONMENTS)})") from None
    if tasks_file is not None and not Path(tasks_file).exists():
        raise ConfigError(f"--tasks {tasks_file}: no such file")
    env_class = getattr(importlib.import_module(module), cls)
    return env_class(tasks_file=tasks_file, **options)
