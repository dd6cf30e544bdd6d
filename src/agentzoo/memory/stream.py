"""`MemoryStream`: the long-term associative memory of Generative Agents (Park et al. 2023, §4.1–4.2).

Records go in with the caller's simulated time; importance is scored by a model and embeddings made
by an embedder, both through the context's gateway, so a replayed run makes no model call. Retrieval
ranks by the paper's weighted, min-max-normalised recency + importance + relevance (`scorer=
"generative-agents"`, the default) or by Concordia v1's raw sum (`scorer="concordia-v1"`, see `scoring`)
and marks what it returns as accessed. When the importance of new observations and dialogue adds up to the threshold,
the stream reflects (see `reflection`), writing insights that cite their evidence.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..protocols import Model
from ..runtime.context import Context
from . import scoring
from .hashing import resolve_embedder
from .importance import score_importance
from .records import MemoryRecord, Retrieved, check_kind
from .store import DEFAULT_POOL, MemorySnapshot, MemoryStore

REFLECTION_THRESHOLD = 150
"""Paper §4.2: reflect "when the sum of the importance scores for the latest events perceived by the agents
exceeds a threshold (150 in our implementation)"; the code counts down from `importance_trigger_max = 150`
and fires at ≤ 0, i.e. when the sum reaches 150. We follow the code (≥), which PAPERS.md's protocol test uses."""
TRIGGER_KINDS = ("observation", "dialogue")
"""What counts toward the threshold: the code decrements its counter for perceived events and chats, not for
its own thoughts (plans, reflections)."""
_COUNTER = "importance_since_reflection"
_REFLECTIONS = "reflections"


