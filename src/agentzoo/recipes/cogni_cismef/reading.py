"""Understanding the user's words: a lexicon of rules (the paper's way), or a model asked for a strict reading.

The rules are a small lexicon of the catalogue's fields (how people say an audience, a resource type, a
subheading, a language, a year) and of the cues of each intention (a reply opening with "yes" accepts; "none
of these" refuses; "I don't mind" is indifferent). What is left once they are taken out is the topic, which the
catalogue's own terminology maps onto descriptors when the agent searches. Cogni-CISMeF's semantic analysis was
lexicon-based too (its authors note it "needs a bigger lexicon", Loisel et al. 2012).

The model reader asks for one JSON object (intention, topic, constraints) with a strict schema; a reply that is
not such an object, or names no known intention, is read as "unknown" (the agent asks the user to rephrase).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import FormatError
from ...prompts import render
from ...protocols import Model
from ...replies import json_format, json_object, object_schema
from ...runtime.context import Context
from ...types import ModelRequest
from .tracker import FIELDS, INTENTIONS, Reading

PROMPTS = Path(__file__).parent / "prompts"

VALUES: dict[str, dict[str, str]] = {
    # field -> {words: value}; matched longest first, whole words
    "type": {"patient leaflet": "patient leaflet", "leaflet": "patient leaflet", "clinical guideline":
             "clinical guideline", "guideline": "clinical guideline", "recommendations": "clinical guideline",
             "course material": "course material", "course": "course material", "lecture notes": "course material",
             "video": "video", "review article": "review article", "review": "review article", "faq": "faq",
             "questions and answers": "faq"},
    "audience": {"for patients": "patient", "patients": "patient", "patient": "patient",
                 "health professionals": "professional", "professionals": "professional",
                 "professional": "professional", "doctors": "professional", "students": "student",
                 "student": "student"},
    "subheading": {"treatment": "therapy", "treating": "therapy", "therapy": "therapy", "diagnosis": "diagnosis",
                   "diagnosing": "diagnosis", "prevention": "prevention", "preventing": "prevention",
                   "how common it is": "epidemiology", "how common": "epidemiology", "epidemiology": "epidemiology",
                   "complications": "complications"},
    "language": {"in french": "fr", "french": "fr", "in english": "en", "english": "en"},
}
_LEXICON = sorted(((words, key, value) for key, table in VALUES.items() for words, value in table.items()),
                  key=lambda item: -len(item[0]))
_SINCE = re.compile(r"\b(?:from|since|after)\s+(\d{4})(?:\s+on(?:wards)?)?\b")
CUES: tuple[tuple[str, str], ...] = (
    # (pattern at the start of the utterance or anywhere, intention), checked in order
    (r"\bthank you\b|\bwhat i was looking for\b", "close"),
    (r"^(?:yes|ok|okay|sure|that is fine|fine)\b", "accept"),
    (r"^(?:no|none of (?:these|those)|nothing at all|that is too many|not that)\b", "refuse"),
    (r"^(?:i don't mind|i do not mind|either|whatever|any of them)\b", "indifferent"),
)
FILLER = re.compile(
    r"\b(?:it is about|it would come under|i would like something|i am looking for something on|i am looking for|"
    r"i'm looking for|i would like|i need|that is not my question|something on|something|please|a|an|the|on|of|"
    r"about|for|in|with|anything|do you have|information|documents?|is what|looking for|i do need|i am|i|"
    r"would like|no|yes|none of these|none of those)\b")


def read_rules(text: str, pending: dict[str, Any] | None = None) -> Reading:
    """The rules' reading of an utterance; `pending` (the proposal it answers) tells a choice from a new need."""
    said = " ".join(text.lower().replace("’", "'").split())
    intention, rest = "", said
    for pattern, name in CUES:
        if re.search(pattern, said):
            intention, rest = name, re.sub(pattern, " ", said, count=1)
            break
    rest = " " + re.sub(r"[.,;:!?()]", " ", rest) + " "
    found: list[tuple[int, str, str]] = []
    for year in _SINCE.finditer(rest):
        found.append((year.start(), "since", year.group(1)))
    rest = _SINCE.sub(" ", rest)
    for words, key, value in _LEXICON:
        at = rest.find(f" {words} ")
        if at >= 0 and key not in {k for _, k, _ in found}:
            found.append((at, key, value))
            rest = rest.replace(f" {words} ", " " * (len(words) + 2), 1)
    if intention in ("close", "accept"):
        return Reading(intention)
    topic = " ".join(FILLER.sub(" ", rest).split())
    constraints = tuple((k, v) for _, k, v in sorted(found))
    if not intention:
        if pending and pending.get("act") in ("propose", "help") and (topic or constraints):
            intention = "choose"
        elif topic:
            intention = "reformulate" if pending else "verbalise"
        else:
            intention = "precise" if constraints else "unknown"
    return Reading(intention, topic, constraints)


SCHEMA = object_schema({
    "intention": {"type": "string", "enum": list(INTENTIONS)},
    "topic": {"type": "string"},
    "constraints": object_schema({key: {"type": "string"} for key in FIELDS}),
})


class ModelReader:
    """Reads an utterance with a model: one journaled call, a strict JSON reading back."""

    def __init__(self, model: Model, sampling: dict[str, Any]) -> None:
        self.model, self.sampling = model, sampling
        self.system = render(PROMPTS / "understand_system.j2", intentions=INTENTIONS, values=VALUES)
        self.failures = 0

    async def read(self, text: str, last_act: str, ctx: Context) -> Reading:
        messages = [{"role": "system", "content": self.system},
                    {"role": "user", "content": render(PROMPTS / "understand.j2", utterance=text, last_act=last_act)}]
        ctx.step()
        request = ModelRequest(messages=messages, response_format=json_format(SCHEMA, "reading"), **self.sampling)
        response = await ctx.model(self.model, request)
        try:
            return parse_reading(json_object(response.text))
        except FormatError:
            self.failures += 1
            return Reading("unknown")


def parse_reading(data: dict[str, Any]) -> Reading:
    """A model's JSON reading; a value outside the catalogue's fields is dropped, an unknown intention is a
    FormatError."""
    intention = str(data.get("intention", "")).strip().lower()
    if intention not in INTENTIONS:
        raise FormatError(f"intention must be one of {', '.join(INTENTIONS)}, got {intention!r}")
    allowed = {key: set(table.values()) for key, table in VALUES.items()}
    raw = data.get("constraints") or {}
    constraints = []
    for key in FIELDS:
        value = str(raw.get(key, "") if isinstance(raw, dict) else "").strip().lower()
        if value and (value in allowed.get(key, ()) or (key == "since" and value.isdigit() and len(value) == 4)):
            constraints.append((key, value))
    topic = data.get("topic")
    return Reading(intention, topic.strip() if isinstance(topic, str) else "", tuple(constraints))
