"""MLAgentBench's research agent (`mlagentbench`, #37): a ReAct-style researcher that keeps a plan, checks its facts,
and acts in a sandboxed ML workspace.

Huang, Vora, Liang, Leskovec 2024, "MLAgentBench: Evaluating Language Agents on Machine Learning
Experimentation" (ICML 2024, arXiv:2310.03302); checked against snap-stanford/MLAgentBench at 5d71205cc2
(`agents/agent_research.py`, `agents/agent.py`, `runner.py`, `high_level_actions.py`). Each response has six
entries, Reflection, Research Plan and Status, Fact Check, Thought, Action and Action Input (JSON); a response
missing one is not acted on and the model is asked again; an input that is not valid JSON gives an
`ActionInputParsingError` observation and performs nothing. Only the last 3 steps are in the prompt; an
observation over 5,000 characters is summarised in 10,000-character blocks; with the research log (`retrieval`)
each step is summarised into `research_log.log` and a summary retrieved from it opens the prompt. The loop is in
`agent.py`, the reading of responses in `response.py`, the prompts in `prompts/`.

It acts in `mlagentbench` (`ACTS_IN`), the workspace environment whose actions it names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import StepDriver, driver_of
from ...errors import ConfigError
from ...protocols import Model
from ..cot import request_fields
from .agent import ResearchAgent, Settings
from .response import ENTRIES, parse_action_input, parse_entries

__all__ = ["ACTS_IN", "ANSWER_KINDS", "ENTRIES", "ResearchAgent", "build", "parse_action_input", "parse_entries"]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the workspace; the submission it leaves is what is scored."""
ACTS_IN = ("mlagentbench",)

MAX_STEPS = 50                      # runner.py --max-steps 50 (the environment's actions)
AGENT_MAX_STEPS = 50                # runner.py --agent-max-steps 50 (steps in the agent's history)
MAX_TIME = 5 * 60 * 60              # runner.py --max-time 5*60*60 seconds
STEPS_IN_CONTEXT = 3                # runner.py --max-steps-in-context 3
OBSERVATION_STEPS_IN_CONTEXT = 3    # runner.py --max-observation-steps-in-context 3
MAX_RETRIES = 5                     # runner.py --max-retries 5
RETRIEVAL = False                   # runner.py --retrieval (store_true: off unless asked)
SUMMARIZE_OVER = 5_000              # agent_research.py: an observation longer than 5,000 characters is summarised
SUMMARY_BLOCK = 10_000              # agent_research.py summarize_observation: blocks of bs = 10,000 characters
EDIT_MAX_TOKENS = 4_000             # runner.py --edit-script-llm-max-tokens 4000
TEMPERATURE = 0.5                   # LLM.py complete_text_claude: temperature=0.5 (the default LLM is claude-v1)
MAX_TOKENS = 2_000                  # LLM.py complete_text_claude: max_tokens_to_sample=2000
HIDDEN = ("Read File", "Write File", "Append File", "Retrieval from Research Log", "Append Summary to Research Log",
          "Edit Script Segment (AI)")
"""agent.py `actions_remove_from_prompt`: still allowed, not listed (Python REPL is not offered here at all)."""
HIDDEN_WITHOUT_RETRIEVAL = ("Reflection",)
"""runner.py: without --retrieval, Reflection is left out of the prompt too."""

