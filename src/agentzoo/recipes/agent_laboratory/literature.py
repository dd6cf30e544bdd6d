"""The literature review's tools over a local corpus of abstracts (Agent Laboratory searches arXiv).

The PhD student acts with three commands (ai_lab_repo.py literature_review, tools.py ArxivSearch):
`SUMMARY` (its body a query) lists the best-matching papers' ids, titles and abstracts; `FULL_TEXT` (its body
a paper id) shows a paper whole; `ADD_PAPER` (a paper id on the first line, the student's summary below)
adds it to the review. The phase ends when `num_papers_lit_review` papers are in. The corpus is
`data/abstracts.jsonl` (see `data/SOURCE.md`), ranked by the project's BM25 (`recipes.ioa.ranking`): a pure
function of the shipped data, so a search is not an effect and a replay gets the same lists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ...errors import ConfigError, FormatError
from ..ioa.ranking import BM25, top
from .commands import Command

CORPUS = Path(__file__).parent / "data" / "abstracts.jsonl"
SEARCH_RESULTS = 20   # tools.py ArxivSearch.find_papers_by_str: N=20 results per query
LIT_COMMANDS = ("SUMMARY", "FULL_TEXT", "ADD_PAPER")


@dataclass(frozen=True)
class Paper:
    id: str
    title: str
    abstract: str
    full_text: str


class Corpus:
    """The papers of a JSONL file (`id`, `title`, `abstract`, `full_text` per line) and their BM25 index."""

    def __init__(self, path: str | Path = CORPUS) -> None:
        try:
            records = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
            self.papers = [Paper(str(r["id"]), r["title"], r["abstract"], r["full_text"]) for r in records]
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"agent-laboratory corpus {path}: {exc!r} (one JSON object per line with id, title, "
                              "abstract, full_text)") from None
        self.by_id = {p.id: p for p in self.papers}
        self.index = BM25([f"{p.title} {p.abstract}" for p in self.papers])

    def search(self, query: str, limit: int = SEARCH_RESULTS) -> list[Paper]:
        return [self.papers[i] for i in top(self.index.scores(query), limit, positive_only=True)]

    def paper(self, paper_id: str) -> Paper:
        found = self.by_id.get(paper_id.strip())
        if found is None:
            raise FormatError(f"there is no paper with id {paper_id.strip()!r}; ids come from a SUMMARY search")
        return found


@lru_cache(maxsize=4)
def corpus(path: str = str(CORPUS)) -> Corpus:
    return Corpus(path)


@dataclass(frozen=True)
class Outcome:
    """What one literature command gave: the text the student reads next, and a paper added (id, summary)."""

    text: str
    added: tuple[str, str] | None = None


def perform(command: Command, papers: Corpus, added: dict[str, str], limit: int = SEARCH_RESULTS) -> Outcome:
    """Run one literature command; a `FormatError` (its text goes back to the student) when it cannot be."""
    if command.name == "SUMMARY":
        query = command.body.strip() or " ".join(command.args)
        found = papers.search(query, limit)
        if not found:
            return Outcome(f"No paper matches {query!r}.")
        return Outcome("\n\n".join(f"[{p.id}] {p.title}\n{p.abstract}" for p in found))
    if command.name == "FULL_TEXT":
        paper = papers.paper(command.body.strip() or " ".join(command.args))
        return Outcome(f"[{paper.id}] {paper.title}\n{paper.full_text}")
    if command.name == "ADD_PAPER":
        head, _, summary = command.body.strip().partition("\n")
        paper_id = " ".join(command.args) or head
        summary = summary if command.args == () else command.body
        paper = papers.paper(paper_id)
        if paper.id in added:
            raise FormatError(f"paper {paper.id} is already in the review")
        return Outcome(f"Added paper {paper.id} ({paper.title}).", (paper.id, summary.strip() or paper.abstract))
    raise FormatError(f"the literature review takes {', '.join(LIT_COMMANDS)}, not {command.name}")
