"""Published systems as recipes: compositions of agents, teams and tools with the paper's constants.

Each recipe is a small module `agentzoo.recipes.<name>` with its prompts as template files beside
it and a `build(model, tools=(), *, system=None, sampling=None, **options) -> Agent`; its
constants (from the paper, checked against its code) are the defaults of `build`. A recipe runs
anywhere an agent runs: `agentzoo run --agent RECIPE`, `agentzoo eval --agent RECIPE`, or
`await agentzoo.run(build_recipe("cot-sc", model), task)`.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Sequence
from typing import Any

from ..errors import ConfigError
from ..protocols import Agent, Model

# name -> module; a module is imported only when its recipe is built.
RECIPES: dict[str, str] = {
    # baselines
    "cot": "agentzoo.recipes.cot",
    "cot-sc": "agentzoo.recipes.cot_sc",
    "self-refine": "agentzoo.recipes.self_refine",
    "reflexion": "agentzoo.recipes.reflexion",
    "llm-debate": "agentzoo.recipes.llm_debate",
    # published systems (numbers are PAPERS.md's)
    "magentic-one": "agentzoo.recipes.magentic_one",          # #34, agentchat stall counting
    "magentic-one-legacy": "agentzoo.recipes.magentic_one_legacy",  # #34, the legacy package's variant
    "metagpt": "agentzoo.recipes.metagpt",                    # #39
    "agentcoder": "agentzoo.recipes.agentcoder",              # #27
    "codecor": "agentzoo.recipes.codecor",                    # #57
    "dylan": "agentzoo.recipes.dylan",                        # #41
    "mallm": "agentzoo.recipes.mallm",                        # #43
    "agentless": "agentzoo.recipes.agentless",                # #24
    "ltl": "agentzoo.recipes.ltl",                            # #13
    "croto": "agentzoo.recipes.croto",                        # #40
    "ioa": "agentzoo.recipes.ioa",                            # #68
    "react-textgame": "agentzoo.recipes.react_textgame",      # ReAct (Yao et al. 2023), its ALFWorld setup
    "webarena-agent": "agentzoo.recipes.webarena_agent",      # #14, the paper's prompt-based agent
    "agentoccam": "agentzoo.recipes.agentoccam",              # #26
    "tree-search": "agentzoo.recipes.tree_search",            # the search engine of agentzoo.search, its parts named
    "swe-search": "agentzoo.recipes.swe_search",              # #51
    "agent-r": "agentzoo.recipes.agent_r",                    # #8, Phase I: MCTS and revision trajectories
    "langgraph-mt": "agentzoo.recipes.langgraph_mt",          # #56, a router over a state graph
    "generative-agents": "agentzoo.recipes.generative_agents",  # #32
    "agenttorch": "agentzoo.recipes.agenttorch",              # #54
    "concordia": "agentzoo.recipes.concordia",                # #58
    "deep-agent": "agentzoo.recipes.deep_agent",              # #17, the hierarchical task DAG
    "pangu-agent": "agentzoo.recipes.pangu_agent",            # #5, reasoning structures as data
    "mlagentbench": "agentzoo.recipes.mlagentbench",          # #37, the research agent
    "installamatic": "agentzoo.recipes.installamatic",        # #18, docs search, install script tried in the sandbox, repairs
    "persona": "agentzoo.recipes.persona",                    # #1, #2
    "proagent": "agentzoo.recipes.proagent",                  # #20, on the kitchen
    "aegis": "agentzoo.recipes.aegis",                        # #9, an FSM over a code agent with reproduction scripts
    "poact": "agentzoo.recipes.poact",                        # #47, policy (stages) and action (tool retrieval, reviewer) controllers
    "core-agent": "agentzoo.recipes.core_agent",              # #33, CORE-Bench's agent: a tool loop, its instructions, the report check
    "proactive-agent": "agentzoo.recipes.proactive_agent",    # #42, propose a task or None at each event
    "mobile-agent-v2": "agentzoo.recipes.mobile_agent_v2",    # #60, decision/memory/reflection/planning on screens
    "multi-branch": "agentzoo.recipes.multi_branch",          # #16, decomposition + k branches (vote or selector)
    "jailjudge": "agentzoo.recipes.jailjudge",                # #10, judges, voters and an inference agent
    "mechagents": "agentzoo.recipes.mechagents",              # #23, a five-member group chat running code in the sandbox
    "cogni-cismef": "agentzoo.recipes.cogni_cismef",          # #7, query refinement by dialogue over a catalogue
    "agentable": "agentzoo.recipes.agentable",                # #29, defect checks (ast + model) over agent code
    "agent-laboratory": "agentzoo.recipes.agent_laboratory",  # #31, a phase machine of research roles and the mle-solver
}


def register_recipe(name: str, module: str) -> None:
    """Make `name` buildable by `build_recipe` (and so runnable by the CLI and the harness)."""
    RECIPES[name] = module


def build_recipe(name: str, model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
                 sampling: dict[str, Any] | None = None, sandbox: dict[str, Any] | None = None,
                 **options: Any) -> Agent:
    """The agent recipe `name` builds, with the paper's constants unless `options` change them.

    `sandbox`: `tier`, `allow_unsafe`, `limits` from the command line, given to the recipes whose
    `build` takes them (those that run code) and left out for the others.
    """
    if name not in RECIPES:
        raise ConfigError(f"unknown recipe {name!r}; known: {', '.join(sorted(RECIPES)) or '(none)'}")
    try:
        module = importlib.import_module(RECIPES[name])
    except ModuleNotFoundError as exc:
        if exc.name != RECIPES[name]:
            raise
        raise ConfigError(f"recipe {name!r} is not built yet in this version") from None
    accepted = inspect.signature(module.build).parameters
    options.update({k: v for k, v in (sandbox or {}).items() if k in accepted and v is not None})
    return module.build(model, tools, system=system, sampling=sampling, **options)
