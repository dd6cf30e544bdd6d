"""Agentic retrieval of synthesised examples for in-context use (Learn-by-interact, PAPERS.md #12 step 5).

    retriever = Retriever.from_rows(rows)                      # or Retriever(items) from a pipeline run
    demos = await retriever.retrieve(observation, task, k=3, model=model, ctx=ctx.child("retrieve"))
    prompt_part = render_demos(demos)

Two ways in, in order:
1. observation-based: an example whose trajectory holds the current observation (the start or any
   observation after a step, compared with spaces collapsed) comes first, the most specific (fewest
   steps) first: the agent is where that example was;
2. model-based: for the places left, the model writes a search query from the task and the observation
   (one call, journaled in `ctx`), and BM25 over each example's instruction and actions ranks the rest.
   Without a model, the task itself is the query.

BM25 is the one IoA's agent registry uses (`agentzoo.recipes.ioa.ranking`), so ranking is a pure function of
the examples and the query: the same examples give the same demos on every run.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ....errors import ConfigError
from ....prompts import render
from ....protocols import Model
from ....recipes.ioa.ranking import BM25, top
from ....runtime.context import Context
from ....types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
_SPACES = re.compile(r"\s+")


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text or "").strip()


@dataclass(frozen=True)
class Example:
    """One synthesised example: an instruction and the steps that carry it out."""

    instruction: str
    start: str
    steps: tuple[dict[str, Any], ...]
    source: dict[str, Any] | None = None
    """Where it came from (a row's provenance), passed through untouched."""

    @property
    def observations(self) -> list[str]:
        return [self.start, *(s.get("result", "") for s in self.steps)]

    @property
    def document(self) -> str:
        return " ".join([self.instruction, *(s.get("action", "") for s in self.steps)])

    def to_json(self) -> dict[str, Any]:
        return {"instruction": self.instruction, "start": self.start, "steps": [dict(s) for s in self.steps],
                "source": self.source}


class Retriever:
    """Examples, searchable by observation and by query."""

    def __init__(self, items: Sequence[dict[str, Any]]) -> None:
        self.examples = [_example(item) for item in items]
        self._observations = [{_norm(o) for o in e.observations if _norm(o)} for e in self.examples]
        self._bm25 = BM25([e.document for e in self.examples])

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]]) -> Retriever:
        """From the pipeline's dataset rows (`rows(items, run_id)`, or its written `rows.jsonl`): each row keeps
        its trajectory in its provenance."""
        items = []
        for row in rows:
            provenance = row.get("provenance") if isinstance(row, dict) else None
            if not isinstance(provenance, dict) or "trajectory" not in provenance:
                raise ConfigError("learn-by-interact retriever: a row without `provenance.trajectory` (not a "
                                  "learn-by-interact row)")
            source = {k: v for k, v in provenance.items() if k != "trajectory"}
            items.append({**provenance["trajectory"], "source": source})
        return cls(items)

    def by_observation(self, observation: str) -> list[int]:
        """The examples whose trajectory holds `observation`, fewest steps first (then in order)."""
        wanted = _norm(observation)
        if not wanted:
            return []
        found = [i for i, seen in enumerate(self._observations) if wanted in seen]
        return sorted(found, key=lambda i: (len(self.examples[i].steps), i))

    def by_query(self, query: str, limit: int, exclude: Sequence[int] = ()) -> list[int]:
        """The examples BM25 ranks best for `query` (sharing at least one word with it), skipping `exclude`."""
        if not self.examples:
            return []
        ranked = top(self._bm25.scores(query), len(self.examples), positive_only=True)
        return [i for i in ranked if i not in set(exclude)][:limit]

    async def retrieve(self, observation: str, task: str, *, k: int = 3, model: Model | None = None,
                       ctx: Context | None = None, max_tokens: int = 32) -> list[Example]:
        """The top `k` examples for an agent at `observation` doing `task`: observation matches first, then
        the examples a model-written query finds (the task as the query when no model is given)."""
        if k < 1:
            raise ConfigError(f"learn-by-interact retriever: k must be at least 1, got {k}")
        chosen = self.by_observation(observation)[:k]
        if len(chosen) < k and self.examples:
            query = task
            if model is not None:
                if ctx is None:
                    raise ConfigError("learn-by-interact retriever: a model-written query needs a context (ctx) "
                                      "so that the call is journaled")
                prompt = render(PROMPTS / "query.j2", task=task, observation=observation)
                response = await ctx.model(model, ModelRequest(messages=[{"role": "user", "content": prompt}],
                                                               max_tokens=max_tokens, temperature=0.0))
                query = f"{task} {response.text or ''}"
            chosen += self.by_query(query, k - len(chosen), exclude=chosen)
        return [self.examples[i] for i in chosen]


def render_demos(demos: Sequence[Example]) -> str:
    """The examples as a block of an agent's prompt (in-context demonstrations)."""
    return render(PROMPTS / "demos.j2", demos=[d.to_json() for d in demos])


def _example(item: dict[str, Any]) -> Example:
    try:
        return Example(str(item["instruction"]), str(item["start"]), tuple(dict(s) for s in item["steps"]),
                       item.get("source"))
    except (KeyError, TypeError) as exc:
        raise ConfigError(f"learn-by-interact retriever: an example needs instruction, start and steps "
                          f"({exc!r})") from None
