"""A protocol spec: the segments an agent writes, the temporal rules over them, and worked examples.

A spec is a YAML file (the shipped ones are in `specs/`):

    name: react
    description: one paragraph the model reads
    source: where the protocol comes from
    segments:                       # in the order they are listed to the model
      - {label: Thought, kind: text, says: "what you think about what to do next"}
      - {label: Action, kind: action, says: "one tool call"}
      - {label: Observation, kind: observation, says: "the tool's result"}
      - {label: Answer, kind: final, says: "the final answer"}
    rules:                          # all must hold (their conjunction), `formula` syntax
      - {ltl: "Thought", says: "Begin with a Thought."}
      - {ltl: "G(Action -> X Observation)", says: "Each Action is followed by its Observation."}
    examples:                       # optional; each checked against the rules when the spec is loaded
      - question: "…"
        trace:
          - Thought: "…"
          - Answer: "…"

Segment kinds: `text` (the model writes prose), `action` (the model calls a tool:
`Action: tool_name {"argument": value}`), `observation` (the runtime writes a tool's result, one per
action, after the model's reply), `final` (the model's answer; it ends the run). A spec with actions
has exactly one observation segment; every spec has at least one final segment.

An example is rejected when it is loaded, with a `ConfigError` that names the file, the example and
the step: a segment the rules do not allow where it stands, an observation with no action waiting
for it, an action without a tool name, or a trace that does not end with a final segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .automaton import DEAD, Automaton
from .formula import RESERVED, Formula, FormulaError, parse
from .segments import Segment, action_call

SPECS = Path(__file__).parent / "specs"
KINDS = ("text", "action", "observation", "final")
MODEL_KINDS = ("text", "action", "final")
"""The kinds the model writes (an observation is written by the runtime)."""


@dataclass(frozen=True)
class SegmentSpec:
    label: str
    kind: str
    """One of `KINDS`."""
    says: str
    """What the segment holds, as the model is told."""


@dataclass(frozen=True)
class Rule:
    ltl: str
    """The formula as written."""
    says: str
    """The rule in words, as the model is told."""
    formula: Formula


@dataclass(frozen=True)
class Example:
    question: str
    trace: tuple[Segment, ...]

    def transcript(self) -> str:
        return "\n".join(segment.text() for segment in self.trace)

    def uses_actions(self, protocol: Protocol) -> bool:
        return any(protocol.kind(s.label) == "action" for s in self.trace)


@dataclass(frozen=True)
class Protocol:
    """A loaded, checked spec and its automaton."""

    name: str
    description: str
    source: str
    segments: tuple[SegmentSpec, ...]
    rules: tuple[Rule, ...]
    examples: tuple[Example, ...]
    automaton: Automaton
    path: str

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(s.label for s in self.segments)

    def kind(self, label: str) -> str:
        return next(s.kind for s in self.segments if s.label == label)

    def of_kind(self, *kinds: str) -> tuple[str, ...]:
        return tuple(s.label for s in self.segments if s.kind in kinds)

    @property
    def observation(self) -> str | None:
        found = self.of_kind("observation")
        return found[0] if found else None


def load(spec: str) -> Protocol:
    """The shipped spec named `spec` (`react`, `pass`), or the spec file at the path `spec`."""
    path = Path(spec).expanduser()
    if path.suffix not in (".yaml", ".yml") and not path.exists():
        path = SPECS / f"{spec}.yaml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in SPECS.glob("*.yaml")))
            raise ConfigError(f"ltl: unknown protocol spec {spec!r}; shipped: {known}, or a path to a .yaml spec file")
    return _load(str(path.resolve()))


@lru_cache(maxsize=32)
def _load(path: str) -> Protocol:
    data = read_yaml(path, "protocol spec")
    where = f"protocol spec {path}"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with name, segments and rules")
    segments = _segments(where, data.get("segments"))
    labels = frozenset(s.label for s in segments)
    rules = _rules(where, data.get("rules"), labels)
    finals = frozenset(s.label for s in segments if s.kind == "final")
    automaton = Automaton.compile([r.formula for r in rules], [s.label for s in segments], finals)
    protocol = Protocol(name=str(data.get("name") or Path(path).stem), description=str(data.get("description") or ""),
                        source=str(data.get("source") or ""), segments=segments, rules=rules, examples=(),
                        automaton=automaton, path=path)
    if automaton.start not in automaton.live:
        raise ConfigError(f"{where}: no trace satisfies its rules and ends with a final segment "
                          f"({', '.join(sorted(finals))}); the rules contradict each other")
    examples = parse_examples(protocol, data.get("examples") or [], where)
    return Protocol(**{**protocol.__dict__, "examples": examples})


def read_yaml(path: str | Path, what: str) -> Any:
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{what} {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path}: not UTF-8 text") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{what} {path}: not valid YAML: {exc}") from None


def _segments(where: str, raw: Any) -> tuple[SegmentSpec, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'segments' must be a list of {{label, kind, says}}")
    out: list[SegmentSpec] = []
    for i, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not isinstance(item.get("label"), str):
            raise ConfigError(f"{where}: segment {i} must be a mapping with a 'label'")
        label, kind = item["label"], item.get("kind", "text")
        if not label.isidentifier() or label in RESERVED:
            raise ConfigError(f"{where}: segment {i}: label {label!r} must be a name (letters, digits, _) and not "
                              f"one of the operators {', '.join(sorted(RESERVED))}")
        if kind not in KINDS:
            raise ConfigError(f"{where}: segment {label}: kind {kind!r} is not one of {', '.join(KINDS)}")
        if any(s.label.lower() == label.lower() for s in out):
            raise ConfigError(f"{where}: segment {label!r} is declared twice")
        out.append(SegmentSpec(label, kind, str(item.get("says") or "")))
    kinds = [s.kind for s in out]
    if "final" not in kinds:
        raise ConfigError(f"{where}: no segment of kind 'final': a run could never end")
    if ("action" in kinds) != ("observation" in kinds) or kinds.count("observation") > 1:
        raise ConfigError(f"{where}: a spec with action segments has exactly one observation segment (and one "
                          "without actions has none)")
    return tuple(out)


def _rules(where: str, raw: Any, labels: frozenset[str]) -> tuple[Rule, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: 'rules' must be a list of {{ltl, says}}")
    out: list[Rule] = []
    for i, item in enumerate(raw, 1):
        text = item.get("ltl") if isinstance(item, dict) else item
        if not isinstance(text, str) or not text.strip():
            raise ConfigError(f"{where}: rule {i} must have a formula in 'ltl'")
        try:
            formula = parse(text, labels)
        except FormulaError as exc:
            raise ConfigError(f"{where}: rule {i}: {exc}") from None
        says = str(item.get("says") or "") if isinstance(item, dict) else ""
        out.append(Rule(text.strip(), says, formula))
    return tuple(out)


def parse_examples(protocol: Protocol, raw: Any, where: str) -> tuple[Example, ...]:
    """Examples from their YAML form, each checked against the protocol (`check_example`)."""
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: 'examples' must be a list of {{question, trace}}")
    spelled = {label.lower(): label for label in protocol.labels}
    out: list[Example] = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict) or not isinstance(item.get("trace"), list):
            raise ConfigError(f"{where}: example {n} must be a mapping with a 'question' and a 'trace' list")
        question = str(item.get("question") or "")
        trace: list[Segment] = []
        for i, step in enumerate(item["trace"], 1):
            if not isinstance(step, dict) or len(step) != 1:
                raise ConfigError(f"{where}: example {n}, step {i}: write a step as one 'Label: content' pair")
            (label, content), = step.items()
            if str(label).lower() not in spelled:
                raise ConfigError(f"{where}: example {n}, step {i}: {label!r} is not a segment of protocol "
                                  f"{protocol.name!r} ({', '.join(protocol.labels)})")
            trace.append(Segment(spelled[str(label).lower()], "" if content is None else str(content).strip()))
        example = Example(question, tuple(trace))
        check_example(protocol, example, f"{where}: example {n} ({_short(question)})")
        out.append(example)
    return tuple(out)


def check_example(protocol: Protocol, example: Example, where: str) -> None:
    """Raise `ConfigError` at the first step of `example` that breaks the protocol."""
    automaton, state, waiting, observing = protocol.automaton, protocol.automaton.start, 0, False
    for i, segment in enumerate(example.trace, 1):
        kind = protocol.kind(segment.label)
        allowed = automaton.allowed(state)
        if segment.label not in allowed:
            after = f"after {example.trace[i - 2].label}" if i > 1 else "at the start"
            raise ConfigError(f"{where}, step {i}: {segment.label} may not come {after}; the rules allow "
                              f"{', '.join(allowed) or 'nothing'} there")
        # The runtime's order: the model's actions, then one observation per action, then the model again.
        if kind == "observation":
            if waiting == 0:
                raise ConfigError(f"{where}, step {i}: an {segment.label} answers an action, and no action is "
                                  "waiting for one")
            waiting -= 1
            observing = waiting > 0
        elif observing or (waiting and kind != "action"):
            raise ConfigError(f"{where}, step {i}: {segment.label} comes while {waiting} action(s) still wait for "
                              f"their {protocol.observation}")
        if kind == "action":
            if action_call(segment.content) is None:
                raise ConfigError(f"{where}, step {i}: an {segment.label} names a tool first: "
                                  f"'{segment.label}: tool_name {{\"argument\": value}}'")
            waiting += 1
        state = automaton.step(state, segment.label)
        assert state != DEAD  # allowed above
        if kind == "final" and i < len(example.trace):
            raise ConfigError(f"{where}, step {i + 1}: nothing may follow the final {segment.label}")
    if not example.trace or protocol.kind(example.trace[-1].label) != "final":
        raise ConfigError(f"{where}: the trace must end with a final segment "
                          f"({', '.join(protocol.of_kind('final'))})")


def load_examples(protocol: Protocol, path: str) -> tuple[Example, ...]:
    """Examples of your own from a YAML file (a list, or `examples: [...]`), checked against `protocol`."""
    data = read_yaml(Path(path).expanduser(), "examples file")
    if isinstance(data, dict) and "examples" in data:
        data = data["examples"]
    return parse_examples(protocol, data, f"examples file {path}")


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")
