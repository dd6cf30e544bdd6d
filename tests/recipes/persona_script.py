"""A scripted model for persona-sessions: it says the reference reply of the session whose scene the request holds.

`agentzoo eval --env persona-sessions --agent persona,cot --model scripted:tests/recipes/persona_script.py:play`.
It recognises the session by its scene text anywhere in the request, so it plays any agent that shows the
model the scene (the persona recipe in its system prompt, a plain baseline in the task JSON).
"""

from __future__ import annotations

import json
from functools import lru_cache

from agentzoo.envs.persona_sessions import PersonaSessions


@lru_cache(maxsize=1)
def _sessions():
    return PersonaSessions().sessions


def play(request) -> str:
    text = json.dumps(request.messages, ensure_ascii=False)
    for session in _sessions():
        if json.dumps(session["scene"], ensure_ascii=False)[1:-1] in text:
            return session["reference"]
    raise AssertionError("no persona-sessions scene in the request")
