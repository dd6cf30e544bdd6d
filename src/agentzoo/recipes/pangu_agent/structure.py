"""The composition language of Pangu-Agent's reasoning structures: a structure is data.

A structure says which functions run, in which order, at every environment step. Its last function is the
**extrinsic** one, `act`, whose output is the action; the others are **intrinsic**: they change the memory
state and never reach the environment. Written as a spec string:

    think -> plan -> act                          a pipeline (`→` works too)
    reflect -> think -> act                       reflection, then a thought, then the action
    vote(3, think -> act)                         three samples of a sub-structure, the majority action
    swiftsage(act | think -> plan -> act)         the fast branch, or the slow one when the agent is stuck

or as YAML (a file whose name ends in `.yaml`/`.yml`, or `parse_yaml`): a list whose items are function
names or one-key mappings, `{vote: {n: 3, do: [think, act]}}`, `{swiftsage: {swift: [act], sage: [think,
plan, act]}}` (optionally under a top-level `structure:` key).

The functions: `think`, `plan`, `reflect`, `tool` (also `use-tool`), `communicate` (intrinsic) and `act`
(extrinsic). Rules, each broken one a `StructureError` naming the part: every sequence ends with an action
(`act`, or a combinator, whose branches each end with `act`); nothing follows an action; names are known;
`vote` takes a whole number of samples, at least 2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError

INTRINSIC = ("think", "plan", "reflect", "tool", "communicate")
EXTRINSIC = "act"
ALIASES = {"use-tool": "tool", "use_tool": "tool"}
COMBINATORS = ("vote", "swiftsage")


class StructureError(ConfigError):
    """A reasoning structure that cannot run; the message names the structure and the part at fault."""


@dataclass(frozen=True)
class Call:
    """One function: an intrinsic one over the memory, or `act`."""

    name: str


@dataclass(frozen=True)
class Vote:
    """Self-consistency: `n` samples of `body`, each ending in an action; the most frequent action is taken."""

    n: int
    body: tuple[Node, ...]


@dataclass(frozen=True)
class SwiftSage:
    """The `swift` branch, or the `sage` branch at a step where the agent is stuck (`agent.stuck`)."""

    swift: tuple[Node, ...]
    sage: tuple[Node, ...]


Node = Call | Vote | SwiftSage
Structure = tuple[Node, ...]


def spec(structure: Sequence[Node]) -> str:
    """The structure as a spec string (what `parse` reads back to the same structure)."""
    def one(node: Node) -> str:
        if isinstance(node, Call):
            return node.name
        if isinstance(node, Vote):
            return f"vote({node.n}, {spec(node.body)})"
        return f"swiftsage({spec(node.swift)} | {spec(node.sage)})"

    return " -> ".join(one(n) for n in structure)


def functions_in(structure: Sequence[Node]) -> set[str]:
    """The names of the functions a structure calls, at any depth."""
    found: set[str] = set()
    for node in structure:
        if isinstance(node, Call):
            found.add(node.name)
        elif isinstance(node, Vote):
            found |= functions_in(node.body)
        else:
            found |= functions_in(node.swift) | functions_in(node.sage)
    return found


def parse(text: str) -> Structure:
    """A structure from a spec string, or from the YAML file it names (`….yaml`, `….yml`)."""
    if text.strip().endswith((".yaml", ".yml")):
        path = Path(text.strip()).expanduser()
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise StructureError(f"pangu-agent structure file {path}: {exc}") from None
        return parse_yaml(source, where=str(path))
    return check(_Parser(text).structure(), repr(text))


def parse_yaml(source: str, *, where: str = "YAML") -> Structure:
    import yaml

    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise StructureError(f"pangu-agent structure {where}: not YAML ({exc})") from None
    if isinstance(data, dict) and set(data) == {"structure"}:
        data = data["structure"]
    if isinstance(data, str):
        return check(_Parser(data).structure(), repr(data))
    return check(_from_items(data, where), where)


def check(structure: Structure, source: str) -> Structure:
    """The structure itself, when every sequence in it ends with exactly one action (see the module); `source`
    names it in an error (the spec string quoted, a file's path)."""
    _check_sequence(structure, source, "the structure")
    return structure


def _check_sequence(sequence: Sequence[Node], source: str, what: str) -> None:
    if not sequence:
        raise StructureError(f"pangu-agent structure {source}: {what} is empty")
    for i, node in enumerate(sequence):
        acts = not (isinstance(node, Call) and node.name != EXTRINSIC)
        if acts and i < len(sequence) - 1:
            raise StructureError(f"pangu-agent structure {source}: {_name(node)} (item {i + 1} of {what}) acts in "
                                 f"the environment, so nothing can follow it; only the last item acts")
        if isinstance(node, Vote):
            _check_sequence(node.body, source, f"the body of {_name(node)}")
        elif isinstance(node, SwiftSage):
            _check_sequence(node.swift, source, "the swift branch of swiftsage")
            _check_sequence(node.sage, source, "the sage branch of swiftsage")
    last = sequence[-1]
    if isinstance(last, Call) and last.name != EXTRINSIC:
        raise StructureError(f"pangu-agent structure {source}: {what} ends with {last.name!r}; it must end with the "
                             f"extrinsic function {EXTRINSIC!r}, the one whose output is the action")


def _name(node: Node) -> str:
    return repr(spec((node,)))


def _call(name: str, where: str) -> Call:
    name = ALIASES.get(name, name)
    if name not in (*INTRINSIC, EXTRINSIC):
        known = ", ".join((*INTRINSIC, EXTRINSIC))
        hint = f" (a combinator: {name}(...))" if name in COMBINATORS else ""
        raise StructureError(f"pangu-agent structure {where}: unknown function {name!r}{hint}; the functions are "
                             f"{known}, the combinators {', '.join(COMBINATORS)}")
    return Call(name)


def _votes(n: Any, where: str) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise StructureError(f"pangu-agent structure {where}: vote takes a whole number of samples, at least 2, "
                             f"got {n!r}")
    return n


# --- the spec string --------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(?P<arrow>->|→)|(?P<name>[A-Za-z_][A-Za-z0-9_-]*)|(?P<number>\d+)|(?P<punct>[(),|]))")


class _Parser:
    """structure := sequence · sequence := node ('->' node)* · node := name | vote(N, seq) | swiftsage(seq | seq)"""

    def __init__(self, text: str) -> None:
        self.text, self.i = text, 0
        self.tokens = self._tokens(text)

    def _tokens(self, text: str) -> list[tuple[str, str, int]]:
        tokens, pos = [], 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if match is None or match.end() == pos:
                start = len(text) - len(text[pos:].lstrip())
                self._fail(f"cannot read {text[start:start + 12]!r}", start)
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind), match.start(kind)))
            pos = match.end()
        return tokens

    def _fail(self, problem: str, pos: int | None = None) -> None:
        if pos is None:
            pos = self.tokens[self.i][2] if self.i < len(self.tokens) else len(self.text)
        raise StructureError(f"pangu-agent structure {self.text!r}: {problem} at character {pos + 1} "
                             f"({self.text[:pos]!r} ⟨here⟩ {self.text[pos:]!r})")

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def _take(self, kind: str, value: str | None = None, expected: str = "") -> str:
        token = self._peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            found = "the end" if token is None else repr(token[1])
            self._fail(f"expected {expected or repr(value) if value else expected or kind}, found {found}")
        self.i += 1
        return token[1]  # type: ignore[index]

    def structure(self) -> Structure:
        if not self.tokens:
            raise StructureError("pangu-agent structure '': it is empty; e.g. 'think -> plan -> act'")
        sequence = self.sequence()
        if self._peek() is not None:
            self._fail(f"expected '->' or the end, found {self._peek()[1]!r}")  # type: ignore[index]
        return sequence

    def sequence(self) -> Structure:
        nodes = [self.node()]
        while (token := self._peek()) is not None and token[0] == "arrow":
            self.i += 1
            nodes.append(self.node())
        return tuple(nodes)

    def node(self) -> Node:
        token = self._peek()
        name = self._take("name", expected="a function name")
        where = f"{self.text!r}, character {token[2] + 1}"  # type: ignore[index]
        if name == "vote":
            self._take("punct", "(", "'(' after vote: vote(3, think -> act)")
            n = int(self._take("number", expected="the number of samples"))
            self._take("punct", ",")
            body = self.sequence()
            self._take("punct", ")", "')' closing vote(")
            return Vote(_votes(n, where), body)
        if name == "swiftsage":
            self._take("punct", "(", "'(' after swiftsage: swiftsage(act | think -> plan -> act)")
            swift = self.sequence()
            self._take("punct", "|", "'|' between the swift and the sage branch")
            sage = self.sequence()
            self._take("punct", ")", "')' closing swiftsage(")
            return SwiftSage(swift, sage)
        follows = self._peek()
        if follows is not None and follows[1] == "(":
            self._fail(f"{name!r} takes no arguments")
        return _call(name, where)


