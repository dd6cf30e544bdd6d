"""A layered agent network: agents × rounds, each node fed by every active node of the round
before, peer ratings as edge weights, agent importance propagated backwards, and an early stop
as soon as enough of a round agree.

The shape of DyLAN (Liu et al., "A Dynamic LLM-Powered Agent Network for Task-Oriented Agent
Collaboration", COLM 2024; SALT-NLP/DyLAN `code/demo/LLMLP.py`, `LLM_Neuron.py`):

- **forward**: round by round, the active agents are activated in a shuffled order. A node is
  shown the replies of the previous round's active nodes (shuffled too) and may rate them; its
  ratings become the weights of its incoming edges (`edge_weights`). Once more than
  `floor(agreement · m)` of the m agents due in a round have answered, each further answer is
  followed by a consensus check: the most common answer wins as soon as its count exceeds
  `floor(agreement · m)`. Only then is the rest of the round asked, so the first
  `floor(agreement · m) + 1` nodes of a round, which are always needed, run concurrently.
  From round `select_from` on (0-based), when there are more than `select_if_more_than` agents,
  a selector (DyLAN's listwise ranker) picks the `top_k` best replies of the previous round and
  only their agents go on. After the last round, the most common answer of the last round wins.
- **backward** (`importance`): in the last round that ran, the nodes whose answer equals the
  reference (by default the network's own answer, as upstream's `backward(res)`; or those a
  `correct(node)` predicate accepts) share 1; every earlier active node gets
  `Σ w(node→succ) · I(succ)` over its successors. Since each active node's incoming weights sum
  to 1, every layer's importances sum to 1 too (0 if no node of the last round is correct). An
  agent's importance is the sum over layers.
- **judges** (optional; DyLAN's network for code generation, upstream `code/HumanEval/CoLLMLP.py`):
  before every round after the first, a layer of judges is activated, each shown the previous
  round's nodes (its ratings weight its edges from them); the agents of the round are then shown
  the judges' nodes instead (their ratings weight their edges from the judges). So a network of
  r rounds has 2r - 1 layers: agents, judges, agents, …; `Node.round`, `layers` and `importance`
  count layers, and the members are the agents, then the judges (`Node.agent` indexes them), so
  the backward pass gives every judge an importance too. `consensus_from` skips the agreement
  check in the first rounds (the code network checks from round 2 on), and `decide` picks the
  final node of the last round (the code network: the code passing the most generated tests)
  instead of the most common answer.

Where this differs from upstream's code (on purpose; each follows the paper):
- upstream activates, from round 3 on, the nodes at the *shuffled positions* named by the ranker
  (`if idx in idx_mask` over `enumerate(loop_indices)`), i.e. random agents; here the agents the
  ranker chose are the ones activated;
- a round with no more than `top_k` nodes is not ranked (upstream's ranker asserts more than 2
  replies and would fail on a 4th round);
- answers that do not parse (None) never form a consensus (upstream counts `None == None`);
- with no correct node in the last round, importances are 0 (upstream divides by zero).
"""

from __future__ import annotations

import math
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..runtime.context import Context
from .parallel import gather


@dataclass(frozen=True)
class Node:
    """One agent's (or judge's) activation in one round."""

    agent: int
    """The member: an agent's index, or (with judges) the number of agents plus the judge's index."""
    round: int
    """The layer, from 0: the round, or with judges 2·round for agents and 2·round - 1 for judges."""
    reply: str
    answer: Any
    """The parsed answer (None when the reply held none)."""
    shown: tuple[int, ...] = ()
    """The agents whose previous-round replies this node was shown, in the order shown."""
    ratings: tuple[int, ...] = ()
    """The ratings it wrote for them, in the order shown (as parsed; may be empty)."""
    weights: tuple[tuple[int, float], ...] = ()
    """Its incoming edge weights: (source agent, weight), summing to 1."""


@dataclass(frozen=True)
class Activation:
    """What an agent returns when activated."""

    reply: str
    answer: Any
    ratings: Sequence[int] = ()


class NodeAgent(Protocol):
    name: str
    """Its journal scope name (`name#i`)."""

    async def activate(self, task: str, shown: Sequence[Node], round: int, ctx: Context) -> Activation:
        """Answer (or, for a judge, judge `shown`) in `round` (from 0); rate the nodes `shown`."""
        ...


class Selector(Protocol):
    async def select(self, task: str, shown: Sequence[Node], k: int, ctx: Context) -> list[int]:
        """Positions (in `shown`) of the `k` best replies."""
        ...


