"""The oracle player of Installamatic: a search that ends at once, a summary, and the gold script.

Each request is told by the template of its last user message: a plan (`plan.j2`) gets a sentence, an action
request (`act.j2`) gets `done`, the summary request a line, the script request (`write.j2`) the gold install script
in a bash block. The gold is the environment's (`env.oracle(task, "tool-calling")`: one `act` call submitting the
script). The gold passes its first try, so a repair's requests are never asked; they are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...envs.repo_install.episode import ActionError, parse
from ...types import ModelRequest
from ..installamatic.agent import PROMPTS
from .gold import Gold, Marker, OracleError, not_recognised

Player = Callable[[ModelRequest], Any]


def installamatic(gold: Gold) -> Player:
    plan, act, summary, write = (Marker.of(PROMPTS / f"{name}.j2") for name in ("plan", "act", "summary", "write"))
    scripts = [str(call["arguments"].get("action", "")) for step in gold.steps if isinstance(step, dict)
               for call in step.get("tool_calls") or [] if call.get("name") == "act"]

    def play(request: ModelRequest) -> str:
        users = [m for m in request.messages if m.get("role") in ("user", "system")]
        last = str(users[-1].get("content") or "") if users else ""
        if plan.found_in(last):
            return "I know how this repository is installed; I end the search."
        if act.found_in(last):
            return "done"
        if summary.found_in(last):
            return "Run the repository's documented install steps, then its tests."
        if write.found_in(last):
            return f"```bash\n{_script(scripts, gold.env)}```"
        raise not_recognised("installamatic", request)

    return play


def _script(actions: list[str], env: str) -> str:
    for action in actions:
        try:
            name, script = parse(action)
        except ActionError:  # not this environment's grammar
            continue
        if name == "submit":
            return script
    raise OracleError(f"installamatic: the gold of {env} submits no install script")