# --- YAML -------------------------------------------------------------------------------------------------


def _from_items(items: Any, where: str, path: str = "structure") -> Structure:
    if not isinstance(items, list) or not items:
        raise StructureError(f"pangu-agent structure {where}: {path} must be a non-empty list of functions, got "
                             f"{items!r}")
    return tuple(_from_item(item, where, f"{path}[{i}]") for i, item in enumerate(items))


def _from_item(item: Any, where: str, path: str) -> Node:
    if isinstance(item, str):
        return _call(item.strip(), f"{where} ({path})")
    if isinstance(item, dict) and len(item) == 1:
        (name, body), = item.items()
        if name == "vote" and isinstance(body, dict) and set(body) == {"n", "do"}:
            return Vote(_votes(body["n"], f"{where} ({path})"), _from_items(body["do"], where, f"{path}.vote.do"))
        if name == "swiftsage" and isinstance(body, dict) and set(body) == {"swift", "sage"}:
            return SwiftSage(_from_items(body["swift"], where, f"{path}.swiftsage.swift"),
                             _from_items(body["sage"], where, f"{path}.swiftsage.sage"))
    raise StructureError(f"pangu-agent structure {where}: {path} is {item!r}; an item is a function name, "
                         "{vote: {n: 3, do: [think, act]}} or {swiftsage: {swift: [act], sage: [think, plan, act]}}")
