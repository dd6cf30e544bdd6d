"""Agent-R (`agent-r`): MCTS rollouts, then revision trajectories for the next round of self-training.

Yuan et al. 2025, "Agent-R: Training Language Model Agents to Reflect via Iterative Self-Training"
(arXiv:2501.11425); checked against bytedance/Agent-R (`path_collection.py`, `mcts_utils/mcts_raw.py`,
`mcts_utils/*/mcts_*.py`, `mcts_utils/llm_server.py`). Phase I of the paper, on any step environment:

1. MCTS over the episode (`agentzoo.search`, classic UCT with c = 0.25, rollouts to the end): a leaf's value is the
   environment's reward as a share of the task's maximum score.
2. The leaf paths, sorted by average value; pairs (good, bad) whose values differ by more than β, the good one
   above α; the divergence point of a pair is the deepest node both paths pass through.
3. The actor judges the bad path's steps after the divergence point until the first Bad (a step that lost the
   game stops there without a call); the sample is the bad path to that step (loss off), a revision turn
   `Thought: …` / `Action: wait` (loss on) and the good path from the divergence point (loss on). Good paths
   alone are samples too.

The agent's answer, and the state the environment scores, is the best path found. The samples are recorded in
the run's journal (`agent.KIND`/`agent.SAMPLES`); `agentzoo export RUN_OR_EVAL_DIR --format agent-r` writes them
as ShareGPT rows with per-turn loss flags and their provenance (`export.export_samples`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import StepDriver
from ...errors import ConfigError
from ...prompts import render
from ...protocols import Model
from ...search import UCT, Limits, TextPolicy, TreeSearch
from ..cot import request_fields
from ..tree_search import budget, step_driver
from .agent import AgentR, BestFound, SeededPolicy
from .paths import ScoreShare
from .revise import PROMPTS

__all__ = ["ACTS_IN", "ANSWER_KINDS", "AgentR", "build"]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode; the environment scores the path the search settled on."""
ACTS_IN = ("textworld", "gridworld")
UCT_C = 0.25         # mcts_utils/*/mcts_*.py and mcts_raw.py MCTSConfig.coef
ITERATIONS = 4       # mcts_raw.py MCTSConfig.iterations (the per-environment runs read $ITERA; no value shipped)
CHILDREN = 4         # mcts_raw.py MCTSConfig.n_generate_samples (the per-environment runs read $N_GEN)
MAX_DEPTH = 25       # ours: every shipped TextWorld walkthrough (≤ 19 commands) and maze (≤ 16 moves) fits;
                     # mcts_raw.py's generic MCTSConfig.max_depth is 10 (the per-environment runs read $MAX_DEPTH)
BETA = 0.2           # ours [unverified]: path_collection.py reads $BETA ("the distinguishable gap"), no value shipped
ALPHA = 0.5          # ours [unverified]: path_collection.py reads $ALPHA ("the lower bound for high-quality
                     # trajectories"), no value shipped
TEMPERATURE = 1.0    # llm_server.py FuncCallOffline: TEMP, set to 1 when unset; the verifier is the same model call
MAX_TOKENS = 500     # llm_server.py FuncCallOffline: SamplingParams(max_tokens=500)
SEED = 0             # ours: the base of every node's sampling seed when neither `seed` nor the eval's seed is given

