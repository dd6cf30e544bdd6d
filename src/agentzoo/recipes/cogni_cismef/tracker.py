"""The dialogue state tracker: what the user wants so far, and what they meant by their last words.

Cogni-CISMeF's agent keeps an information state (it extends GoDiS, after Larsson's issue-based model; Loisel et
al. 2012) in which the user's intention, once recognised, is translated into a query. Ours holds the query's parts
(the topic words and the field constraints in the order the user said them), the reformulation history (every
query run, in order), what the user insisted on (a relaxation refused), which facets they did not mind, the
resources they turned down, the proposal awaiting an answer, and the user's current intention.

The intentions are ours, named after the dialogue phases and acts of the paper's corpus analysis (verbalising
the need, precising or reformulating it, answering a proposal, closing): `INTENTIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INTENTIONS = ("verbalise", "precise", "reformulate", "choose", "accept", "refuse", "indifferent", "close",
              "unknown")
"""The user's intentions the tracker tells apart ("unknown": not understood; the agent asks again, the repair
phase of the corpus)."""
FIELDS = ("subheading", "type", "audience", "language", "since")


@dataclass(frozen=True)
class Reading:
    """What one user utterance was understood to say."""

    intention: str
    topic: str = ""
    """Words naming the health topic ("" when the utterance names none)."""
    constraints: tuple[tuple[str, str], ...] = ()
    """`(field, value)` in the order said."""

    def to_json(self) -> dict[str, Any]:
        return {"intention": self.intention, "topic": self.topic, "constraints": [list(c) for c in self.constraints]}


@dataclass
class DialogueState:
    """The tracker. `apply` folds one reading in; `query` is the catalogue query it stands for."""

    topic: str = ""
    constraints: dict[str, str] = field(default_factory=dict)
    kept: list[str] = field(default_factory=list)
    """Fields the user refused to relax."""
    indifferent: list[str] = field(default_factory=list)
    """Facets the user did not mind (not proposed again)."""
    refused: list[str] = field(default_factory=list)
    """Resources shown and turned down."""
    history: list[str] = field(default_factory=list)
    """Every query run, in order: the reformulation history."""
    intention: str = ""
    intentions: list[str] = field(default_factory=list)
    pending: dict[str, Any] | None = None
    """The proposal awaiting the user's answer: {"act": "propose", "facet": f, "options": [...]},
    {"act": "reformulate", "drop": field} or {"act": "reformulate", "topic": broader}, {"act": "help"}, ..."""
    helped: bool = False
    broadened: list[str] = field(default_factory=list)

    def apply(self, reading: Reading) -> None:
        self.intention = reading.intention
        self.intentions.append(reading.intention)
        pending, self.pending = self.pending, None
        if pending and pending["act"] == "reformulate":
            if reading.intention == "accept":
                if "drop" in pending:
                    self.constraints.pop(pending["drop"], None)
                if "topic" in pending:
                    self.topic = pending["topic"]
            elif reading.intention == "refuse" and "drop" in pending and pending["drop"] not in self.kept:
                self.kept.append(pending["drop"])
        if pending and pending["act"] == "propose" and reading.intention in ("indifferent", "refuse") \
                and pending["facet"] not in self.indifferent:
            self.indifferent.append(pending["facet"])
        if pending and pending["act"] == "show" and reading.intention == "refuse":
            self.refused += [i for i in pending["ids"] if i not in self.refused]
        if reading.topic and reading.intention not in ("accept", "close"):  # a model may misname the intention
            self.topic = reading.topic
        for key, value in reading.constraints:
            self.constraints.pop(key, None)  # re-said: now the latest said
            self.constraints[key] = value

    def query(self, *, without: str | None = None, topic: str | None = None) -> str:
        """The query the state stands for; `without` a field, or with another `topic`."""
        items = [topic if topic is not None else self.topic]
        items += [f"{k}={v}" for k, v in self.constraints.items() if k != without]
        return "; ".join(i for i in items if i)

    def to_json(self) -> dict[str, Any]:
        return {"topic": self.topic, "constraints": dict(self.constraints), "kept": list(self.kept),
                "indifferent": list(self.indifferent), "refused": list(self.refused), "history": list(self.history),
                "intention": self.intention, "intentions": list(self.intentions), "pending": self.pending}
