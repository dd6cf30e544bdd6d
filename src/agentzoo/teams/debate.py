"""Discussion and debate: members speak in turns over a topology until a decision rule ends it.

Three parts, each small and replaceable:

- a **topology** says, per turn, who speaks in which order and who receives each message:
  `AllToAll` (everyone sees everything), `RoundRobin` (each message goes to the next member
  only), `Hub` (a hub drafts for everyone; the others report to the hub) and `Debate` (a
  moderator drafts; the others argue in a ring for some rounds; their last round reaches the
  moderator, who stands as judge of the exchange);
- **members** are anything with `async speak(floor, ctx) -> Reply` (and `vote`, `finalize`,
  `judge` for the rules that ask for them); a member may wrap any agent or team;
- a **decision rule** looks at the discussion after each message (or each turn) and may end it:
  `Consensus` (a share of members stands behind the current solution), `Vote` (plurality,
  approval, ranked or cumulative ballots), `Judge` (one member writes the final answer) and
  `MajorityAnswer` (the most common answer once the turns are over).

The tallies behind the rules (`plurality`, `approval`, `ranked`, `cumulative`, `consensus`) are
pure functions, so each is tested on crafted votes. A `Discussion` is itself an agent (`run(task,
ctx)`), so discussions nest. Every member speaks in its own journal scope (`member#i`, created once,
in order), so cost and calls are attributed per member and concurrent speakers replay
deterministically.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..runtime.context import Context
from .parallel import gather

# --- the records ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """One message of a discussion."""

    id: int
    """Position in the discussion, from 0."""
    turn: int
    """The turn it was said in, from 1."""
    speaker: int
    """Index of the member who said it."""
    name: str
    """The member's name (a persona, a role)."""
    text: str
    """What the member said, in full."""
    solution: str | None
    """The solution it proposes; None when it agrees with the current one (or proposes none)."""
    agrees: bool | None
    """Agreement with the solution the speaker was shown; None for a draft (not asked)."""
    endorses: str | None = None
    """The solution the speaker stands behind after this post: its proposal, or the one it agreed to."""


@dataclass(frozen=True)
class Slot:
    """One speaking slot of a turn."""

    speaker: int
    recipients: tuple[int, ...]
    """Who receives the message (the speaker keeps its own messages only if listed)."""
    draft: bool = False
    """The speaker drafts a solution instead of improving the current one."""


@dataclass(frozen=True)
class Floor:
    """What a member is given when it is its turn to speak."""

    task: str
    turn: int
    member: int
    seen: tuple[Post, ...]
    """Every post this member was sent so far (its own included), oldest first."""
    current: str | None
    """The current solution as this member knows it: from the last draft or disagreeing post it saw."""
    draft: bool


@dataclass(frozen=True)
class Reply:
    """A member's answer to its floor."""

    text: str
    solution: str | None = None
    agrees: bool | None = None


@dataclass(frozen=True)
class Ballot:
    """A request to vote among `candidates` (index = position)."""

    kind: Literal["single", "approval", "ranked", "cumulative"]
    task: str
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    answer: str | None
    decided: bool
    """True when the rule reached a decision; False for a fallback answer."""
    details: dict[str, Any] = field(default_factory=dict)


class Member(Protocol):
    name: str

    async def speak(self, floor: Floor, ctx: Context) -> Reply: ...


# --- pure tallies -----------------------------------------------------------------------------


def plurality(votes: Sequence[int]) -> int | None:
    """The candidate with the most votes; None if there are none or the top is tied."""
    counts = Counter(votes).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def approval(ballots: Sequence[Sequence[int]]) -> int | None:
    """Each ballot approves any number of candidates; most approvals wins, a tie is no decision."""
    return plurality([c for ballot in ballots for c in dict.fromkeys(ballot)])


def ranked(ballots: Sequence[Sequence[int]], voters: int, top: int = 5) -> int | None:
    """Positional scoring: the i-th ranked candidate (from 0) gets `min(top, voters) - i` points
    (MALLM `ranked_voting.py`); the highest score wins, a tie is no decision."""
    scores: Counter[int] = Counter()
    for ballot in ballots:
        for rank, candidate in enumerate(ballot):
            scores[candidate] += min(top, voters) - rank
    return plurality(list(scores.elements())) if scores else None


def cumulative(ballots: Sequence[Mapping[int, int]]) -> int | None:
    """Each ballot spreads points over candidates; the most points wins, a tie is no decision."""
    totals: Counter[int] = Counter()
    for ballot in ballots:
        totals.update({c: p for c, p in ballot.items() if p > 0})
    return plurality(list(totals.elements())) if totals else None


