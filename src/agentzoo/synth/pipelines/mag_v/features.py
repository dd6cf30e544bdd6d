"""MAG-V's trajectory verifier: features that compare a base trajectory with the trajectories of alternate
questions, and a classical classifier over them ("distant supervision": no judge model reads the trajectory).

A trajectory here is the sequence of tool names the assistant called. For a base [A, B, C] and alternates
[A, B, C] and [A, C]: exact match 0.5 (one of two alternates is the same), edit distances 0 and 1.

Features, all deterministic:
- `exact_match`: the fraction of alternates whose trajectory equals the base's;
- `edit_distance`: Levenshtein distance over tool names, per alternate (and divided by the longer length);
- `graph_edit_distance`: per alternate, between the two trajectories as graphs (a node per tool, an edge per
  consecutive call). Nodes are labelled by tool name and unique, so the mapping between graphs is forced and the
  unit-cost graph edit distance is the size of the symmetric differences of the node and edge sets;
- `similarity`: per alternate, the cosine similarity of the final answers, as bag-of-words counts (or as
  embedding vectors when the pipeline is given an embedder).

Classifiers: `rule_verdict` (an alternate agrees when its normalised edit distance is at most `agree_distance`;
the base is likely correct when at least `agree_fraction` of them agree; when all diverge, likely incorrect) or
`Knn` over `vector(features)`, trained from labelled examples (the paper's kNN/XGBoost, here kNN in plain Python).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ....errors import ConfigError

Trajectory = Sequence[str]
VECTOR = ("exact_match", "mean_normalized_edit", "min_normalized_edit", "mean_graph_edit_distance",
          "mean_similarity")
"""The features a classifier reads, in this order."""


def tool_calls(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tool calls (name, arguments) an assistant made in a conversation, in order."""
    calls = []
    for message in messages:
        if message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or []:
            fn = call.get("function", call)
            arguments = fn.get("arguments", {})
            if isinstance(arguments, str):
                try:
                    arguments = json.loads(arguments)
                except ValueError:
                    pass
            calls.append({"name": fn.get("name"), "arguments": arguments})
    return calls


def edit_distance(a: Trajectory, b: Trajectory) -> int:
    """Levenshtein distance between two sequences of tool names (insert, delete, substitute: cost 1)."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def _graph(t: Trajectory) -> tuple[set[str], set[tuple[str, str]]]:
    return set(t), set(zip(t, t[1:]))


def graph_edit_distance(a: Trajectory, b: Trajectory) -> int:
    """Unit-cost edit distance between the trajectories' call graphs (uniquely labelled nodes: exact)."""
    (na, ea), (nb, eb) = _graph(a), _graph(b)
    return len(na ^ nb) + len(ea ^ eb)


def _words(text: str) -> Counter[str]:
    return Counter(re.findall(r"[a-z0-9#]+", text.lower()))


def cosine(u: Sequence[float], v: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(u, v))
    norm = math.sqrt(sum(x * x for x in u)) * math.sqrt(sum(y * y for y in v))
    return dot / norm if norm else 0.0


def text_similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts as bag-of-words counts: 1.0 for the same words, 0.0 for none shared."""
    wa, wb = _words(a), _words(b)
    keys = sorted(set(wa) | set(wb))
    return cosine([wa[k] for k in keys], [wb[k] for k in keys])


def features(base: Trajectory, alternates: Sequence[Trajectory | None], similarities: Sequence[float]) -> dict:
    """The verifier's features of one base trajectory against its alternates' (None: the alternate run gave
    no trajectory, counted as fully divergent)."""
    if not alternates:
        raise ConfigError("MAG-V features need at least one alternate trajectory")
    edits, normalized, geds = [], [], []
    for alt in alternates:
        if alt is None:
            edits.append(len(base))
            normalized.append(1.0)
            geds.append(graph_edit_distance(base, []))
            continue
        d = edit_distance(base, alt)
        edits.append(d)
        normalized.append(round(d / max(len(base), len(alt), 1), 6))
        geds.append(graph_edit_distance(base, alt))
    same = sum(alt is not None and list(alt) == list(base) for alt in alternates)
    sims = [round(s, 6) for s in similarities]
    return {"exact_match": round(same / len(alternates), 6), "edit_distance": edits,
            "normalized_edit": normalized, "graph_edit_distance": geds, "similarity": sims,
            "mean_normalized_edit": round(sum(normalized) / len(normalized), 6),
            "min_normalized_edit": min(normalized),
            "mean_graph_edit_distance": round(sum(geds) / len(geds), 6),
            "mean_similarity": round(sum(sims) / len(sims), 6) if sims else 0.0}


def vector(f: dict) -> list[float]:
    return [float(f[k]) for k in VECTOR]


def rule_verdict(f: dict, *, agree_distance: float, agree_fraction: float) -> bool:
    """Likely correct when enough alternates agree with the base (normalised edit distance within reach)."""
    agreeing = sum(d <= agree_distance for d in f["normalized_edit"])
    return agreeing > 0 and agreeing / len(f["normalized_edit"]) >= agree_fraction


@dataclass(frozen=True)
class Knn:
    """k nearest neighbours (Euclidean over `vector`), majority vote; a tie goes to the nearest neighbour."""

    examples: tuple[tuple[tuple[float, ...], bool], ...]
    k: int = 5

    @classmethod
    def from_file(cls, path: str | Path, k: int) -> Knn:
        """Labelled examples, one JSON object a line: {"features": {...as `features` makes...}, "correct": bool}."""
        examples = []
        try:
            lines = Path(path).read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"MAG-V labels {path}: {exc.strerror}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                examples.append((tuple(vector(row["features"])), bool(row["correct"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"MAG-V labels {path}, line {number}: needs `features` with "
                                  f"{', '.join(VECTOR)} and `correct` ({exc})") from None
        if not examples:
            raise ConfigError(f"MAG-V labels {path}: no labelled examples")
        return cls(tuple(examples), k)

    def predict(self, f: dict) -> bool:
        x = vector(f)
        nearest = sorted(self.examples, key=lambda e: math.dist(x, e[0]))[: self.k]
        votes = sum(1 if label else -1 for _, label in nearest)
        return votes > 0 if votes else nearest[0][1]