class MemoryStream:
    """One agent's memory: `add`, `retrieve`, `reflect`, `snapshot` / `restore`."""

    def __init__(self, store: MemoryStore | None = None, *, model: Model | None = None, embedder: Any = None,
                 agent: str = "the agent", weights: scoring.Weights | None = None,
                 decay: float = scoring.RECENCY_DECAY_PER_HOUR, top_k: int = scoring.DEFAULT_TOP_K,
                 reflection_threshold: float | None = REFLECTION_THRESHOLD, scorer: str = scoring.GENERATIVE_AGENTS,
                 use_recency: bool | None = None, use_importance: bool | None = None) -> None:
        if not 0 < decay <= 1:
            raise ConfigError(f"memory recency decay must be in (0, 1], got {decay!r}")
        self.scorer = scoring.check_scorer(scorer)
        """How retrieval ranks: "generative-agents" (weights, decay) or "concordia-v1" (use_recency, use_importance)."""
        if scorer != scoring.CONCORDIA_V1 and (use_recency is not None or use_importance is not None):
            raise ConfigError(f"use_recency / use_importance are options of memory scorer {scoring.CONCORDIA_V1!r}, "
                              f"not {scorer!r} (which weighs its parts with weights=)")
        self.use_recency = scoring.CONCORDIA_DEFAULT_USE_RECENCY if use_recency is None else bool(use_recency)
        self.use_importance = scoring.CONCORDIA_DEFAULT_USE_IMPORTANCE if use_importance is None else bool(use_importance)
        self.store = store if store is not None else MemoryStore()
        self.model = model
        """Scores importance and writes reflections; None: every record's importance must be given."""
        self.embedder = resolve_embedder(embedder)
        self.agent = agent
        self.weights = weights or scoring.Weights()
        self.decay = decay
        self.top_k = top_k
        self.reflection_threshold = reflection_threshold
        """None: never reflect on its own (call `reflect`)."""

    @classmethod
    def open(cls, path: str | Path, *, index: str = "auto", pool: int = DEFAULT_POOL, relevance_bound: str = "index",
             **options: Any) -> MemoryStream:
        """A stream persisted in the SQLite file at `path` (created if missing); `index`, `pool` and
        `relevance_bound` as `MemoryStore` takes them."""
        return cls(MemoryStore(path, index=index, pool=pool, relevance_bound=relevance_bound), **options)

    def __len__(self) -> int:
        return len(self.store)

    @property
    def importance_since_reflection(self) -> float:
        return float(self.store.get_meta(_COUNTER, "0") or 0)

    async def add(self, ctx: Context, kind: str, text: str, *, time: float, importance: float | None = None,
                  evidence: tuple[int, ...] = ()) -> MemoryRecord:
        """Append one record made at simulated `time`; may reflect (see the module doc)."""
        return (await self.add_many(ctx, [(kind, text)], time=time,
                                    importances=None if importance is None else [importance],
                                    evidence=[evidence]))[0]

    async def add_many(self, ctx: Context, items: list[tuple[str, str]], *, time: float,
                       importances: list[float] | None = None,
                       evidence: list[tuple[int, ...]] | None = None) -> list[MemoryRecord]:
        """Append records made at one simulated time, embedded in one call."""
        for kind, text in items:
            check_kind(kind)
            if not isinstance(text, str) or not text.strip():
                raise ConfigError(f"a memory {kind} needs non-empty text, got {text!r}")
        if importances is None:
            if self.model is None:
                raise ConfigError("this memory has no model to score importance: pass importance= or model=")
            importances = [await score_importance(ctx, self.model, text, agent=self.agent) for _, text in items]
        elif len(importances) != len(items):
            raise ConfigError(f"{len(importances)} importances for {len(items)} memory records")
        vectors = await ctx.embed(self.embedder, [text for _, text in items])
        cites = evidence or [()] * len(items)
        records = self.store.add_many([(kind, text, time, float(imp), vec, tuple(ev))
                                       for (kind, text), imp, vec, ev in zip(items, importances, vectors, cites)])
        counted = sum(r.importance for r in records if r.kind in TRIGGER_KINDS)
        if counted:
            self.store.set_meta(_COUNTER, repr(self.importance_since_reflection + counted))
        if self.reflection_due and self.model is not None:
            await self.reflect(ctx, now=time)
        return records

    @property
    def reflection_due(self) -> bool:
        threshold = self.reflection_threshold
        return threshold is not None and self.importance_since_reflection >= threshold

    async def retrieve(self, ctx: Context, query: str, *, now: float, k: int | None = None,
                       kinds: tuple[str, ...] | None = None, touch: bool = True, use_recency: bool | None = None,
                       use_importance: bool | None = None) -> list[Retrieved]:
        """The `k` records that best fit `query` at simulated time `now`, best first; they count as accessed
        at `now` unless `touch=False` (the paper updates last access on every retrieval).

        With scorer "concordia-v1", `use_recency` / `use_importance` override the stream's for this call (as
        Concordia's `retrieve_associative` takes them), and `now` does not enter the score: Concordia measures
        recency from the newest record's time."""
        for kind in kinds or ():
            check_kind(kind)
        if self.scorer != scoring.CONCORDIA_V1 and (use_recency is not None or use_importance is not None):
            raise ConfigError(f"use_recency / use_importance are options of memory scorer {scoring.CONCORDIA_V1!r}, "
                              f"this stream ranks by {self.scorer!r}")
        [vector] = await ctx.embed(self.embedder, [query])
        count = self.top_k if k is None else k
        if self.scorer == scoring.CONCORDIA_V1:
            found = self.store.score_concordia(
                vector, count, kinds=kinds, use_recency=self.use_recency if use_recency is None else use_recency,
                use_importance=self.use_importance if use_importance is None else use_importance)
        else:
            found = self.store.score(vector, now, count, self.weights, self.decay, kinds)
        if touch and found:
            self.store.touch([r.record.id for r in found], now)
        return found

    async def reflect(self, ctx: Context, *, now: float) -> list[MemoryRecord]:
        """Run one reflection now (in a scope of its own) and reset the counter; the new reflection records."""
        from .reflection import reflect

        count = int(self.store.get_meta(_REFLECTIONS, "0") or 0)
        self.store.set_meta(_COUNTER, "0")  # before writing: the insights' own importance must not retrigger
        self.store.set_meta(_REFLECTIONS, str(count + 1))
        return await reflect(self, ctx.child("reflection", count), now=now)

    def snapshot(self) -> MemorySnapshot:
        return self.store.snapshot()

    def restore(self, snapshot: MemorySnapshot) -> MemoryStream:
        """A new stream with this one's settings holding exactly the snapshot's records and state."""
        return MemoryStream(MemoryStore.restore(snapshot), model=self.model, embedder=self.embedder,
                            agent=self.agent, weights=self.weights, decay=self.decay, top_k=self.top_k,
                            reflection_threshold=self.reflection_threshold, scorer=self.scorer,
                            **self._concordia_options())

    def _concordia_options(self) -> dict[str, bool]:
        if self.scorer != scoring.CONCORDIA_V1:
            return {}
        return {"use_recency": self.use_recency, "use_importance": self.use_importance}