def edge_weights(ratings: Sequence[int], n: int) -> list[float]:
    """Ratings 1-5 → weights: s/5 for 0 < s ≤ 5, 1 above 5, 0 otherwise, normalised to sum 1;
    uniform when they are all 0 or their count is not `n` (upstream `LLMNeuron.activate`)."""
    if len(ratings) != n:
        ratings = [0] * n
    raw = [s / 5 if 0 < s <= 5 else (1.0 if s > 5 else 0.0) for s in ratings]
    total = sum(raw)
    return [w / total for w in raw] if total > 0 else [1 / n] * n


def most_frequent(answers: Sequence[Any], equal: Callable[[Any, Any], bool]) -> tuple[int | None, int]:
    """Position of the first answer with the highest count of equal answers, and that count;
    None answers count for nothing (upstream `utils.most_frequent`)."""
    best, count = None, 0
    for i, a in enumerate(answers):
        if a is None:
            continue
        c = sum(1 for b in answers if b is not None and equal(a, b))
        if c > count:
            best, count = i, c
    return best, count


def importance(layers: Sequence[Sequence[Node]], agents: int, reference: Any,
               equal: Callable[[Any, Any], bool], correct: Callable[[Node], bool] | None = None) -> list[list[float]]:
    """Per layer, per member, the node's importance (0 for inactive nodes); see the module doc.
    The last layer's correct nodes are those `correct` accepts, else those equal to `reference`."""
    scores = [[0.0] * agents for _ in layers]
    last = max((r for r, layer in enumerate(layers) if layer), default=None)
    if last is None:
        return scores
    accepts = correct or (lambda n: n.answer is not None and equal(n.answer, reference))
    right = [n for n in layers[last] if accepts(n)]
    for n in right:
        scores[last][n.agent] = 1 / len(right)
    for r in range(last - 1, -1, -1):
        for succ in layers[r + 1]:
            for source, w in succ.weights:
                scores[r][source] += w * scores[r + 1][succ.agent]
    return scores


@dataclass
class NetworkResult:
    answer: str
    """The reply of the first node (in activation order) holding the winning answer."""
    value: Any
    """The winning answer, parsed."""
    messages: list[dict[str, Any]]
    steps: int
    layers: list[list[Node]]
    """Per layer (a round, or with judges also the judges before a round), its nodes in activation
    order (a round cut short holds fewer; layers never reached are empty)."""
    importance: list[list[float]]
    """[layer][member]: members are the agents, then the judges."""
    agent_importance: list[float]
    """Per member (agents, then judges): the sum over layers."""
    consensus_round: int | None
    """The layer (from 0; without judges, the round) whose consensus stopped the network; None if
    it ran to the end."""
    selections: list[list[int]] = field(default_factory=list)
    """The agents each selection kept."""
    kinds: list[str] = field(default_factory=list)
    """Per layer, `agents` or `judges`."""

    @property
    def stopped_early(self) -> bool:
        return self.consensus_round is not None


Decider = Callable[[str, Sequence[Node], Sequence[Sequence[Node]], Context], Awaitable[Node]]
"""`(task, last round's nodes, all layers, ctx) -> the final node`; `ctx` is the network's own."""


