"""The oracle player of agenttorch, on `populations`: every group answers as the scenario's reference behaviour.

The gold (`Populations.oracle`) is the scenario, whose `reference.behaviour` is the rule the reference series
was written under: a value per group (its attribute values' shifts) plus a term for the news. The player reads
the group's traits (`- label: value` lines) and the news figure from the archetype's prompt, and answers the
JSON object the request's schema asks for with the rule's value, so the run re-enacts the reference and lands
within its tolerance.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from ...envs.populations.scenario import parse_scenario
from ...types import ModelRequest
from .gold import Gold, OracleError, not_recognised

Player = Callable[[ModelRequest], Any]
TRAIT = re.compile(r"^- (.+?): (.+)$", re.M)
NEWS = re.compile(r"^News for .+?: last (?:week|month) (-?[0-9.]+)", re.M)


def agenttorch(gold: Gold) -> Player:
    try:  # another environment's gold is not a scenario: the pair is refused before any call, so fail only then
        scenario = parse_scenario(json.loads(gold.reply), "the oracle's gold") if gold.env == "populations" else None
    except ValueError:
        scenario = None
    rule = scenario.reference.behaviour if scenario is not None else None
    names = {attribute.label: name for name, attribute in scenario.attributes.items()} if scenario else {}

    def play(request: ModelRequest) -> Any:
        if rule is None:
            raise OracleError("agenttorch's oracle plays a populations scenario's reference behaviour; this task "
                              f"({gold.env}) has none")
        schema = ((request.response_format or {}).get("json_schema") or {}).get("schema") or {}
        prompt = next((m.get("content") or "" for m in reversed(request.messages)
                       if m.get("role") == "user" and NEWS.search(m.get("content") or "")), "")
        if not prompt or not schema.get("required") or rule is None:
            raise not_recognised("agenttorch", request)
        traits = {names[label]: value for label, value in TRAIT.findall(prompt) if label in names}
        return json.dumps({schema["required"][0]: rule.value(traits, float(NEWS.search(prompt).group(1)))})

    return play
