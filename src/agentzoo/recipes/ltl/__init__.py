"""LTL-specified agents (`ltl`): an output protocol in temporal logic, kept by the automaton it compiles to.

Crouse et al. 2023, "Formally Specifying the High-Level Behavior of LLM-Based Agents"
(arXiv:2310.08535; PAPERS.md #13): an agent's behaviour is declared as linear temporal logic over
the segments of its output (`Thought`, `Action`, `Observation`, …) rather than programmed; the spec
is compiled into a decoder that only lets the model produce well-formed traces, which also checks
the prompt's examples. The paper re-implements ReAct this way and defines a new agent, PASS
(Plan-Act-Summarize-Solve), which issues several actions at once and summarizes their results.

Here a protocol is a YAML file (`specs/react.yaml`, `specs/pass.yaml`, or a path of your own;
`protocol.py` says the format): segments with a kind (model text, a tool call, the runtime's
observation, the final answer), rules as formulas (`formula.py`), and worked examples.
`automaton.py` compiles the rules to a finite automaton over segment labels; the agent
(`agent.py`) asks it, at every point, which labels may come next:
- a model whose server does constrained decoding (the local llama.cpp provider, or a model that
  declares `constrained_decoding`) gets a GBNF grammar (or a JSON schema) built from the automaton
  (`constrain.py`), so it can only write an allowed next segment;
- any other model's reply is checked, and a reply that breaks the protocol is sent back with what
  was wrong and which segments may begin it, at most `max_retries` times (then `ProtocolBroken`);
- an example whose trace the automaton rejects is a `ConfigError` at load, naming it and the step.
Tool calls and model calls go through the context, so runs replay, resume and fork.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from ..cot import request_fields
from .agent import ProtocolAgent, ProtocolBroken, SegmentError
from .protocol import Protocol, load, load_examples

ANSWER_KINDS = ("number", "text", "code", "tool-calls", "patch")
"""The final segment is the answer, in the form the task asks for; actions are the episode's tool calls."""
MAX_STEPS = 20      # ours: the tool-calling agent's step limit
MAX_RETRIES = 3     # ours: asks after a broken reply before the run fails
TEMPERATURE = 0.0   # ours: greedy, so that runs repeat and replay (the paper's decoding settings are not given)

Constrain = Literal["auto", "grammar", "json", "validate"]
"""How the protocol is kept: `grammar` (GBNF in the request, llama.cpp), `json` (a JSON-schema response
format), `validate` (check and ask again), or `auto`: the best the model's server does."""

PRESETS: dict[str, dict[str, Any]] = {
    "pass": {"spec": "pass"},    # the paper's own agent: Plan, rounds of parallel Actions and a Summary, Solution
    "react": {"spec": "react"},  # ReAct re-specified: Thought, then an Action and its Observation, or the Answer
}
DEFAULT_PRESET = "pass"
OPTION_SOURCES: dict[str, str] = {
    "spec": "paper: the ReAct and PASS agents written as LTL specs (the formulas are ours, from the paper's "
            "description); PASS, the paper's new agent, is the default",
    "constrain": "paper: the spec becomes a constrained decoder; auto gives grammar-constrained decoding to models "
                 "whose server does it and validate-and-retry to the others (ours, for chat APIs)",
    "few_shot": "paper: prompt examples, validated against the spec when loaded",
    "examples": "ours: a YAML file of examples of your own, checked against the spec like the shipped ones",
    "max_steps": "ours: the tool-calling agent's limit of 20 replies",
    "max_retries": "ours: a broken reply is asked for again 3 times before the run fails",
    "temperature": "ours: greedy decoding (the paper does not give its sampling settings)",
}
DEVIATIONS: list[str] = [
    "the shipped specs' formulas are written from the paper's description of ReAct and PASS, not taken from its "
    "figures or code (neither was inspected) [unverified]",
    "the paper constrains one continuous completion token by token; here the unit is a chat reply: grammar mode "
    "constrains a whole reply (text segments one line each there), json mode one segment per reply, and models "
    "without constrained decoding are validated and asked again",
    "PASS's parallel actions are written together in one reply and their observations come back together, but the "
    "tools run one after another in order, so replay and resume need no branch scopes",
    "ReAct ends with an Answer segment rather than a Finish[...] action",
    "the examples are ours (the paper's task prompts for HotpotQA, TriviaQA and GSM8K are not shipped); they go in the "
    "system prompt, and those that use actions are left out when the agent has no tools",
    "without tools the action segments leave the automaton's alphabet: PASS becomes Plan then Solution, ReAct Thought "
    "then Answer",
    "one observation per action is the runtime's rule: the temporal formulas cannot count",
]


def build(model: Any, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, spec: str = "pass", constrain: Constrain = "auto",
          few_shot: bool = True, examples: str | None = None, max_steps: int = MAX_STEPS,
          max_retries: int = MAX_RETRIES, temperature: float | None = TEMPERATURE) -> ProtocolAgent:
    """An agent that follows the protocol `spec` (`pass`, `react`, or a path to a spec file); `examples`
    (a YAML file) replaces the spec's own examples, `few_shot=False` shows none."""
    protocol = load(spec)
    chosen = load_examples(protocol, examples) if examples else protocol.examples
    return ProtocolAgent(model, tools, protocol, system=system,
                         sampling=request_fields(sampling, temperature=temperature), constrain=constrain,
                         examples=chosen if few_shot else (), max_steps=max_steps, max_retries=max_retries)


__all__ = ["ANSWER_KINDS", "DEFAULT_PRESET", "DEVIATIONS", "OPTION_SOURCES", "PRESETS", "Protocol", "ProtocolAgent",
           "ProtocolBroken", "SegmentError", "build", "load"]