def consensus(latest: Sequence[Post]) -> tuple[str | None, int]:
    """The current solution and how many stand behind it: the newest post that proposes a
    solution, counted with every post after it (those agreed). `latest` holds each member's
    newest post, oldest first (MALLM `ThresholdConsensus.make_decision`)."""
    for behind, post in enumerate(reversed(latest), 1):
        if post.solution:
            return post.solution, behind
    return None, 0


# --- topologies -------------------------------------------------------------------------------


class Topology(Protocol):
    check_each_post: bool
    """Whether the decision rule looks after every message (else after each turn)."""

    def schedule(self, n: int, turn: int) -> list[Slot]: ...


@dataclass(frozen=True)
class AllToAll:
    """Everyone speaks in order and everyone receives every message (MALLM `memory`)."""

    check_each_post: bool = True

    def schedule(self, n: int, turn: int) -> list[Slot]:
        return [Slot(i, tuple(range(n))) for i in range(n)]


@dataclass(frozen=True)
class RoundRobin:
    """Each message goes to its speaker and the next member only (MALLM `relay`: i → i+1 mod n)."""

    check_each_post: bool = True

    def schedule(self, n: int, turn: int) -> list[Slot]:
        return [Slot(i, tuple(dict.fromkeys((i, (i + 1) % n)))) for i in range(n)]


@dataclass(frozen=True)
class Hub:
    """The hub drafts for everyone; each other member's message goes to the hub and itself
    (MALLM `report`)."""

    hub: int = 0
    check_each_post: bool = True

    def schedule(self, n: int, turn: int) -> list[Slot]:
        others = [i for i in range(n) if i != self.hub]
        return [Slot(self.hub, tuple(range(n)), draft=True), *(Slot(i, (self.hub, i)) for i in others)]


@dataclass(frozen=True)
class Debate:
    """The moderator (member 0) drafts for everyone; the others argue in a ring for `rounds`
    rounds (each message to its speaker and the next debater); the last round also reaches the
    moderator. Decided once per turn, after the exchange (MALLM `debate`)."""

    rounds: int = 2
    check_each_post: bool = False

    def schedule(self, n: int, turn: int) -> list[Slot]:
        slots = [Slot(0, tuple(range(n)), draft=True)]
        debaters = list(range(1, n))
        for r in range(self.rounds):
            for k, i in enumerate(debaters):
                ring = (i, debaters[(k + 1) % len(debaters)])
                slots.append(Slot(i, tuple(dict.fromkeys(ring + ((0,) if r == self.rounds - 1 else ())))))
        return slots


# --- the state a rule sees, and the rules -----------------------------------------------------


@dataclass
class State:
    task: str
    turn: int
    max_turns: int
    posts: list[Post]
    members: Sequence[Any]
    contexts: list[Context]
    """Each member's own scope (rules put votes and judgements beneath it)."""
    end_of_turn: bool

    def latest(self) -> list[Post]:
        """Each member's newest post, oldest first."""
        newest: dict[int, Post] = {}
        for post in self.posts:
            newest[post.speaker] = post
        return sorted(newest.values(), key=lambda p: p.id)

    def standing(self) -> list[str | None]:
        """Per member, the solution it stands behind (after its newest post)."""
        out: list[str | None] = [None] * len(self.members)
        for post in self.posts:
            out[post.speaker] = post.endorses
        return out


class Decision(Protocol):
    async def decide(self, state: State, ctx: Context) -> Verdict | None: ...


@dataclass(frozen=True)
class Consensus:
    """Decided when the members standing behind the current solution reach `threshold` of all
    members; all of them must agree while `turn < unanimous_before_turn` or when there are at most
    `unanimous_up_to` members (MALLM `ThresholdConsensus`)."""

    threshold: float = 0.5
    unanimous_before_turn: int | None = None
    unanimous_up_to: int | None = None

    def needed(self, members: int, turn: int) -> float:
        if (self.unanimous_up_to and members <= self.unanimous_up_to) or \
                (self.unanimous_before_turn and turn < self.unanimous_before_turn):
            return 1.0
        return self.threshold

    async def decide(self, state: State, ctx: Context) -> Verdict | None:
        solution, behind = consensus(state.latest())
        if solution is None:
            return None
        n = len(state.members)
        return Verdict(solution, behind / n >= self.needed(n, state.turn), {"agree": behind, "members": n})


MAJORITY = Consensus(0.5)
SUPERMAJORITY = Consensus(0.66)
UNANIMITY = Consensus(1.0)
HYBRID = Consensus(0.75, unanimous_before_turn=5, unanimous_up_to=3)


