"""The catalogue and its terminology: resources indexed by descriptors, and the boolean search over them.

CISMeF indexes each resource with MeSH descriptors (keywords), subheadings and a resource type, and its search
maps the words of a query onto that terminology (Loisel et al. 2008 name meta-term, keyword, subheading and
resource type). Ours is smaller: one descriptor tree two or three levels deep, each descriptor with lay synonyms
(the words a patient uses), and per resource a subheading, a type, an audience, a language and a year.

A query is items joined by `;` (every item must hold: a boolean AND):
- `field=value` for a field of `FIELDS` (`since=2020` keeps resources from that year on);
- anything else is a topic phrase, mapped onto descriptors by the terminology (a descriptor's name or one of its
  synonyms, longest match first); a descriptor matches its own resources and those of every narrower one (MeSH's
  "explosion"). Words of a phrase the terminology does not know are reported, not searched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ... import _json
from ...errors import ConfigError

DATA = Path(__file__).parent / "data" / "catalogue.json"
FIELDS = ("subheading", "type", "audience", "language", "since")
STOPWORDS = frozenset(
    ["a", "an", "the", "of", "on", "in", "about", "for", "and", "or", "to", "with", "my", "me", "i", "i'm", "im", "is", "are", "be", "some", "something", "anything", "information", "info", "please", "looking", "look", "want", "would", "like", "need", "could", "you", "can", "find", "any", "resource", "resources", "document", "documents", "at", "what", "should", "do", "have", "that", "has", "his", "her", "it", "this"])
_WORD = re.compile(r"[a-z0-9'-]+")


@dataclass(frozen=True)
class Query:
    """A parsed query: descriptors (all must hold), field constraints, and the words no descriptor took."""

    descriptors: tuple[str, ...] = ()
    constraints: tuple[tuple[str, str], ...] = ()
    unknown: tuple[str, ...] = ()

    def text(self) -> str:
        """The query as the catalogue's query language writes it: `keyword(asthma) AND audience(patient)`."""
        parts = [f"keyword({d})" for d in self.descriptors] + [f"{k}({v})" for k, v in self.constraints]
        return " AND ".join(parts) or "(empty query)"


@dataclass(frozen=True)
class Result:
    query: Query
    ids: tuple[str, ...]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


class Catalogue:
    """The resources and the terminology of one catalogue file."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.source: str = data["source"]
        self.terms: dict[str, dict[str, Any]] = data["terms"]
        self.resources: dict[str, dict[str, Any]] = {r["id"]: r for r in data["resources"]}
        self.fields: dict[str, list[str]] = data["fields"]
        self._phrases = sorted(((p.lower(), d) for d, t in self.terms.items() for p in (d, *t["synonyms"])),
                               key=lambda pair: -len(pair[0]))

    # --- the terminology ---------------------------------------------------------------------------------

    def ancestors(self, descriptor: str) -> list[str]:
        """The descriptor and every broader one, narrowest first."""
        chain = []
        while descriptor and descriptor not in chain:
            chain.append(descriptor)
            descriptor = self.terms.get(descriptor, {}).get("broader")
        return chain

    def narrower(self, descriptor: str | None) -> list[str]:
        """The descriptors directly under `descriptor`; with None, the top of the tree (the thematic index)."""
        return sorted(d for d, t in self.terms.items() if t.get("broader") == descriptor)

    def covers(self, descriptor: str, resource: dict[str, Any]) -> bool:
        return any(descriptor in self.ancestors(d) for d in resource["descriptors"])

    def map_phrase(self, phrase: str) -> tuple[list[str], list[str]]:
        """The descriptors a phrase names (longest synonym first) and its content words no descriptor took."""
        text = " " + " ".join(_WORD.findall(phrase.lower())) + " "
        found: list[str] = []
        for words, descriptor in self._phrases:
            if f" {words} " in text:
                if descriptor not in found:
                    found.append(descriptor)
                text = text.replace(f" {words} ", " | ")
        unknown = [w for w in _WORD.findall(text) if w not in STOPWORDS]
        return found, unknown

    # --- queries -------------------------------------------------------------------------------------------

    def parse(self, text: str) -> Query:
        """A query from `field=value; topic phrase; ...`; a bad field or value is a ValueError saying which."""
        descriptors: list[str] = []
        constraints: list[tuple[str, str]] = []
        unknown: list[str] = []
        for item in (part.strip() for part in text.split(";")):
            if not item:
                continue
            key, eq, value = item.partition("=")
            if eq:
                key, value = key.strip().lower(), value.strip().lower()
                if key == "keyword":
                    item = value
                elif key not in FIELDS:
                    raise ValueError(f"unknown field {key!r}; fields: {', '.join(FIELDS)}, or a topic")
                elif key == "since" and not value.isdigit():
                    raise ValueError(f"since= takes a year, got {value!r}")
                elif key != "since" and value not in self.fields[key]:
                    raise ValueError(f"{key} is one of {', '.join(self.fields[key])}; got {value!r}")
                else:
                    constraints.append((key, value))
                    continue
            found, words = self.map_phrase(item)
            descriptors += [d for d in found if d not in descriptors]
            unknown += words
        return Query(tuple(descriptors), tuple(constraints), tuple(unknown))

    def matches(self, query: Query, resource: dict[str, Any]) -> bool:
        if not all(self.covers(d, resource) for d in query.descriptors):
            return False
        for key, value in query.constraints:
            if key == "since":
                if resource["year"] < int(value):
                    return False
            elif resource[key] != value:
                return False
        return True

    def search(self, query: Query) -> Result:
        """The resources matching the query (none when it names no descriptor and no constraint), with the
        counts of each field's values among them and of the descriptors directly under the query's ones."""
        if not query.descriptors and not query.constraints:
            return Result(query, ())
        hits = [r for r in self.resources.values() if self.matches(query, r)]
        facets: dict[str, dict[str, int]] = {}
        under = [n for d in query.descriptors for n in self.narrower(d)]
        for name in under:
            count = sum(1 for r in hits if self.covers(name, r))
            if count:
                facets.setdefault("keyword", {})[name] = count
        for key in ("audience", "subheading", "type", "language"):
            for r in hits:
                facets.setdefault(key, {})
                facets[key][r[key]] = facets[key].get(r[key], 0) + 1
        return Result(query, tuple(r["id"] for r in hits), facets)

    def line(self, rid: str) -> str:
        r = self.resources[rid]
        return f"{rid} | {r['title']} | {r['type']} | {r['audience']} | {r['language']} | {r['year']}"


@lru_cache(maxsize=4)
def load(path: str = str(DATA)) -> Catalogue:
    try:
        return Catalogue(_json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a catalogue-search catalogue ({exc})") from None
