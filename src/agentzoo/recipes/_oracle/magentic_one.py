"""The oracle player for Magentic-One (both presets), on any environment.

The orchestrator writes a fact sheet and a plan, then progress ledgers: the first names one member
(the Coder for code, which runs the gold function on its asserts in the sandbox; the Assistant for
everything else, which follows the environment's gold path with the episode's tools: tool calls,
messages to a customer, or the answer itself), the next says the request is satisfied; the final
answer is the gold answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ...types import ModelRequest
from .. import magentic_one as _magentic
from .gold import Gold, Marker, last_user, not_recognised, system_of, turns_taken

Player = Callable[[ModelRequest], Any]
CODER, ASSISTANT = "Coder", "Assistant"  # the default team's members


def magentic_one(gold: Gold, recipe: str = "magentic-one") -> Player:
    prompts = _magentic.PROMPTS
    coder, assistant = Marker.of(prompts / "coder.j2"), Marker.of(prompts / "assistant.j2")
    asks = {name: Marker.of(prompts / f"{name}.j2")
            for name in ("facts", "facts_update", "plan", "plan_update", "progress", "retry", "final_answer")}
    member = CODER if gold.kind == "code" else ASSISTANT

    def play(request: ModelRequest) -> Any:
        system, last = system_of(request), last_user(request)
        if coder.found_in(system):
            return _coder(gold, turns_taken(request))
        if assistant.found_in(system):
            return gold.steps[min(turns_taken(request), len(gold.steps) - 1)] if gold.steps else gold.reply
        if asks["facts"].found_in(last) or asks["facts_update"].found_in(last):
            return ("1. GIVEN OR VERIFIED FACTS\n- the request as stated\n2. FACTS TO LOOK UP\n- none\n"
                    "3. FACTS TO DERIVE\n- the answer\n4. EDUCATED GUESSES\n- none")
        if asks["plan"].found_in(last) or asks["plan_update"].found_in(last):
            return f"- {member}: carry out the request and report the result."
        if asks["progress"].found_in(last) or asks["retry"].found_in(last):
            done = any(m.get("name") == member for m in request.messages)
            return _ledger(done, member)
        if asks["final_answer"].found_in(last):
            return gold.reply
        raise not_recognised(recipe, request)

    return play


def _coder(gold: Gold, turn: int) -> str:
    if turn > 0 or not gold.code:
        return "Answer: The function runs and passes every assert I tried."
    tests = "\n".join(gold.tests)
    return (f"Thought: define the function and run its asserts.\nAction:\n```python\n{gold.code}\n\n{tests}\n"
            f"print('all {len(gold.tests)} asserts pass')\n```\nEnd Action")


def _ledger(satisfied: bool, member: str) -> str:
    def field(answer: Any, reason: str) -> dict[str, Any]:
        return {"reason": reason, "answer": answer}

    return json.dumps({
        "is_request_satisfied": field(satisfied, "the member has reported the result" if satisfied
                                      else "no member has worked on it yet"),
        "is_in_loop": field(False, "every step so far was new"),
        "is_progress_being_made": field(True, "we are just starting" if not satisfied else "the work is done"),
        "next_speaker": field(member, "the request is theirs to carry out"),
        "instruction_or_question": field("" if satisfied else "Please carry out the request and report the result.",
                                         "what the member needs"),
    })
