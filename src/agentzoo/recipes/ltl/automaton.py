"""A protocol's formulas compiled to a deterministic finite automaton over segment labels.

Compilation is by progression (Bacchus & Kabanza's formula progression, on finite traces): a
state is what the rest of the trace still has to satisfy, and reading one segment label rewrites
it. Each obligation is kept as a term that says whether a next segment must exist (`X`, strong)
or may be missing (`WX`, weak), so a state accepts the end of the trace when one of its
alternatives holds only weak terms. States are sets of alternatives (disjunctive normal form,
minimal under inclusion) of terms over subformulas of the spec, so there are finitely many and
equal obligations meet in one state; reachable states are built breadth first.

The runtime asks one thing of the automaton: which labels may come next (`allowed`). A label is
allowed when the trace can still end well after it: for a *terminal* label (a final answer, which
ends the run) when the trace ends accepted right there; for any other label when a terminal label
can still be reached and end it accepted (the state is *live*). So a model can never be steered
into a dead end, and an agent without tools (`restricted`) is never offered a path through an
`Action`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from ...errors import ConfigError
from .formula import FALSE, TRUE, Formula

Term = tuple[str, Formula]
"""("S", f): f holds from the next segment, which must exist; ("W", f): the same if there is one."""
Clause = frozenset[Term]
State = frozenset[Clause]
"""Alternatives (disjunction) of obligations (conjunction of terms)."""

YES: State = frozenset({frozenset()})
NO: State = frozenset()
MAX_STATES = 5_000
"""A protocol with more states than this is not a protocol a person wrote; refuse it rather than hang."""


def _minimal(clauses: Iterable[Clause]) -> State:
    """Drop every alternative that asks more than another one (a ⊇ b: a ∨ b = b)."""
    ordered = sorted(set(clauses), key=len)
    kept: list[Clause] = []
    for clause in ordered:
        if not any(other <= clause for other in kept):
            kept.append(clause)
    return frozenset(kept)


def _and(a: State, b: State) -> State:
    return _minimal(x | y for x in a for y in b)


def _or(a: State, b: State) -> State:
    return _minimal(a | b)


def _term(kind: str, formula: Formula) -> State:
    if formula == TRUE and kind == "W":
        return YES  # nothing asked, whether or not a next segment comes
    if formula == FALSE and kind == "S":
        return NO   # a next segment that satisfies false
    return frozenset({frozenset({(kind, formula)})})


@lru_cache(maxsize=65_536)
def progress(formula: Formula, label: str) -> State:
    """What is left of `formula` for the rest of the trace after a segment `label`."""
    op = formula[0]
    if op == "true":
        return YES
    if op == "false":
        return NO
    if op == "atom":
        return YES if formula[1] == label else NO
    if op == "natom":
        return NO if formula[1] == label else YES
    if op == "and":
        return _and(progress(formula[1], label), progress(formula[2], label))
    if op == "or":
        return _or(progress(formula[1], label), progress(formula[2], label))
    if op == "X":
        return _term("S", formula[1])
    if op == "WX":
        return _term("W", formula[1])
    if op == "F":    # F a = a ∨ X F a
        return _or(progress(formula[1], label), _term("S", formula))
    if op == "G":    # G a = a ∧ WX G a
        return _and(progress(formula[1], label), _term("W", formula))
    if op == "U":    # a U b = b ∨ (a ∧ X(a U b))
        return _or(progress(formula[2], label), _and(progress(formula[1], label), _term("S", formula)))
    if op == "R":    # a R b = b ∧ (a ∨ WX(a R b))
        return _and(progress(formula[2], label), _or(progress(formula[1], label), _term("W", formula)))
    raise ValueError(f"not a formula in negation normal form: {formula!r}")


def advance(state: State, label: str) -> State:
    out = NO
    for clause in state:
        alternative = YES
        for _, formula in clause:
            alternative = _and(alternative, progress(formula, label))
            if not alternative:
                break
        out = _or(out, alternative)
    return out


def ends_accepted(state: State) -> bool:
    """The trace may end here: some alternative asks nothing of a next segment."""
    return any(all(kind == "W" for kind, _ in clause) for clause in state)


DEAD = -1
"""The state after a label that the automaton rejects."""


@dataclass(frozen=True)
class Automaton:
    """A DFA over segment labels; states are numbered from `start` = 0."""

    labels: tuple[str, ...]
    """The alphabet, in the spec's order (the order allowed labels are listed in)."""
    delta: tuple[dict[str, int], ...]
    """Per state, label -> next state; a label missing (or DEAD) leads nowhere."""
    accepting: frozenset[int]
    terminal: frozenset[str]
    """Labels that end the trace (the final answer)."""
    live: frozenset[int]
    """States from which a terminal label can still end the trace accepted."""
    start: int = 0

    @classmethod
    def compile(cls, formulas: Sequence[Formula], labels: Sequence[str], terminal: Iterable[str] = ()) -> Automaton:
        """The automaton of the conjunction of `formulas` over the alphabet `labels`."""
        whole: Formula = TRUE
        for formula in formulas:
            whole = formula if whole == TRUE else ("and", whole, formula)
        first: State = frozenset({frozenset({("S", whole)})})  # a trace has at least one segment
        index: dict[State, int] = {first: 0}
        states: list[State] = [first]
        delta: list[dict[str, int]] = []
        queue = deque([first])
        while queue:
            state = queue.popleft()
            moves: dict[str, int] = {}
            for label in labels:
                nxt = advance(state, label)
                if not nxt:
                    continue
                if nxt not in index:
                    if len(states) >= MAX_STATES:
                        raise ConfigError(f"the protocol compiles to more than {MAX_STATES} states; write it with "
                                          "fewer nested temporal operators")
                    index[nxt] = len(states)
                    states.append(nxt)
                    queue.append(nxt)
                moves[label] = index[nxt]
            delta.append(moves)
        accepting = frozenset(i for i, s in enumerate(states) if ends_accepted(s))
        return cls._finish(tuple(labels), tuple(delta), accepting, frozenset(terminal))

    @classmethod
    def _finish(cls, labels: tuple[str, ...], delta: tuple[dict[str, int], ...], accepting: frozenset[int],
                terminal: frozenset[str]) -> Automaton:
        # Live: a terminal label ends the trace accepted from here, or (backwards) a non-terminal
        # label leads to a live state. Without terminal labels, any accepting state will do.
        if terminal:
            live = {s for s, moves in enumerate(delta) if any(moves.get(t, DEAD) in accepting for t in terminal)}
        else:
            live = set(accepting)
        changed = True
        while changed:
            changed = False
            for s, moves in enumerate(delta):
                if s not in live and any(n in live for label, n in moves.items() if label not in terminal):
                    live.add(s)
                    changed = True
        return cls(labels, delta, accepting, terminal, frozenset(live))

    def restricted(self, labels: Iterable[str]) -> Automaton:
        """The same automaton with only `labels` possible (the others never come): liveness recomputed."""
        keep = set(labels)
        delta = tuple({label: n for label, n in moves.items() if label in keep} for moves in self.delta)
        return self._finish(tuple(label for label in self.labels if label in keep), delta, self.accepting,
                            self.terminal & keep)

    def allowed(self, state: int) -> tuple[str, ...]:
        """The labels that may come next in `state` (none in a dead one)."""
        if state == DEAD:
            return ()
        moves = self.delta[state]
        return tuple(label for label in self.labels if label in moves
                     and (moves[label] in self.accepting if label in self.terminal else moves[label] in self.live))

    def step(self, state: int, label: str) -> int:
        """The state after `label`; DEAD if it is not allowed."""
        return self.delta[state][label] if label in self.allowed(state) else DEAD

    def first_violation(self, trace: Sequence[str], state: int | None = None) -> int | None:
        """The index of the first label of `trace` not allowed where it stands; None if all are."""
        state = self.start if state is None else state
        for i, label in enumerate(trace):
            state = self.step(state, label)
            if state == DEAD:
                return i
        return None

    def accepts(self, trace: Sequence[str]) -> bool:
        """A whole trace: every label allowed, and the trace may end after the last."""
        state = self.start
        for label in trace:
            state = self.step(state, label)
            if state == DEAD:
                return False
        return state in self.accepting

    def path(self, state: int, via: Iterable[str], goal: Iterable[str]) -> list[str] | None:
        """The shortest run of `via` labels from `state` to a state where one of `goal` is allowed (the
        goal label not included); None when there is none."""
        via, goal = set(via), set(goal)
        seen, queue = {state}, deque([(state, [])])
        while queue:
            here, labels = queue.popleft()
            if goal & set(self.allowed(here)):
                return labels
            for label in self.allowed(here):
                nxt = self.delta[here][label]
                if label in via and nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, [*labels, label]))
        return None
