"""MLAgentBench's action set as data, and how one action is written as a step of the workspace episode.

The actions, their inputs and what they return are in `actions.yaml` (names and inputs as MLAgentBench's
`low_level_actions.py` and `high_level_actions.py` have them; the wording is ours). Each has a performer:

- `env`: a step of the workspace episode (`workspace.WorkspaceEpisode`): deterministic given its snapshot
  (the files), so replay, resume and forks need nothing else;
- `model`: made of env steps and model calls (`model_actions.ModelActions`), performed by the agent that
  holds a model (Understand File, Edit Script (AI), Edit Script Segment (AI), Reflection, Retrieval from
  Research Log): MLAgentBench's "high level actions" that call an LLM;
- `internal`: an env step only the model actions take (`Save Edited Script`: the backup and the write of an AI
  edit), never listed to an agent.

One step's text is the action's name on the first line and its input as a JSON object after it:

    Execute Script
    {"script_name": "train.py"}
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ACTIONS_FILE = Path(__file__).parent / "actions.yaml"
PERFORMERS = ("env", "model", "internal")
FINAL_ANSWER = "Final Answer"
SAVE_EDIT = "Save Edited Script"
RESEARCH_LOG = "research_log.log"
"""MLAgentBench keeps the research log as a file of the workspace (high_level_actions.py)."""


@dataclass(frozen=True)
class ActionInfo:
    """One action: its name, what it does, its inputs (name -> what to give), what it returns, who performs it."""

    name: str
    description: str
    usage: dict[str, str]
    returns: str
    performer: str


class ActionInputError(ValueError):
    """An action whose text or input cannot be read; the message says what is wrong, for the agent."""


@lru_cache(maxsize=1)
def action_infos() -> dict[str, ActionInfo]:
    """Every action by name, in MLAgentBench's order."""
    raw = yaml.safe_load(ACTIONS_FILE.read_text(encoding="utf-8"))
    infos = {}
    for item in raw:
        info = ActionInfo(item["name"], " ".join(str(item["description"]).split()),
                          {str(k): str(v) for k, v in item["usage"].items()}, str(item["returns"]), item["performer"])
        assert info.performer in PERFORMERS, info
        infos[info.name] = info
    return infos


def names(*performers: str) -> tuple[str, ...]:
    """The names of the actions of these performers (all but `internal` when none are named)."""
    wanted = performers or ("env", "model")
    return tuple(name for name, info in action_infos().items() if info.performer in wanted)


def action_text(name: str, action_input: dict[str, Any]) -> str:
    """The step text of an action: its name, then its input as JSON."""
    return f"{name}\n{json.dumps(action_input, ensure_ascii=False)}"


def parse_action(text: str) -> tuple[str, dict[str, Any]]:
    """The name and input of a step's text; raises `ActionInputError` saying what is wrong."""
    head, _, rest = (text or "").strip().partition("\n")
    name = head.strip()
    if name not in action_infos():
        raise ActionInputError(f"'{name[:60]}' is not an action; the actions are: {', '.join(names())}")
    try:
        value = json.loads(rest) if rest.strip() else None
    except json.JSONDecodeError as exc:
        raise ActionInputError(f"the input of {name} is not valid JSON ({exc})") from None
    return name, check_input(name, value)


def check_input(name: str, value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object with exactly the action's inputs (as MLAgentBench requires)."""
    usage = action_infos()[name].usage
    if not isinstance(value, dict):
        raise ActionInputError(f"the input of {name} must be a JSON object with the entries {', '.join(usage)}")
    if set(value) != set(usage):
        missing, extra = sorted(set(usage) - set(value)), sorted(set(value) - set(usage))
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unknown {', '.join(extra)}"] if extra
                                                                           else [])
        raise ActionInputError(f"the input of {name} must have the entries {', '.join(usage)} ({'; '.join(parts)})")
    return value
