"""The simulated user of a catalogue-search task: rule-based and deterministic.

The user has an information need (a topic descriptor and a few constraints that single out the target
resources), opens with words that are vague, over-specific or outside the terminology, and then reacts to each
dialogue act of the agent the way the cooperative users of Cogni-CISMeF's corpus do (Loisel et al. 2008; the
rules are ours):

- `propose [a | b | ...]` (choices): it picks the option that fits its need (a descriptor on the path to its
  topic, the narrowest; a `field=value` its need holds); if the options are about something its need says
  nothing of, it does not mind and adds the next thing it has not said yet; if none fits a field it cares
  about, it says what it wants instead.
- `reformulate [query]`: it accepts a query that keeps what it has said it needs and names nothing against its
  need; it refuses one that drops or contradicts what it said, saying which.
- `help [examples]`: among the terms offered it recognises the one its topic comes under; else it rephrases
  its topic in words the terminology knows.
- `ask [question]`: it says the next part of its need it has not said; with nothing left, it restates it.
- `show [ids]`: satisfied (the episode ends) when a target is among at most `MAX_SHOWN` resources; otherwise
  it says none fits and adds the next part of its need. `show []` is an empty answer: it asks for more.
Every act is one turn; after `max_turns` turns it leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .catalogue import Catalogue

MAX_SHOWN = 3
"""ours: more resources than this in one answer, and the user asks to narrow them down instead of reading."""

PHRASES: dict[str, dict[str, str]] = {
    "audience": {"patient": "for patients", "professional": "for health professionals", "student": "for students"},
    "type": {"patient leaflet": "a patient leaflet", "clinical guideline": "a clinical guideline",
             "course material": "course material", "video": "a video", "review article": "a review article",
             "faq": "an FAQ"},
    "subheading": {"therapy": "about treatment", "diagnosis": "about diagnosis", "prevention": "about prevention",
                   "epidemiology": "about how common it is", "complications": "about complications"},
    "language": {"fr": "in French", "en": "in English"},
}


def phrase(key: str, value: str) -> str:
    """How the user says a constraint: `audience=patient` -> "for patients"."""
    if key == "since":
        return f"from {value} on"
    return PHRASES.get(key, {}).get(value, f"{key} {value}")


def wish(key: str, value: str) -> str:
    """The constraint as what the user wants: "a video", "something for patients"."""
    return phrase(key, value) if key == "type" else f"something {phrase(key, value)}"


@dataclass
class UserState:
    """What the user has said so far (the need's fields, in order), and its turns."""

    stated: list[str] = field(default_factory=list)
    turns: int = 0


class SimulatedUser:
    """The user of one task (`task_data`: the task record of tasks.json)."""

    def __init__(self, catalogue: Catalogue, task_data: dict[str, Any], state: UserState | None = None) -> None:
        self.catalogue, self.data = catalogue, task_data
        self.need: dict[str, str] = dict(task_data["need"])
        self.topic = self.need["topic"]
        self.state = state or UserState(stated=list(task_data.get("stated", [])))

    # --- what the user wants --------------------------------------------------------------------------------

    def path(self) -> list[str]:
        """Its topic and every broader descriptor: any of them is "about" what it wants."""
        return self.catalogue.ancestors(self.topic)

    def reveal(self) -> str:
        """The next constraint of its need it has not said, said (and now stated); "" when none is left."""
        for key, value in self.need.items():
            if key != "topic" and key not in self.state.stated:
                self.state.stated.append(key)
                return f"I would like {wish(key, value)}."
        return ""

    def restate(self) -> str:
        words = self.catalogue.terms[self.topic]["synonyms"][0]
        parts = [phrase(k, v) for k, v in self.need.items() if k != "topic"]
        return f"I am looking for something on {words}{' ' + ' '.join(parts) if parts else ''}."

    # --- the acts -------------------------------------------------------------------------------------------

    def choose(self, options: list[str]) -> tuple[str, str]:
        """(user act, utterance) for a proposal of choices."""
        fields = [o.partition("=") for o in options]
        topics = [o for o, (_, eq, _) in zip(options, fields) if not eq]
        path = self.path()
        fitting = [(path.index(d), d) for o in topics for d in self.catalogue.map_phrase(o)[0] if d in path]
        if fitting:
            return "choose", f"It is about {min(fitting)[1]}."
        for key, eq, value in fields:
            key, value = key.strip().lower(), value.strip().lower()
            if eq and self.need.get(key) == value:
                self._say(key)
                return "choose", f"{phrase(key, value).capitalize()}, please."
        cared = [key.strip().lower() for key, eq, _ in fields if eq and key.strip().lower() in self.need]
        if cared:
            self._say(cared[0])
            return "refuse", f"None of these; I would like {wish(cared[0], self.need[cared[0]])}."
        if topics and not fields[0][1]:
            return "refuse", f"None of these. {self.restate()}"
        return "indifferent", f"I don't mind. {self.reveal()}".strip()

    def judge(self, descriptors: tuple[str, ...], constraints: tuple[tuple[str, str], ...]) -> tuple[str, str]:
        """(user act, utterance) for a proposed reformulation."""
        path = self.path()
        for d in descriptors:
            if d not in path:
                return "refuse", f"No, that is not my question: {self.restate()}"
        given = dict(constraints)
        for key, value in constraints:
            if key in self.need and key != "since" and self.need[key] != value:
                return "refuse", f"No, I would like {wish(key, self.need[key])}."
        for key in self.state.stated:
            if key in self.need and key not in given:
                return "refuse", f"No, I do need {wish(key, self.need[key])}."
        if not descriptors:
            return "refuse", f"No, that is too broad. {self.restate()}"
        return "accept", "Yes, that is fine."

    def helped(self, text: str) -> tuple[str, str]:
        path = self.path()
        found = [d for d in self.catalogue.map_phrase(text)[0] if d in path]
        if found:
            return "choose", f"It would come under {min(found, key=path.index)}."
        return "reformulate", self.restate()

    def asked(self) -> tuple[str, str]:
        said = self.reveal()
        return ("precise", said) if said else ("reformulate", self.restate())

    def shown(self, ids: list[str]) -> tuple[str, str, bool]:
        """(user act, utterance, satisfied) for resources shown."""
        if not ids:
            return "refuse", "Nothing at all? Please try something else.", False
        if len(ids) > MAX_SHOWN:
            return "refuse", "That is too many to read through; could we narrow it down?", False
        hit = [i for i in ids if i in self.data["target"]]
        if hit:
            return "close", f"Yes, {hit[0]} is what I was looking for. Thank you!", True
        more = self.reveal()
        return "refuse", f"None of these is what I am looking for. {more}".strip(), False

    def _say(self, key: str) -> None:
        if key not in self.state.stated:
            self.state.stated.append(key)