class LayeredNetwork:
    """Agents × `rounds`, early stop on agreement, optional per-round selection, optional judges
    between rounds; see the module doc.

    `equal` compares parsed answers; `seed` fixes the shuffles (else a recorded random seed is
    drawn, so replay shuffles alike); `shuffle=False` keeps agents and replies in index order.
    `reference` (a value, or None for the network's own answer) is what the backward pass counts
    as correct, unless `correct(node)` says. `consensus_from` is the first round (from 0) whose
    agreement stops the network; `decide` picks the final node of the last round.
    """

    def __init__(self, agents: Sequence[NodeAgent], *, rounds: int = 3, agreement: float = 2 / 3,
                 equal: Callable[[Any, Any], bool] = lambda a, b: a == b, selector: Selector | None = None,
                 top_k: int = 2, select_from: int = 2, select_if_more_than: int = 3, shuffle: bool = True,
                 seed: int | None = None, reference: Any = None, selector_scope: str = "ranker",
                 name: str = "network", judges: Sequence[NodeAgent] = (), consensus_from: int = 0,
                 correct: Callable[[Node], bool] | None = None, decide: Decider | None = None) -> None:
        if not agents or rounds < 1:
            raise ValueError("a layered network needs at least one agent and one round")
        self.agents, self.rounds, self.agreement, self.equal = list(agents), rounds, agreement, equal
        self.selector, self.top_k, self.select_from = selector, top_k, select_from
        self.select_if_more_than, self.shuffle, self.seed = select_if_more_than, shuffle, seed
        self.reference, self.selector_scope, self.name = reference, selector_scope, name
        self.judges, self.consensus_from, self.correct, self.decide = list(judges), consensus_from, correct, decide
        self.members: list[NodeAgent] = self.agents + self.judges

    def layer_kinds(self) -> list[str]:
        """`agents`/`judges` per layer: a round, or (with judges) judges then a round after the first."""
        return ["agents"] + (["judges", "agents"] if self.judges else ["agents"]) * (self.rounds - 1)

    async def run(self, task: str, ctx: Context) -> NetworkResult:
        n = len(self.agents)
        rng = random.Random(self.seed if self.seed is not None else await ctx.seed())
        contexts = [ctx.child(a.name, i) for i, a in enumerate(self.members)]
        selector_ctx = ctx.child(self.selector_scope) if self.selector is not None else None
        kinds = self.layer_kinds()
        layers: list[list[Node]] = [[] for _ in kinds]
        selections: list[list[int]] = []
        due = list(range(n))
        prev: list[Node] = []  # the last round's nodes
        winner: Node | None = None
        stopped: int | None = None
        steps = 0
        for r in range(self.rounds):
            if (self.selector is not None and r >= self.select_from and n > self.select_if_more_than
                    and len(prev) > self.top_k):
                shown = self._shuffled(prev, rng)
                picked = await self.selector.select(task, shown, self.top_k, selector_ctx)  # type: ignore[arg-type]
                due = list(dict.fromkeys(shown[p].agent for p in picked if 0 <= p < len(shown)))
                due = due or [node.agent for node in prev]  # nothing usable chosen: all go on
                selections.append(due)
                steps += 1
            elif r:
                due = [node.agent for node in prev]
            here = 2 * r if self.judges else r  # this round's layer
            before = prev
            if r and self.judges:
                shows = [self._shuffled(prev, rng) for _ in self.judges]  # drawn in program order
                judged = await gather(self._activate(task, n + k, r, here - 1, shown, contexts[n + k])
                                      for k, shown in enumerate(shows))
                layers[here - 1].extend(judged)
                steps += len(judged)
                before = layers[here - 1]
            order = self._shuffled(due, rng)
            # the nodes due before any check could stop the round run together (all, in a round
            # whose agreement is not checked)
            needed = min(len(order), math.floor(self.agreement * len(order)) + 1 if r >= self.consensus_from
                         else len(order))
            for start, stop in [(0, needed), *((k, k + 1) for k in range(needed, len(order)))]:
                batch = order[start:stop]
                shows = [self._shuffled(before, rng) for _ in batch]  # drawn in program order
                done = await gather(self._activate(task, a, r, here, shown, contexts[a])
                                    for a, shown in zip(batch, shows))
                layers[here].extend(done)
                steps += len(done)
                if r >= self.consensus_from:
                    winner = self._consensus(layers[here], len(order))
                if winner is not None:
                    stopped = here
                    break
            prev = layers[here]
            if stopped is not None:
                break
        if self.decide is not None:
            winner = await self.decide(task, prev, layers, ctx)
        elif winner is None:
            best, _ = most_frequent([node.answer for node in prev], self.equal)
            winner = prev[best if best is not None else 0]
        reference = self.reference if self.reference is not None else winner.answer
        scores = importance(layers, len(self.members), reference, self.equal, self.correct)
        messages = [{"role": "user", "content": task}] + [
            {"role": "assistant", "name": f"{self.members[node.agent].name}-{node.agent}-r{node.round}",
             "content": node.reply} for layer in layers for node in layer]
        return NetworkResult(winner.reply, winner.answer, messages, steps, layers, scores,
                             [sum(col) for col in zip(*scores)], stopped, selections, kinds)

    def _shuffled(self, items: Sequence[Any], rng: random.Random) -> list[Any]:
        items = list(items)
        if self.shuffle:
            rng.shuffle(items)
        return items

    async def _activate(self, task: str, member: int, r: int, layer: int, shown: Sequence[Node],
                        ctx: Context) -> Node:
        """Activate member `member` in round `r` (from 0); its node goes in layer `layer`."""
        got = await self.members[member].activate(task, shown, r, ctx)
        ratings = tuple(int(s) for s in got.ratings)
        weights = edge_weights(ratings, len(shown)) if shown else []
        return Node(member, layer, got.reply, got.answer, tuple(s.agent for s in shown), ratings,
                    tuple((s.agent, w) for s, w in zip(shown, weights)))

    def _consensus(self, layer: Sequence[Node], due: int) -> Node | None:
        """The node whose answer more than `floor(agreement · due)` nodes of the round share, if any."""
        floor = math.floor(self.agreement * due)
        if len(layer) <= floor:
            return None
        best, count = most_frequent([node.answer for node in layer], self.equal)
        return layer[best] if best is not None and count > floor else None