PRESETS: dict[str, dict[str, Any]] = {
    "research-agent": {"retrieval": False},  # runner.py defaults: the paper's research agent
    "retrieval": {"retrieval": True},        # runner.py --retrieval: the research log, summaries and Reflection
}
DEFAULT_PRESET = "research-agent"
OPTION_SOURCES: dict[str, str] = {
    "max_steps": "runner.py --max-steps 50 (every action the environment performs, research-log entries included)",
    "agent_max_steps": "runner.py --agent-max-steps 50",
    "max_time": "runner.py --max-time 5*60*60 seconds",
    "steps_in_context": "runner.py --max-steps-in-context 3",
    "observation_steps_in_context": "runner.py --max-observation-steps-in-context 3",
    "max_retries": "runner.py --max-retries 5 (format re-asks; also research-log summary tries)",
    "retrieval": "runner.py --retrieval (off by default): research-log summaries, retrieval, Reflection shown",
    "summarize_over": "agent_research.py: `if len(observation) > 5000`",
    "summary_block": "agent_research.py summarize_observation: bs = 10000",
    "edit_max_tokens": "runner.py --edit-script-llm-max-tokens 4000",
    "temperature": "LLM.py complete_text_claude: temperature=0.5",
    "max_tokens": "LLM.py complete_text_claude: max_tokens_to_sample=2000",
}
DEVIATIONS: list[str] = [
    "a chat model: the whole prompt (instructions, tools, the last steps) is one user message per call; "
    "MLAgentBench sends it as one Claude completion prompt",
    "the model actions (Understand File, Edit Script (AI), Reflection, Retrieval) are performed by the agent with "
    "its model (one model for every role unless roles are given); MLAgentBench runs them inside its environment "
    "with a fast LLM and a separate edit LLM",
    "the action input is read as the first JSON object of the entry (fenced, bare or in prose; raw newlines in "
    "strings allowed); MLAgentBench's last resort, a regular expression between the entry names, is not used",
    "Python REPL and Request Help are not offered; Undo Edit Script's backups are kept in the workspace's state "
    "rather than a visible backup/ folder",
    "the tasks are small scikit-learn datasets whose scripts use the standard library (no GPU, no Kaggle data): "
    "the paper's 13 tasks need GPUs and downloads",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, retrieval: bool = RETRIEVAL,
          max_steps: int = MAX_STEPS, agent_max_steps: int = AGENT_MAX_STEPS,
          max_time: float = MAX_TIME, steps_in_context: int = STEPS_IN_CONTEXT,
          observation_steps_in_context: int = OBSERVATION_STEPS_IN_CONTEXT, max_retries: int = MAX_RETRIES,
          summarize_over: int = SUMMARIZE_OVER, summary_block: int = SUMMARY_BLOCK,
          edit_max_tokens: int | None = EDIT_MAX_TOKENS, temperature: float | None = TEMPERATURE,
          max_tokens: int | None = MAX_TOKENS) -> ResearchAgent:
    """The research agent on the harness's episode (an `mlagentbench` workspace); with none, an agent that
    replays a run from its journal. `tools` and `system` are not used: the agent acts by its responses, and its
    instructions are MLAgentBench's prompt. `retrieval`: the research log (the `retrieval` preset)."""
    for name, value in (("max_steps", max_steps), ("agent_max_steps", agent_max_steps), ("max_retries", max_retries),
                        ("summarize_over", summarize_over), ("summary_block", summary_block)):
        if value < 1:
            raise ConfigError(f"mlagentbench: {name} must be at least 1, got {value}")
    if steps_in_context < 0 or observation_steps_in_context < 0:
        raise ConfigError("mlagentbench: steps_in_context and observation_steps_in_context cannot be negative")
    hidden = HIDDEN + (() if retrieval else HIDDEN_WITHOUT_RETRIEVAL)
    from ...envs.mlagentbench.actions import names

    settings = Settings(max_steps=max_steps, agent_max_steps=agent_max_steps, max_time=float(max_time),
                        steps_in_context=steps_in_context, observation_steps_in_context=observation_steps_in_context,
                        max_retries=max_retries, retrieval=retrieval, summarize_over=summarize_over,
                        summary_block=summary_block, shown_actions=tuple(n for n in names() if n not in hidden),
                        edit_max_tokens=edit_max_tokens)
    fields = request_fields(sampling, temperature=temperature)
    if max_tokens is not None:
        fields.setdefault("max_tokens", max_tokens)
    return ResearchAgent(model, _driver(episode), settings, sampling=fields)


def _driver(episode: Any) -> StepDriver:
    if episode is None:
        return StepDriver.replaying("mlagentbench")
    try:
        return driver_of(episode)
    except TypeError:
        raise ConfigError(f"mlagentbench acts in a workspace step by step: it needs an episode of "
                          f"{', '.join(ACTS_IN)}; the episode of task {episode.task.id!r} ({episode.task.env}) is "
                          "not one") from None