def _valid(kind: str, ballot: Any, n: int) -> bool:
    try:
        if kind == "single":
            return isinstance(ballot, int) and 0 <= ballot < n
        if kind in ("approval", "ranked"):
            return bool(ballot) and all(isinstance(c, int) and 0 <= c < n for c in ballot) and \
                (kind == "approval" or len(ballot) <= 5)
        return (isinstance(ballot, Mapping) and sum(ballot.values()) == 10 and
                all(0 <= c < n and p >= 0 for c, p in ballot.items()))
    except TypeError:
        return False


async def final_solutions(state: State, finalize: bool) -> list[str]:
    """Every member's standing solution; with `finalize`, as each member restates it (`finalize(task,
    solution, ctx)`, concurrently, each in a `final` scope beneath its own)."""
    standing = [s or "" for s in state.standing()]
    if not finalize:
        return standing
    scopes = [c.child("final") for c in state.contexts]
    return await gather(m.finalize(state.task, s, c) for m, s, c in zip(state.members, standing, scopes))


@dataclass(frozen=True)
class Vote:
    """At the end of every turn from `after_turn` on: each member states its final solution
    (`finalize`, if asked), then every member votes (`vote(ballot, ctx)`) concurrently, each in its
    own scope; an invalid ballot is asked again up to `retries` times, then dropped. A unique
    winner decides; a tie lets the discussion go on (MALLM's voting protocols, `vote_turn=3`)."""

    kind: Literal["single", "approval", "ranked", "cumulative"] = "single"
    after_turn: int = 3
    finalize: bool = True
    retries: int = 10

    async def decide(self, state: State, ctx: Context) -> Verdict | None:
        if not state.end_of_turn or state.turn < self.after_turn:
            return None
        candidates = await final_solutions(state, self.finalize)
        ballot = Ballot(self.kind, state.task, tuple(candidates))
        scopes = [c.child("vote") for c in state.contexts]
        asks = (self._ask(m, ballot, c) for m, c in zip(state.members, scopes))
        ballots = [b for b in await gather(asks) if b is not None]
        tally: Callable[..., int | None] = {"single": plurality, "approval": approval, "cumulative": cumulative,
                                            "ranked": lambda b: ranked(b, len(state.members))}[self.kind]
        winner = tally(ballots)
        details = {"candidates": list(candidates), "ballots": ballots, "winner": winner}
        return Verdict(candidates[winner] if winner is not None else None, winner is not None, details)

    async def _ask(self, member: Any, ballot: Ballot, ctx: Context) -> Any:
        for _ in range(self.retries):
            answer = await member.vote(ballot, ctx)
            if _valid(ballot.kind, answer, len(ballot.candidates)):
                return answer
        return None


@dataclass(frozen=True)
class Judge:
    """At the end of every turn from `after_turn` on, the judge (`judge(task, candidates, ctx)`)
    writes the final answer from every member's standing solution (restated first with
    `finalize`, as for `Vote`); that decides (MALLM `judge`)."""

    judge: Any
    after_turn: int = 3
    finalize: bool = False
    scope: str = "judge"

    async def decide(self, state: State, ctx: Context) -> Verdict | None:
        if not state.end_of_turn or state.turn < self.after_turn:
            return None
        candidates = await final_solutions(state, self.finalize)
        answer = await self.judge.judge(state.task, candidates, ctx.child(self.scope))
        return Verdict(answer, True, {"candidates": candidates})


@dataclass(frozen=True)
class MajorityAnswer:
    """After the last turn (or, with `early`, as soon as every member's answer is the same): the
    most common standing answer under `key`, the earliest member's on a tie (Du et al.'s debate)."""

    key: Callable[[str], Hashable] = str.strip
    early: bool = False

    async def decide(self, state: State, ctx: Context) -> Verdict | None:
        if not state.end_of_turn:
            return None
        standing = [s for s in state.standing() if s]
        keys = [self.key(s) for s in standing]
        if not keys or (state.turn < state.max_turns and not (self.early and len(set(keys)) == 1
                                                            and len(keys) == len(state.members))):
            return None
        best = max(keys, key=lambda k: (keys.count(k), -keys.index(k)))
        return Verdict(standing[keys.index(best)], True, {"answers": keys})


# --- members made of agents ---------------------------------------------------------------------


