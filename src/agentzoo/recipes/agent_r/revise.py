"""Revision trajectories: the actor finds the first bad step of the worse path, and the conversations are spliced.

Agent-R (`path_collection.py`, `revise_worst_path` and `conversation_generation`):
- step-level verification: the actor model judges the bad path's steps one by one ("Judgement: Good / Bad /
  Uncertain"); the first Bad ends the bad prefix. A step that lost the episode (a "disaster") ends it too: the
  environment has already judged it, so the verifier is not asked, and nothing after it is looked at.
- splicing: the bad path up to and including that step with the loss off, one revision turn `Thought: <one of ten
  revision thoughts>` / `Action: wait` with the loss on and its acknowledgement, then the good path from the
  divergence point with the loss on. The good path alone (loss on throughout) is a sample too: Agent-R trains on
  revision trajectories and good ones together.

Each judgement is one model call in its own scope `verify#<node id>`; a node is judged once per run, whatever the
number of pairs it is in (its prompt is the same in all of them).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...search import Node
from ...types import ModelRequest
from .paths import Pair, is_disaster

PROMPTS = Path(__file__).parent / "prompts"
THOUGHTS = PROMPTS / "revision_thoughts.txt"
N_THOUGHTS = 10  # Agent-R conversation_generation: revision_thoughts[random.randint(0, 9)], ten templates
VERDICTS = ("good", "bad", "uncertain")
_JUDGEMENT = re.compile(r"judge?ment\s*:", re.I)
_WORD = re.compile(r"[a-z]+")

Messages = list[dict[str, Any]]


@lru_cache(maxsize=1)
def revision_thoughts() -> tuple[str, ...]:
    """The ten revision thoughts (our own wording), one per line of `prompts/revision_thoughts.txt`."""
    lines = tuple(line.strip() for line in THOUGHTS.read_text(encoding="utf-8").splitlines() if line.strip())
    if len(lines) != N_THOUGHTS:
        raise ConfigError(f"{THOUGHTS}: {N_THOUGHTS} revision thoughts expected, one per line; found {len(lines)}")
    return lines


def pick_thought(seed: int, good: int, bad: int) -> int:
    """The revision thought of a pair, by a hash of the run's seed and the pair's leaf ids: the same pair of the
    same tree gets the same thought in a replay, and the ten are used evenly across pairs."""
    digest = hashlib.sha256(f"{seed}:{good}:{bad}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % N_THOUGHTS


def read_verdict(reply: str | None) -> str:
    """`good`, `bad` or `uncertain` from the word after the reply's last `Judgement:`; `unreadable` when there is
    none (Agent-R counts every judgement that is neither Good nor Uncertain as Bad; so does the walk below)."""
    text = reply or ""
    found = list(_JUDGEMENT.finditer(text))
    if not found:
        return "unreadable"
    word = _WORD.search(text[found[-1].end():].lower())
    if word is None:
        return "unreadable"
    return next((v for v in VERDICTS if word.group().startswith(v)), "unreadable")


@dataclass(frozen=True)
class Judgement:
    node: int
    verdict: str
    """`good`, `bad`, `uncertain`, `unreadable` (taken as bad), or `disaster` (the environment's: no call)."""
    reply: str | None = None

    @property
    def stops(self) -> bool:
        return self.verdict not in ("good", "uncertain")

    def to_json(self) -> dict[str, Any]:
        return {"node": self.node, "verdict": self.verdict, "reply": self.reply}


class Verifier:
    """The actor judging single steps, each node once (`cache`), each call in scope `verify#<node id>`."""

    def __init__(self, model: Model, sampling: dict[str, Any], seed_of: Callable[[str], int]) -> None:
        self.model, self.sampling, self.seed_of = model, sampling, seed_of
        self.cache: dict[int, Judgement] = {}

    async def judge(self, node: Node, task: str, ctx: Context) -> Judgement:
        if node.id in self.cache:
            return self.cache[node.id]
        path = node.path()
        root = path[0]
        assert root.record is not None and node.record is not None
        steps = [{"action": (n.action or "").strip(), "observation": n.record.outcome.observation.text}
                 for n in path[1:-1] if n.record is not None]
        prompt = render(PROMPTS / "verify.j2", task=task, start=root.record.outcome.observation.text, steps=steps,
                        action=(node.action or "").strip(), observation=node.record.outcome.observation.text)
        where = ctx.child("verify", node.id)
        request = ModelRequest(messages=[{"role": "system", "content": render(PROMPTS / "verify_system.j2")},
                                         {"role": "user", "content": prompt}],
                               **{**self.sampling, "seed": self.seed_of(where.scope.path)})
        response = await where.model(self.model, request)
        judgement = Judgement(node.id, read_verdict(response.text), response.text)
        self.cache[node.id] = judgement
        return judgement


async def first_bad(pair: Pair, task: str, verifier: Verifier,
                    ctx: Context) -> tuple[Node | None, str, list[Judgement]]:
    """Walk the bad path's steps after the divergence point: (the step that ends the bad prefix or None when none
    was found, why: `bad` / `disaster` / `leaf`, the judgements made)."""
    made: list[Judgement] = []
    for node in pair.bad_steps():
        if is_disaster(node):
            made.append(Judgement(node.id, "disaster"))
            return node, "disaster", made
        judgement = await verifier.judge(node, task, ctx)
        made.append(judgement)
        if judgement.stops:
            return node, "bad", made
    return None, "leaf", made  # Agent-R keeps the whole bad path when no step is judged Bad


def revision_conversation(messages_of: Callable[[Node], Messages], pair: Pair, bad_end: Node, thought: str) -> Messages:
    """Shared prefix and bad steps to `bad_end` (loss off), the revision turn and its reply, then the good path from
    the divergence point (loss on). `messages_of(node)`: the whole conversation to a node, as the policy saw it."""
    head = len(messages_of(pair.divergence.path()[0]))
    bad = [_loss(m, False) for m in messages_of(bad_end)[head:]]
    good = [_loss(m, True) for m in messages_of(pair.good.node)[head + 2 * pair.divergence.depth:]]
    revision = [{"role": "assistant", "content": render(PROMPTS / "revision.j2", thought=thought), "loss": True},
                {"role": "user", "content": render(PROMPTS / "revision_reply.j2")}]
    return messages_of(pair.divergence.path()[0]) + bad + revision + good


def good_conversation(messages_of: Callable[[Node], Messages], leaf: Node) -> Messages:
    """A good path alone, every reply trained on (Agent-R's `conversation_generation_good`)."""
    return [_loss(m, True) for m in messages_of(leaf)]


def _loss(message: dict[str, Any], loss: bool) -> dict[str, Any]:
    return {**message, "loss": loss} if message.get("role") == "assistant" else dict(message)
