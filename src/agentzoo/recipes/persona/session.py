"""What the persona recipe is asked: an HPD dialogue session, or chat turns.

HPD's task (PAPERS.md #1; nuochenpku/Harry-Potter-Dialogue-Dataset:README.md): given the dialogue history H,
the scene S and the participants' information P, at a point of the storyline, write the character's response.
A task text that is a JSON object with a `character` is such a session:

    {"character": "Wren Halloway", "at": 2, "position": "Chapter 2, scene 4",
     "scene": "Low tide in the sea-cave ...", "participants": ["Tamsin Rook"],
     "history": [{"speaker": "Tamsin Rook", "text": "There's no bell, Wren."}],
     "instruction": "Write Wren Halloway's next line."}

P is not in the task: the recipe reads the participants' personas and views them at `at` itself, so the
storyline decides what the prompt holds. `instruction` is for agents that do not know the shape (a plain
baseline reads the same JSON); the recipe has its own. A JSON object with `turns` is a chat of several
user turns (`{"turns": ["Hi", "I'm Sam"]}`); any other text is one user turn. Errors name the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ...errors import ConfigError

SESSION_KEYS = ("character", "at", "position", "scene", "participants", "history", "instruction")


@dataclass(frozen=True)
class Line:
    speaker: str
    text: str


@dataclass(frozen=True)
class Session:
    """H, S and who is present (P's names), at storyline point `at`."""

    character: str
    """Who the agent answers as."""
    at: float | str
    """The storyline point: a number or a named point of the character's persona."""
    scene: str
    participants: tuple[str, ...]
    history: tuple[Line, ...]
    position: str | None = None
    """How the story names the point (`Chapter 2, scene 4`), for the prompt."""


def read_task(task: str) -> Session | list[str]:
    """A session, or the user turns of a chat (see the module)."""
    data = _json_object(task)
    if data is None:
        return [task]
    if "turns" in data:
        return _turns(data)
    if "character" in data:
        return session_from_data(data)
    raise ConfigError("task: a JSON task is a session (with 'character', 'at', 'scene', 'participants', 'history') "
                      "or a chat ({'turns': [...]}); this one has neither 'character' nor 'turns'")


def _json_object(task: str) -> dict[str, Any] | None:
    text = task.strip()
    if not text.startswith("{"):
        return None
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None  # text that merely starts with a brace is a chat turn
    return data if isinstance(data, dict) else None


def _turns(data: dict[str, Any]) -> list[str]:
    extra = set(data) - {"turns"}
    if extra:
        raise ConfigError(f"task: field {sorted(extra)[0]!r}: unknown; a chat task has only 'turns'")
    turns = data["turns"]
    if not isinstance(turns, list) or not turns or not all(isinstance(t, str) and t.strip() for t in turns):
        raise ConfigError("task: field 'turns': expected a non-empty list of non-empty texts")
    return list(turns)


def session_from_data(data: dict[str, Any]) -> Session:
    for key in data:
        if key not in SESSION_KEYS:
            raise ConfigError(f"task: field {key!r}: unknown; a session has {', '.join(SESSION_KEYS)}")

    def text(key: str, value: Any, *, optional: bool = False) -> str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"task: field {key!r}: expected non-empty text, got {value!r}"[:200])
        return value.strip()

    character = text("character", data.get("character"))
    at = data.get("at")
    if isinstance(at, bool) or not isinstance(at, (int, float, str)):
        raise ConfigError(f"task: field 'at': the storyline point (a number or a named point) is required, got {at!r}")
    participants = data.get("participants", [])
    if not isinstance(participants, list):
        raise ConfigError("task: field 'participants': expected a list of names")
    names = tuple(text(f"participants[{i}]", p) for i, p in enumerate(participants))
    history = data.get("history", [])
    if not isinstance(history, list):
        raise ConfigError("task: field 'history': expected a list of {speaker, text}")
    lines = []
    for i, line in enumerate(history):
        if not isinstance(line, dict) or set(line) != {"speaker", "text"}:
            raise ConfigError(f"task: field 'history[{i}]': expected {{speaker, text}}, got {line!r}"[:200])
        lines.append(Line(text(f"history[{i}].speaker", line["speaker"]), text(f"history[{i}].text", line["text"])))
    text("instruction", data.get("instruction"), optional=True)
    return Session(character, at, text("scene", data.get("scene")), names, tuple(lines),
                   text("position", data.get("position"), optional=True))
