"""Temporal formulas over segment labels: linear temporal logic on finite traces, as a protocol spec writes them.

A protocol's trace is the sequence of segments an agent's run produces (`Thought`, `Action`,
`Observation`, …); each position holds exactly one segment, so an atom is true where its label is.
Operators, in order of binding (loosest first), with their ASCII, Unicode and word spellings:

    a <-> b   a ↔ b            both or neither
    a -> b    a → b            implication (right associative)
    a | b     a ∨ b   a or b
    a & b     a ∧ b   a and b
    a U b     a R b   a W b    until (b comes, a holds till then) · release · weak until (b may never come)
    !a  X a  WX a  G a  F a    not (¬, ~) · next (○; a next segment exists and satisfies a) · weak next
                               (no next segment, or it satisfies a) · always (□) · eventually (◇)
    true  false  Label  ( … )

Traces are finite, so `X a` is false at the last segment and `WX a` true there: "the Answer is the
last segment" is `G(Answer -> WX false)`. `parse` returns the formula in negation normal form over
the core operators (`true`, `false`, `atom`, `natom`, `and`, `or`, `X`, `WX`, `G`, `F`, `U`, `R`),
as nested tuples, hashable so the compiler can memoise on them.
"""

from __future__ import annotations

import re
from typing import Any

from ...errors import ConfigError

Formula = tuple[Any, ...]
"""("true",) ("false",) ("atom", label) ("natom", label) ("and", f, g) ("or", f, g) ("X", f) ("WX", f)
("G", f) ("F", f) ("U", f, g) ("R", f, g): negation normal form, built by `parse`."""

TRUE: Formula = ("true",)
FALSE: Formula = ("false",)

_SYMBOLS = {"<->": "<->", "↔": "<->", "->": "->", "→": "->", "&&": "&", "&": "&", "∧": "&", "||": "|", "|": "|",
            "∨": "|", "!": "!", "¬": "!", "~": "!", "○": "X", "□": "G", "◇": "F", "(": "(", ")": ")"}
_WORDS = {"and": "&", "or": "|", "not": "!", "X": "X", "WX": "WX", "G": "G", "F": "F", "U": "U", "R": "R", "W": "W",
          "true": "true", "false": "false"}
RESERVED = frozenset(_WORDS)
"""Names a segment label cannot have: they are operators or constants."""
_TOKEN = re.compile(r"\s*(?:(<->|->|&&|\|\||[&|!~()↔→∧∨¬○□◇])|([A-Za-z_][A-Za-z0-9_]*)|(\S))")


class FormulaError(ConfigError):
    """A formula that does not parse, or names a label the spec does not declare."""


def parse(text: str, labels: frozenset[str] | None = None) -> Formula:
    """The formula `text` in negation normal form; with `labels`, an atom outside them is an error."""
    tokens = _tokens(text)
    parser = _Parser(text, tokens, labels)
    formula = parser.iff()
    if parser.at < len(tokens):
        parser.fail(f"unexpected {tokens[parser.at][2]!r}")
    return nnf(formula)


def _tokens(text: str) -> list[tuple[int, str, str]]:
    """(column, kind, text): kind is an operator, `name` or `bad`."""
    out, pos = [], 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:  # only trailing whitespace is left
            break
        symbol, word, bad = match.groups()
        column = match.start(match.lastindex or 0) + 1
        if symbol:
            out.append((column, _SYMBOLS[symbol], symbol))
        elif word:
            out.append((column, _WORDS.get(word, "name"), word))
        else:
            out.append((column, "bad", bad))
        pos = match.end()
    return out


class _Parser:
    """Recursive descent, one method per level of binding."""

    def __init__(self, text: str, tokens: list[tuple[int, str, str]], labels: frozenset[str] | None) -> None:
        self.text, self.tokens, self.labels, self.at = text, tokens, labels, 0

    def fail(self, problem: str) -> None:
        column = self.tokens[self.at][0] if self.at < len(self.tokens) else len(self.text) + 1
        raise FormulaError(f"{problem} at column {column} of {self.text!r}")

    def peek(self) -> str | None:
        return self.tokens[self.at][1] if self.at < len(self.tokens) else None

    def take(self, kind: str) -> bool:
        if self.peek() == kind:
            self.at += 1
            return True
        return False

    def iff(self) -> Formula:
        left = self.implies()
        while self.take("<->"):
            right = self.implies()
            left = ("or", ("and", left, right), ("and", ("not", left), ("not", right)))
        return left

    def implies(self) -> Formula:
        left = self.disjunction()
        if self.take("->"):
            return ("or", ("not", left), self.implies())
        return left

    def disjunction(self) -> Formula:
        left = self.conjunction()
        while self.take("|"):
            left = ("or", left, self.conjunction())
        return left

    def conjunction(self) -> Formula:
        left = self.until()
        while self.take("&"):
            left = ("and", left, self.until())
        return left

    def until(self) -> Formula:
        left = self.unary()
        for op in ("U", "R", "W"):
            if self.take(op):
                right = self.until()
                # a W b: a until b, or a for ever (b never comes)
                return ("or", ("U", left, right), ("G", left)) if op == "W" else (op, left, right)
        return left

    def unary(self) -> Formula:
        for op in ("!", "X", "WX", "G", "F"):
            if self.take(op):
                return ("not" if op == "!" else op, self.unary())
        return self.primary()

    def primary(self) -> Formula:
        kind = self.peek()
        if kind is None:
            self.fail("the formula ends too early")
        column, kind, word = self.tokens[self.at]
        if kind in ("true", "false"):
            self.at += 1
            return TRUE if kind == "true" else FALSE
        if kind == "name":
            if self.labels is not None and word not in self.labels:
                self.fail(f"{word!r} is not a segment of this spec (segments: {', '.join(sorted(self.labels))})")
            self.at += 1
            return ("atom", word)
        if self.take("("):
            inner = self.iff()
            if not self.take(")"):
                self.fail("expected ')'")
            return inner
        self.fail(f"unexpected {word!r}")
        raise AssertionError  # fail raised


_DUAL = {"and": "or", "or": "and", "X": "WX", "WX": "X", "G": "F", "F": "G", "U": "R", "R": "U"}


def nnf(formula: Formula, negated: bool = False) -> Formula:
    """Negation pushed down to the atoms: ¬X a = WX ¬a, ¬G a = F ¬a, ¬(a U b) = ¬a R ¬b, …"""
    op = formula[0]
    if op == "not":
        return nnf(formula[1], not negated)
    if op in ("true", "false"):
        return (FALSE if op == "true" else TRUE) if negated else formula
    if op in ("atom", "natom"):
        return (("natom" if op == "atom" else "atom"), formula[1]) if negated else formula
    return ((_DUAL[op] if negated else op), *(nnf(part, negated) for part in formula[1:]))


def atoms(formula: Formula) -> set[str]:
    """The labels a formula mentions."""
    if formula[0] in ("atom", "natom"):
        return {formula[1]}
    return set().union(*(atoms(part) for part in formula[1:] if isinstance(part, tuple)))
