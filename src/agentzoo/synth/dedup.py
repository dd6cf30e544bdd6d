"""Drop duplicate rows: exact ones after normalisation, and near ones by word-shingle Jaccard similarity.

    kept, report = dedup(rows, near=0.8)
    report.exact, report.near       # how many rows were dropped as each
    report.dropped                  # [{"index", "duplicate_of", "how", "similarity"}], indices into `rows`

A row's text is its user and assistant turns (each after its role; an assistant turn's tool calls count,
by name and arguments), so two rows that differ only in the system prompt or in a tool's output are the
same example. A preference row's text is its prompt, chosen and rejected turns together, so two pairs that
differ only in a short rejected reply can be near duplicates. Normalised: case folded, runs of white space
made one space.

- exact: rows whose normalised text is equal.
- near: rows whose sets of word `shingle`-grams have Jaccard similarity ≥ `near`. Candidates come from
  MinHash LSH (the `datasketch` package, `synth` extra), then the true Jaccard of the two shingle sets
  decides, so a row is only ever dropped for a similarity actually measured. LSH can miss a pair
  (a false negative) with a small probability; it never adds one. Defaults: 5-word shingles and
  0.8, the NearDup setting of Lee et al. 2022, "Deduplicating Training Data Makes Language Models
  Better" (MinHash over 5-gram word shingles, Jaccard 0.8); 128 permutations is datasketch's default.

The first row of each group is kept and every later one points to the kept row it duplicates (the earliest
kept row, if several). Deterministic: the same rows give the same result in any process (datasketch's
MinHash hashes with SHA-1 and a fixed seed).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError
from .rows import row_text, validate_rows

SHINGLE = 5  # words per shingle (Lee et al. 2022, NearDup)
NEAR = 0.8  # Jaccard similarity at or above which two rows are near duplicates (Lee et al. 2022)
NUM_PERM = 128  # MinHash permutations (datasketch's default)
TEXT_ROLES = ("user", "assistant")
INSTALL = "pip install 'agentzoo[synth]'"


@dataclass
class DedupReport:
    total: int = 0
    kept: int = 0
    exact: int = 0
    """Rows dropped because their normalised text equals an earlier kept row's."""
    near: int = 0
    """Rows dropped because their shingles are at least `threshold` similar to an earlier kept row's."""
    threshold: float = NEAR
    shingle: int = SHINGLE
    dropped: list[dict[str, Any]] = field(default_factory=list)
    """One entry per dropped row: `index`, `duplicate_of` (the kept row's index), `how` and `similarity`."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self, limit: int = 20) -> str:
        lines = ["| deduplication | rows |", "|---|---:|", f"| in | {self.total} |",
                 f"| exact duplicates dropped | {self.exact} |",
                 f"| near duplicates dropped (Jaccard ≥ {self.threshold:g}, {self.shingle}-word shingles) | {self.near} |",
                 f"| kept | {self.kept} |"]
        if self.dropped:
            lines += ["", "| dropped row | duplicate of | how | similarity |", "|---:|---:|---|---:|"]
            lines += [f"| {d['index']} | {d['duplicate_of']} | {d['how']} | {d['similarity']:.2f} |"
                      for d in self.dropped[:limit]]
            if len(self.dropped) > limit:
                lines.append(f"| … {len(self.dropped) - limit} more | | | |")
        return "\n".join(lines)


def dedup(rows: Iterable[dict[str, Any]], *, near: float = NEAR, shingle: int = SHINGLE) -> tuple[list[dict[str, Any]], DedupReport]:
    """(the rows kept, in order; what was dropped and why). `near=1.0` still drops rows whose shingle sets are
    equal (same words, different punctuation); `near` above 1 turns near deduplication off."""
    if not 0 < near:
        raise ConfigError(f"near: a Jaccard similarity in (0, 1] (or above 1 for exact only), not {near}")
    if shingle < 1:
        raise ConfigError(f"shingle: at least one word, not {shingle}")
    rows = validate_rows(rows)
    texts = [normalise(row_text(r, TEXT_ROLES)) for r in rows]
    report = DedupReport(total=len(rows), threshold=near, shingle=shingle)
    keep = [True] * len(rows)

    first: dict[str, int] = {}  # normalised text digest -> index of the kept row that has it
    for i, text in enumerate(texts):
        key = hashlib.sha256(text.encode()).hexdigest()
        if key in first:
            keep[i] = False
            report.exact += 1
            report.dropped.append({"index": i, "duplicate_of": first[key], "how": "exact", "similarity": 1.0})
        else:
            first[key] = i

    if near <= 1:
        for i, j, similarity in _near_duplicates([i for i in range(len(rows)) if keep[i]], texts, near, shingle):
            keep[i] = False
            report.near += 1
            report.dropped.append({"index": i, "duplicate_of": j, "how": "near", "similarity": round(similarity, 4)})

    report.dropped.sort(key=lambda d: d["index"])
    kept = [r for r, k in zip(rows, keep) if k]
    report.kept = len(kept)
    return kept, report


def normalise(text: str) -> str:
    """Case folded, white space runs made one space, ends trimmed."""
    return " ".join(text.casefold().split())


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """The set of `size`-word windows of a normalised text; a text shorter than that is one shingle."""
    words = re.findall(r"\w+", text)
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[k:k + size]) for k in range(len(words) - size + 1)}


def _near_duplicates(candidates: list[int], texts: list[str], near: float, size: int):
    """(row, kept row it duplicates, similarity) for each later row near an earlier kept one, in row order."""
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        raise ConfigError(f"near-duplicate detection needs datasketch: {INSTALL}") from None
    sets = {i: shingles(texts[i], size) for i in candidates}
    usable = [i for i in candidates if sets[i]]  # a text without words has no shingles (exact dedup saw it)
    hashes = MinHash.bulk([[s.encode() for s in sets[i]] for i in usable], num_perm=NUM_PERM)  # order-free
    lsh = MinHashLSH(threshold=min(near, 1.0), num_perm=NUM_PERM)
    for i, mh in zip(usable, hashes):
        matches = []
        for j in sorted(lsh.query(mh)):  # only kept rows are in the index, so groups point at their first row
            similarity = len(sets[i] & sets[j]) / len(sets[i] | sets[j])
            if similarity >= near:
                matches.append((j, similarity))
        if matches:
            yield i, matches[0][0], matches[0][1]
        else:
            lsh.insert(i, mh)
