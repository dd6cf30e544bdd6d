"""The synthesis pipelines by name, each a module with the same surface:

    NAME, PAPER, SUMMARY           its name, the paper (PAPERS.md number) and one line on what it makes
    ENVS                           the environments it runs on (names of `agentzoo.envs.registry`)
    OPTIONS: dict[str, object]     its options and their defaults (the paper's constants, where it has them)
    OPTION_SOURCES: dict[str, str] where each default comes from (a paper section, a file of the released code, ours)
    DEVIATIONS: list[str]          where it departs from the paper, and why
    build(model, env, *, limit, seed, **options) -> Pipeline
    rows(items, run_id) -> list[dict]   the dataset rows (`agentzoo.synth.rows`), each with its provenance

Modules load on first use, so `agentzoo synth --help` does not import every pipeline.
"""

from __future__ import annotations

import importlib
import importlib.util
from types import ModuleType

from ...errors import ConfigError

PIPELINES: dict[str, str] = {
    "learn-by-interact": "agentzoo.synth.pipelines.learn_by_interact",
    "os-genesis": "agentzoo.synth.pipelines.os_genesis",
    "agentinstruct": "agentzoo.synth.pipelines.agentinstruct",
    "agentrefine": "agentzoo.synth.pipelines.agentrefine",
    "mag-v": "agentzoo.synth.pipelines.mag_v",
    "agentgen": "agentzoo.synth.pipelines.agentgen",
    "dataenvgym": "agentzoo.synth.pipelines.dataenvgym",
    "pae": "agentzoo.synth.pipelines.pae",
    "malt": "agentzoo.synth.pipelines.malt",
    "agenttuning": "agentzoo.synth.pipelines.agenttuning",
}


TITLES: dict[str, str] = {
    "learn-by-interact": "Learn-by-interact (#12): tasks from docs, trajectories, backward construction, retrieval",
    "os-genesis": "OS-Genesis (#3): GUI exploration, reverse task synthesis, a trajectory reward model",
    "agentinstruct": "AgentInstruct (#35): content transformation, seed instructions, refinement flows",
    "agentrefine": "AgentRefine (#38): agent data with self-correction turns",
    "mag-v": "MAG-V (#44): multi-agent questions and trajectories on tool domains, verified",
    "agentgen": "AgentGen (#63): environment synthesis checked by execution, Bi-Evol task variants",
    "dataenvgym": "DataEnvGym (#30): a teacher making data for a student's errors, round by round",
    "pae": "PAE (#22): task proposer, agent, evaluator; outcome-based reward",
    "malt": "MALT (#52): generator, verifier, refiner trees; value iteration; SFT and DPO per role",
    "agenttuning": "AgentTuning (#19): agent trajectories mixed with general instructions at a ratio",
}
"""One line per pipeline for `agentzoo synth --help` (which must not import them all)."""


def available() -> list[str]:
    """The pipelines whose module exists in this installation."""
    return [name for name, module in PIPELINES.items() if importlib.util.find_spec(module) is not None]


def get_pipeline(name: str) -> ModuleType:
    if name not in PIPELINES:
        raise ConfigError(f"unknown pipeline {name!r}; known: {', '.join(available())}")
    try:
        return importlib.import_module(PIPELINES[name])
    except ModuleNotFoundError as exc:
        if exc.name == PIPELINES[name]:
            raise ConfigError(f"pipeline {name!r} is not built yet; built: {', '.join(available())}") from None
        raise