PRESETS: dict[str, dict[str, Any]] = {
    "agent-r": {},                                                # the constants above
    "small": {"iterations": 4, "children": 2, "max_depth": 6},   # ours: a local model on one core in minutes
}
DEFAULT_PRESET = "agent-r"
OPTION_SOURCES: dict[str, str] = {
    "c": "mcts_*.py MCTSConfig.coef = 0.25 (UCT: mean + c·√(ln N_parent / n))",
    "iterations": "mcts_raw.py MCTSConfig.iterations = 4; one iteration of ours is one rollout from the node UCT "
                  "descends to (as in mcts_raw.py, where an unvisited child comes first, the first rollouts all "
                  "start at the root until it has its children)",
    "children": "mcts_raw.py MCTSConfig.n_generate_samples = 4 (N_GEN): children per node at most",
    "max_depth": "ours: 25, room for every shipped game's walkthrough; mcts_raw.py MCTSConfig.max_depth = 10",
    "beta": "path_collection.py pair_leaf_paths: value(good) − value(bad) > $BETA; 0.2 is ours [unverified]",
    "alpha": "path_collection.py main: a good path's value must exceed $ALPHA; 0.5 is ours [unverified]",
    "verify": "path_collection.py --revise 1 (default): the actor finds the first bad step; False keeps the whole "
              "bad path",
    "good_samples": "path_collection.py --data_type good: good paths alone (loss on) are samples too",
    "max_pairs": "ours: at most this many pairs (None: all, as path_collection.py)",
    "temperature": "llm_server.py FuncCallOffline: TEMP defaults to 1",
    "max_tokens": "llm_server.py FuncCallOffline: max_tokens=500",
    "seed": "ours: the base of the per-node sampling seeds (default: the eval sample's seed, else 0)",
    "window": "ours: past exchanges the policy sees (None: all; Agent-R drops the oldest past its token limit)",
    "budget_model_calls": "ours: the search's own budget; it stops cleanly and keeps the best path found (the "
                          "judgements after it are bounded only by the run's budget)",
    "budget_usd": "ours: as budget_model_calls, in dollars",
    "budget_seconds": "ours: as budget_model_calls, in wall-clock seconds (read as a journaled clock)",
}
DEVIATIONS: list[str] = [
    "an iteration is one rollout: UCT descends from the root to a node with room for a child, adds one and plays it "
    "to the end (mcts_raw.py expands every node it passes with N_GEN children at once, then descends)",
    "a leaf's value is the reward as a share of the task's maximum score (Agent-R's environments score in [0, 1])",
    "the verifier judges only the bad path's steps after the divergence point (path_collection.py judges from the "
    "root, so a Bad on a shared step would splice a good path that repeats it)",
    "a step that lost the episode ends the bad prefix without a verifier call (path_collection.py asks the "
    "verifier there too and sets a flag it never reads)",
    "a negative step reward marks a disaster only where it ends the episode (mcts_*.py ends the rollout at any "
    "negative reward; our search goes on until the environment or its rules end the episode)",
    "pairs are ordered best good leaf first, worst bad leaf first (path_collection.py shuffles them with seed 123); "
    "each step is judged once per run however many pairs it is in",
    "the revision thought is one of ten of our own, chosen by a hash of the seed and the pair's leaves",
    "each node's request carries its own sampling seed, so siblings can differ with a seeded local model",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, iterations: int = ITERATIONS,
          children: int = CHILDREN, max_depth: int = MAX_DEPTH, c: float = UCT_C, beta: float = BETA,
          alpha: float = ALPHA, verify: bool = True, good_samples: bool = True, max_pairs: int | None = None,
          temperature: float | None = TEMPERATURE, max_tokens: int | None = MAX_TOKENS, seed: int | None = None,
          window: int | None = None, budget_model_calls: int | None = None, budget_usd: float | None = None,
          budget_seconds: float | None = None) -> AgentR:
    """Agent-R on the harness's episode (`episode`, a step environment's); with none, an agent that replays a run
    from its journal. `tools` are not used: the search acts by stepping. `system` replaces the actor's system
    prompt. The `budget_*` options bound the search (it stops cleanly and keeps the best path)."""
    if beta < 0:
        raise ConfigError(f"agent-r: beta (the gap between a good and a bad path's values) must be ≥ 0, got {beta}")
    if max_pairs is not None and max_pairs < 0:
        raise ConfigError(f"agent-r: max_pairs must be ≥ 0, got {max_pairs}")
    if window is not None and window < 1:
        raise ConfigError(f"agent-r: window must be at least 1 (past exchanges the policy sees), got {window}")
    fields = request_fields(sampling, temperature=temperature)
    if max_tokens is not None:
        fields["max_tokens"] = max_tokens
    given = fields.pop("seed", None)
    base_seed = seed if seed is not None else given if given is not None else SEED
    actor = system if system is not None else render(PROMPTS / "system.j2")
    policy = SeededPolicy(model, base_seed=base_seed, system=actor, sampling=fields, window=window)
    transcript = TextPolicy(model, system=actor)  # the whole conversation, whatever the window: the samples'
    limits = Limits(max_iterations=iterations, max_expansions=children, max_depth=max_depth, rollout=True,
                    feedback=False, concurrency=1)
    search = TreeSearch(policy, ScoreShare(), UCT.classic(c), BestFound(), limits,
                        budget(budget_model_calls, budget_usd, budget_seconds))
    driver = step_driver(episode, "agent-r", ACTS_IN)
    return AgentR(model, driver if driver is not None else StepDriver.replaying(), search, transcript,
                  verify_sampling=fields, base_seed=base_seed, beta=beta, alpha=alpha, verify=verify,
                  good_samples=good_samples, max_pairs=max_pairs)