class AgentMember:
    """Any agent (a team too) as a member: it runs on `render(floor)` in the member's scope; its
    answer is its solution, and it agrees when that answer is the current solution."""

    def __init__(self, agent: Any, *, render: Callable[[Floor], str], name: str | None = None) -> None:
        self.agent, self.render = agent, render
        self.name = name or getattr(agent, "name", "agent")

    async def speak(self, floor: Floor, ctx: Context) -> Reply:
        outcome = await self.agent.run(self.render(floor), ctx)
        text = (outcome if isinstance(outcome, str) or outcome is None else outcome.answer) or ""
        return Reply(text, text, floor.current is not None and text.strip() == floor.current.strip())


# --- the discussion ---------------------------------------------------------------------------


@dataclass
class DiscussionResult:
    answer: str | None
    messages: list[dict[str, Any]]
    steps: int
    posts: list[Post]
    turns: int
    decided: bool
    verdict: Verdict | None
    seen: list[list[int]]
    """Per member, the ids of the posts it was sent, in order."""


class Discussion:
    """Members speak over a topology, turn by turn, until the decision rule decides or
    `max_turns` have passed; then the answer is the rule's, else the newest proposed solution.

    `simultaneous=True` has everyone in a turn speak at once (concurrently, each seeing only
    earlier turns) and decide once per turn, as in Du et al.'s debate; otherwise members speak
    in the topology's order and each sees what reached it before its slot. `scope` names the
    members' journal scopes (`scope#i`).
    """

    def __init__(self, members: Sequence[Any], *, topology: Topology | None = None, decision: Decision | None = None,
                 max_turns: int = 10, simultaneous: bool = False, scope: str = "member",
                 name: str = "discussion") -> None:
        if not members:
            raise ValueError("a discussion needs at least one member")
        self.members, self.name, self.scope = list(members), name, scope
        self.topology = topology or AllToAll()
        self.decision = decision or MAJORITY
        self.max_turns, self.simultaneous = max_turns, simultaneous

    async def run(self, task: str, ctx: Context) -> DiscussionResult:
        n = len(self.members)
        contexts = [ctx.child(self.scope, i) for i in range(n)]
        inbox: list[list[Post]] = [[] for _ in range(n)]
        posts: list[Post] = []
        state = State(task, 0, self.max_turns, posts, self.members, contexts, False)
        verdict: Verdict | None = None
        for turn in range(1, self.max_turns + 1):
            state.turn = turn
            slots = self.topology.schedule(n, turn)
            if self.simultaneous:
                floors = [self._floor(task, turn, s, inbox) for s in slots]
                replies = await gather(self.members[s.speaker].speak(f, contexts[s.speaker])
                                       for s, f in zip(slots, floors))
                for slot, floor, reply in zip(slots, floors, replies):
                    self._post(turn, slot, floor, reply, posts, inbox)
                state.end_of_turn = True
                verdict = await self.decision.decide(state, ctx)
            else:
                for k, slot in enumerate(slots):
                    floor = self._floor(task, turn, slot, inbox)
                    reply = await self.members[slot.speaker].speak(floor, contexts[slot.speaker])
                    self._post(turn, slot, floor, reply, posts, inbox)
                    state.end_of_turn = k == len(slots) - 1
                    if self.topology.check_each_post or state.end_of_turn:
                        verdict = await self.decision.decide(state, ctx)
                        if verdict is not None and verdict.decided:
                            break
            if verdict is not None and verdict.decided:
                break
        if verdict is None or not verdict.decided:
            verdict = Verdict(consensus(state.latest())[0], False, (verdict.details if verdict else {}))
        messages = [{"role": "user", "content": task}] + [
            {"role": "assistant", "name": f"{self.scope}-{p.speaker}", "content": p.text} for p in posts]
        return DiscussionResult(verdict.answer, messages, len(posts), list(posts), state.turn, verdict.decided,
                                verdict, [[p.id for p in box] for box in inbox])

    def _floor(self, task: str, turn: int, slot: Slot, inbox: list[list[Post]]) -> Floor:
        seen = tuple(inbox[slot.speaker])
        current = next((p.solution for p in reversed(seen) if p.solution), None)
        return Floor(task, turn, slot.speaker, seen, current, slot.draft)

    def _post(self, turn: int, slot: Slot, floor: Floor, reply: Reply, posts: list[Post],
              inbox: list[list[Post]]) -> None:
        if slot.draft:
            agrees, solution = None, reply.solution
        else:  # agreeing needs something to agree with: the first word is a proposal
            agrees = bool(reply.agrees) and floor.current is not None and bool(posts)
            solution = None if agrees else reply.solution
        post = Post(len(posts), turn, slot.speaker, getattr(self.members[slot.speaker], "name", str(slot.speaker)),
                    reply.text, solution, agrees, floor.current if agrees else solution)
        posts.append(post)
        for i in slot.recipients:
            inbox[i].append(post)
