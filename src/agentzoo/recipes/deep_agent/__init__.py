"""Deep Agent (`deep-agent`): a hierarchical task DAG, planned by a model and carried out by tool-using executors.

Yu et al. 2025, "Autonomous Deep Agent" (arXiv:2502.07056; PAPERS.md #17), a technical brief with no code
released: the Hierarchical Task DAG (HTDAG) decomposes a goal into sub-tasks with dependencies, a recursive
two-stage planner-executor refines them as things change, a failure is contained in its part of the graph,
and a Prompt Tweaking Engine with Autonomous Prompt Feedback Learning adapts the prompts [paper]. Here:

- the **planner** (`plan` scope) is a model asked for a strict-JSON plan by the recipe's own prompts
  (`prompts/plan.j2`, which show the environment's tools); the scheduler is `teams.task_dag.TaskDAG`:
  every node whose parents are all done runs, ready nodes together, in scopes `node:<id>`;
- the **executor** of a node (`node:<id>/executor`) is a tool-calling agent on the environment's tools; it
  replies with the node's result, or splits the node into a sub-DAG (dynamic expansion, down to
  `max_depth` levels), or says it failed (`executor.py`);
- a **failed node** (given up, out of steps, a split that cannot be read) has its subtree, and only its
  subtree, planned again (`node:<id>/replan`, `prompts/replan.j2`), at most `max_replans` times;
- a **finish** step (`finish`) writes the answer from the results, in the form the task asks for;
- the **prompt-version store** (`versions.py`) picks a tweak of the planner's and the executor's prompt
  from the outcomes it has seen (a node done or failed, a plan that held or not), journaled, optionally
  kept in a file across runs (`prompt_store`).

It acts in `m3tooleval` and `gsm8k` (`ACTS_IN`). M3ToolEval's tasks are chains of tool calls whose goal is
known at the start (decode, then reverse, then measure…), the shape a DAG of tool-using sub-tasks is for;
GSM8K's word problems split into dependent calculations (no tools: each executor works its step out in
writing). tau-retail is left out: there the user reveals what they want turn by turn, so a plan made from
the first message is the wrong shape, and its executors would have to share one conversation.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...protocols import Model
from ...teams import task_dag
from ...tools import ToolSet
from ..cot import request_fields
from .agent import DeepAgent
from .executor import DeepExecutor, read_outcome
from .versions import PromptStore

__all__ = ["ACTS_IN", "ANSWER_KINDS", "DeepAgent", "DeepExecutor", "PromptStore", "build", "read_outcome"]

ANSWER_KINDS = ("number", "tool-calls")
"""GSM8K's final number, and M3ToolEval's answer reached through its tools."""
ACTS_IN = ("gsm8k", "m3tooleval")
MAX_REPLANS = task_dag.MAX_REPLANS    # ours (teams.task_dag): the paper gives no number
MAX_NODES = task_dag.MAX_NODES        # ours (teams.task_dag)
MAX_DEPTH = task_dag.MAX_DEPTH        # ours (teams.task_dag): levels of expansion below the first plan
MAX_SUBTASKS = 8                      # ours (teams.task_dag.ModelPlanner's default)
NODE_STEPS = 8                        # ours: replies of one node's executor before the node fails

PRESETS: dict[str, dict[str, Any]] = {
    "htdag": {},                                  # the whole system as described: expansion, re-planning, learning
    "fixed-prompts": {"prompt_learning": False},  # without the prompt-version store: the base prompts only
    "flat": {"max_depth": 0},                     # one level: the executor may not split its node
}
DEFAULT_PRESET = "htdag"
OPTION_SOURCES: dict[str, str] = {
    "max_replans": "ours (teams.task_dag.MAX_REPLANS): the paper re-plans a failed part of the graph, with no limit "
                   "given",
    "max_nodes": "ours (teams.task_dag.MAX_NODES): a bound on the whole graph, expansions and re-plans included",
    "max_depth": "paper: the executor may decompose a sub-task again (recursive planner-executor); the bound of 3 "
                 "levels is ours (teams.task_dag.MAX_DEPTH)",
    "max_subtasks": "ours: sub-tasks per plan, re-plan or split",
    "node_steps": "ours: replies of one node's tool-calling executor before the node counts as failed",
    "prompt_learning": "paper: Prompt Tweaking Engine and Autonomous Prompt Feedback Learning; here a choice among "
                       "shipped prompt tweaks by their recorded success (versions.py)",
    "prompt_store": "ours: a JSON-lines file the prompt-version store keeps its outcomes in across runs (none: the "
                    "store lives as long as the agent)",
}
DEVIATIONS: list[str] = [
    "the brief gives no prompts, constants or code: the plan, re-plan, executor and finish prompts and every limit "
    "are ours",
    "Autonomous API & Tool Creation (AATC) is not built: it turns recorded UI interactions (a browser or desktop "
    "app) into reusable APIs, and needs that UI and a procedure the brief does not describe; the executors use the "
    "environment's tools as they are",
    "the Prompt Tweaking Engine rewrites a prompt for its scenario with a model; here the versions are a few "
    "shipped tweaks per role (planner, executor), and feedback learning is choosing among them by smoothed "
    "success rate, per run or, with prompt_store, across runs",
    "user context and run-time user intervention in the graph (the brief's service layer) are left out: the "
    "harness gives one task and no user",
    "the brief's test-time validation of results is left to the executor's own reply: a node fails only when its "
    "executor says so, runs out of steps, or errs",
    "nodes of one wave run concurrently on the same episode: on M3ToolEval's web domain, sub-tasks that browse at "
    "the same time share one browser",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, max_replans: int = MAX_REPLANS, max_nodes: int = MAX_NODES,
          max_depth: int = MAX_DEPTH, max_subtasks: int = MAX_SUBTASKS, node_steps: int = NODE_STEPS,
          prompt_learning: bool = True, prompt_store: str | None = None) -> DeepAgent:
    """Deep Agent's HTDAG over `tools` (the environment's); `system` is the executors' system prompt."""
    for label, value, low in (("max_replans", max_replans, 0), ("max_nodes", max_nodes, 1), ("max_depth", max_depth, 0),
                              ("max_subtasks", max_subtasks, 1), ("node_steps", node_steps, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"deep-agent: {label} must be a whole number ≥ {low}, got {value!r}")
    if prompt_store is not None and not prompt_learning:
        raise ConfigError("deep-agent: prompt_store keeps the prompt versions' outcomes; it needs prompt_learning")
    store = PromptStore(Path(prompt_store) if prompt_store else None) if prompt_learning else None
    toolset = tools if isinstance(tools, ToolSet) else ToolSet(tools)
    return DeepAgent(model, toolset, system=system, sampling=request_fields(sampling), store=store,
                     max_replans=max_replans, max_nodes=max_nodes, max_depth=max_depth, max_subtasks=max_subtasks,
                     node_steps=node_steps)
