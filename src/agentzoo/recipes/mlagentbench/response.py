"""Reading the research agent's response: its entries, its action and the action's JSON input.

A response holds the entries in order (`ENTRIES`: Reflection, Research Plan and Status, Fact Check, Thought,
Action, Action Input), each `Name:` followed by its text up to the next entry's name; one missing, or an action
that is not one of the tools, is a `FormatError` (the agent re-asks without acting: agent_research.py's retry
loop). The action input is read as a JSON object (the whole text, a fenced block, or the first object in prose;
raw newlines inside strings are accepted, as MLAgentBench's sanitiser makes them acceptable) with exactly the
action's entries; otherwise `ActionInputError`, which the agent turns into an `ActionInputParsingError`
observation without performing the action.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ... import replies
from ...envs.mlagentbench.actions import ActionInputError, action_infos, check_input
from ...errors import FormatError

ENTRIES_FILE = Path(__file__).parent / "prompts" / "entries.yaml"
ENTRIES = ("Reflection", "Research Plan and Status", "Fact Check", "Thought", "Action", "Action Input")
"""agent_research.py `valid_format_entires`: every entry, in this order."""


@lru_cache(maxsize=1)
def entry_descriptions() -> dict[str, str]:
    return {str(k): " ".join(str(v).split()) for k, v in yaml.safe_load(ENTRIES_FILE.read_text("utf-8")).items()}


def parse_entries(text: str | None, entries: tuple[str, ...] = ENTRIES) -> dict[str, str]:
    """Each entry's text (after `Name:`, up to the next entry's name, taken at its last place: a greedy reading,
    as MLAgentBench's pattern reads it). `FormatError` names the entries that are missing."""
    text = text or ""
    pattern = "".join(rf"{re.escape(entry)}:([\s\S]*)" for entry in entries)
    found = re.search(pattern, text)
    if found is None:
        missing = [e for e in entries if f"{e}:" not in text]
        problem = (f"no {', '.join(missing)}" if missing else "the entries are not in the order "
                   + ", ".join(entries))
        raise FormatError(problem)
    return dict(zip(entries, found.groups()))


def read_action(entries: dict[str, str], tools: tuple[str, ...]) -> str:
    """The action named, which must be one of `tools` (every action the agent may take, shown or not)."""
    action = entries["Action"].strip()
    if action not in tools:
        raise FormatError(f"'{action[:60]}' is not one of the tools")
    return action


def parse_action_input(raw: str, action: str) -> dict[str, Any]:
    """The JSON object of `raw` with exactly the entries of `action`; raises `ActionInputError` saying why not."""
    try:
        value: Any = replies.json_object(raw)
    except FormatError as exc:
        try:
            value = json.loads(replies.unfence(raw.strip()).strip(), strict=False)
        except json.JSONDecodeError:
            raise ActionInputError(str(exc)) from None
    return check_input(action, value)


def usage(action: str) -> dict[str, str]:
    return action_infos()[action].usage
