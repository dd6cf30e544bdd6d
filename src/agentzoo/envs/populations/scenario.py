"""A population scenario: plain data (a JSON file beside this module, or a JSON object as a task's text),
validated once with a `ConfigError` naming the file and the field.

A scenario says who lives in the place (attributes, each a short list of values with their shares in the
population), which attributes group them into archetypes (`template`), which attribute says where a person
lives (`locality`, for local figures in prompts), how the world moves (`dynamics` and its `parameters`),
how a heuristic population behaves (`heuristic`: a fixed rule per group), which announcements a run may
make (`interventions`), and the series a run's curve is compared with (`reference`), with the behaviour it
was written under (`reference.behaviour`: a rule per group that answers the news; the oracle's gold).

The shipped scenarios are ours: a made-up city, numbers chosen to be plausible, the reference series
written for it (see each file's `reference.note`). They are not observed data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from ... import _json
from ...errors import ConfigError
from ..clock import parse_time

SCENARIOS = Path(__file__).parent / "scenarios"

DYNAMICS = ("epidemic", "labour")
MEASURES = {"epidemic": "cases_per_100k", "labour": "unemployment_rate"}
"""The curve each dynamics is scored on: new cases per 100,000 people per step; unemployed as a percentage
of the labour force."""

EXPOSED_DAYS = 5      # AgentTorch models/covid/yamls/config.yaml EXPOSED_TO_INFECTED_TIME = 5 (days)
INFECTIOUS_DAYS = 5   # AgentTorch models/covid/yamls/config.yaml INFECTED_TO_RECOVERED_TIME = 5 (days)
ISOLATION_CONTACT_FACTOR = 0.25
"""Ours: the share of their contacts people who stay home still have (household, errands)."""
MIXING = 0.2
"""Ours: the share of a person's contacts outside their own locality."""
MATCHING = 0.5
"""Ours: the efficiency of the labour market's matching function, hires = matching · √(seekers · openings)
(elasticity 0.5, the middle of the estimates Petrongolo & Pissarides 2001 survey)."""

# name -> (required, default, check); a number field's check is (low, high, low inclusive).
_EPIDEMIC = {
    "r0": (True, None, (0.0, 20.0, False)),
    "exposed_days": (False, EXPOSED_DAYS, "days"),
    "infectious_days": (False, INFECTIOUS_DAYS, "days"),
    "initial_infected": (True, None, (0.0, 1.0, False)),
    "isolation_contact_factor": (False, ISOLATION_CONTACT_FACTOR, (0.0, 1.0, True)),
    "mixing": (False, MIXING, (0.0, 1.0, True)),
    "susceptibility": (False, {}, "shifts"),
}
_LABOUR = {
    "initial_unemployment": (True, None, (0.0, 1.0, True)),
    "demand": (True, None, "rates"),
    "separation": (True, None, "rates"),
    "matching": (False, MATCHING, (0.0, 10.0, False)),
}
PARAMETERS: dict[str, dict[str, tuple[bool, Any, Any]]] = {"epidemic": _EPIDEMIC, "labour": _LABOUR}
INTERVENTION_EFFECTS = {"epidemic": ("contact_factor",), "labour": ("demand_factor",)}
"""What an intervention may change in the dynamics besides the announcement (a factor, default 1)."""


@dataclass(frozen=True)
class Attribute:
    name: str
    label: str
    """How prompts name it (`age group`)."""
    values: tuple[str, ...]
    shares: tuple[float, ...]
    """Each value's share of the population (they sum to 1)."""


@dataclass(frozen=True)
class Intervention:
    name: str
    step: int
    """The step it is announced at (and holds from)."""
    announcement: str
    """What prompts say from that step on."""
    heuristic_shift: float = 0.0
    """Added to every group's heuristic value once announced."""
    effects: dict[str, float] = field(default_factory=dict)
    """Factors on the dynamics (`contact_factor`, `demand_factor`)."""


@dataclass(frozen=True)
class News:
    """How a rule answers the step's public figure: `weight` × the figure's place between `floor` and
    `floor + span`, clipped to [0, 1]."""

    floor: float
    span: float
    weight: float


@dataclass(frozen=True)
class Rule:
    """A behaviour per group: `base` plus each of the group's attribute values' shift (plus the `news` term),
    clipped to [0, 1]. The heuristic population's rule is fixed (no news); the reference's answers the news."""

    base: float
    shift: dict[str, dict[str, float]] = field(default_factory=dict)
    news: News | None = None

    def value(self, traits: dict[str, str], figure: float | None = None) -> float:
        """The rule for a group with these attribute values (name -> value), after news of `figure`."""
        value = self.base + sum(self.shift.get(name, {}).get(v, 0.0) for name, v in traits.items())
        if self.news is not None and figure is not None:
            value += self.news.weight * min(1.0, max(0.0, (figure - self.news.floor) / self.news.span))
        return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class Reference:
    measure: str
    series: tuple[float, ...]
    """One value per step: the measure at the end of step k."""
    tolerance: float
    """The normalised error at or under which a run counts as a success."""
    note: str = ""
    behaviour: Rule | None = None
    """The behaviour the series was written under (the oracle's gold), when it is stated."""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    dynamics: str
    place: str
    start: str
    step_days: float
    steps: int
    population: int
    template: tuple[str, ...]
    locality: str | None
    attributes: dict[str, Attribute]
    parameters: dict[str, Any]
    heuristic: Rule
    interventions: dict[str, Intervention]
    reference: Reference
    source: str
    """The file it came from, or `<task JSON>`."""
    data: dict[str, Any]
    """The scenario as written (what a task carries)."""

    @property
    def measure(self) -> str:
        return MEASURES[self.dynamics]


def shipped() -> list[str]:
    """The names of the shipped scenarios, sorted."""
    return sorted(p.stem for p in SCENARIOS.glob("*.json"))


def load_scenario(text: str) -> Scenario:
    """The scenario a task's text names (a shipped scenario's name) or is (a JSON object)."""
    text = (text or "").strip()
    if text.startswith("{"):
        try:
            data = _json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"scenario <task JSON>: not valid JSON ({exc})") from None
        return parse_scenario(data, "<task JSON>")
    path = SCENARIOS / f"{text}.json"
    if not text or "/" in text or "\\" in text or not path.is_file():
        raise ConfigError(f"unknown population scenario {text!r}: give a shipped scenario's name "
                          f"({', '.join(shipped())}) or a scenario as a JSON object")
    return read_scenario(path)


def read_scenario(path: Path) -> Scenario:
    try:
        data = _json.loads(path.read_bytes())
    except OSError as exc:
        raise ConfigError(f"scenario {path}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"scenario {path}: not valid JSON ({exc})") from None
    return parse_scenario(data, str(path))


def parse_scenario(data: Any, source: str) -> Scenario:
    """`data` checked field by field; a `ConfigError` names `source` and the first bad field."""
    check = _Checker(source)
    if not isinstance(data, dict):
        check.fail("", f"a scenario is a JSON object, got {type(data).__name__}")
    known = {"name", "description", "dynamics", "place", "start", "step_days", "steps", "population", "template",
             "locality", "attributes", "parameters", "heuristic", "interventions", "reference"}
    check.no_extra(data, known, "")
    name = check.text(data, "name")
    dynamics = check.text(data, "dynamics")
    if dynamics not in DYNAMICS:
        check.fail("dynamics", f"must be one of {', '.join(DYNAMICS)}, got {dynamics!r}")
    start = check.text(data, "start")
    try:
        parse_time(start)
    except ConfigError as exc:
        check.fail("start", str(exc))
    steps = check.integer(data, "steps", low=1)
    attributes = _attributes(check, data.get("attributes"))
    template = check.names(data, "template", attributes, non_empty=True)
    locality = data.get("locality")
    if locality is not None and locality not in attributes:
        check.fail("locality", f"names no attribute ({', '.join(attributes)}), got {locality!r}")
    reference = _reference(check, data.get("reference"), dynamics, steps, attributes)
    return Scenario(
        name=name, description=check.text(data, "description", required=False), dynamics=dynamics,
        place=check.text(data, "place"), start=start, step_days=check.number(data, "step_days", 0.0, 366.0),
        steps=steps, population=check.integer(data, "population", low=1), template=tuple(template),
        locality=locality, attributes=attributes,
        parameters=_parameters(check, data.get("parameters"), dynamics, attributes),
        heuristic=_heuristic(check, data.get("heuristic"), attributes),
        interventions=_interventions(check, data.get("interventions", {}), dynamics, steps),
        reference=reference, source=source, data=data)


# --- the parts ----------------------------------------------------------------------------------


def _attributes(check: _Checker, raw: Any) -> dict[str, Attribute]:
    if not isinstance(raw, dict) or not raw:
        check.fail("attributes", "must be a non-empty object: attribute name -> {label, values, shares}")
    out: dict[str, Attribute] = {}
    for name, spec in raw.items():
        where = f"attributes.{name}"
        if not isinstance(spec, dict):
            check.fail(where, "must be an object with label, values and shares")
        check.no_extra(spec, {"label", "values", "shares"}, where)
        values = spec.get("values")
        if (not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values)
                or len(set(values)) != len(values)):
            check.fail(f"{where}.values", "must be a non-empty list of distinct non-empty strings")
        if len(values) > 127:
            check.fail(f"{where}.values", f"at most 127 values (they are stored as int8 codes), got {len(values)}")
        shares = spec.get("shares")
        if (not isinstance(shares, list) or len(shares) != len(values)
                or not all(_is_number(s) and s >= 0 for s in shares)):
            check.fail(f"{where}.shares", f"must be {len(values)} numbers ≥ 0, one per value")
        if abs(sum(shares) - 1.0) > 1e-6:
            check.fail(f"{where}.shares", f"must sum to 1, got {sum(shares):.6g}")
        label = spec.get("label", name.replace("_", " "))
        if not isinstance(label, str) or not label:
            check.fail(f"{where}.label", "must be a non-empty string")
        out[name] = Attribute(name, label, tuple(values), tuple(float(s) for s in shares))
    return out


def _parameters(check: _Checker, raw: Any, dynamics: str, attributes: dict[str, Attribute]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        check.fail("parameters", f"must be an object with the {dynamics} parameters "
                                 f"({', '.join(PARAMETERS[dynamics])})")
    spec = PARAMETERS[dynamics]
    check.no_extra(raw, set(spec), "parameters")
    out: dict[str, Any] = {}
    for key, (required, default, rule) in spec.items():
        where = f"parameters.{key}"
        if key not in raw:
            if required:
                check.fail(where, "is required")
            out[key] = default
            continue
        value = raw[key]
        if rule == "days":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 365:
                check.fail(where, f"must be a whole number of days from 1 to 365, got {value!r}")
        elif rule == "rates":
            values = value if isinstance(value, list) else [value]
            if not values or not all(_is_number(v) and 0 <= v <= 1 for v in values):
                check.fail(where, f"must be a rate in [0, 1] or a list of them (one per step), got {value!r}")
            value = [float(v) for v in values]
        elif rule == "shifts":
            value = _shifts(check, value, where, attributes)
        else:
            low, high, inclusive = rule
            if not _is_number(value) or not (low <= value if inclusive else low < value) or value > high:
                check.fail(where, f"must be a number in {'[' if inclusive else '('}{low:g}, {high:g}], got {value!r}")
            value = float(value)
        out[key] = value
    return out


def _heuristic(check: _Checker, raw: Any, attributes: dict[str, Attribute]) -> Rule:
    return _rule(check, raw, "heuristic", attributes, news=False)


def _rule(check: _Checker, raw: Any, where: str, attributes: dict[str, Attribute], *, news: bool) -> Rule:
    if not isinstance(raw, dict):
        check.fail(where, "must be an object {base, shift}: a value per group" + (", and news" if news else ""))
    check.no_extra(raw, {"base", "shift", "note", *(["news"] if news else [])}, where)
    base = raw.get("base")
    if not _is_number(base) or not 0 <= base <= 1:
        check.fail(f"{where}.base", f"must be a probability in [0, 1], got {base!r}")
    answer = None
    if news and "news" in raw:
        spec = raw["news"]
        if not isinstance(spec, dict) or set(spec) != {"floor", "span", "weight"} or not all(
                _is_number(v) for v in spec.values()) or spec["span"] <= 0:
            check.fail(f"{where}.news", "must be {floor, span > 0, weight}: numbers")
        answer = News(float(spec["floor"]), float(spec["span"]), float(spec["weight"]))
    return Rule(float(base), _shifts(check, raw.get("shift", {}), f"{where}.shift", attributes), answer)


def _shifts(check: _Checker, raw: Any, where: str, attributes: dict[str, Attribute]) -> dict[str, dict[str, float]]:
    """`{attribute: {value: number}}` whose attributes and values exist."""
    if not isinstance(raw, dict):
        check.fail(where, "must be an object: attribute -> {value: number}")
    out: dict[str, dict[str, float]] = {}
    for name, table in raw.items():
        if name not in attributes:
            check.fail(f"{where}.{name}", f"names no attribute ({', '.join(attributes)})")
        if not isinstance(table, dict):
            check.fail(f"{where}.{name}", "must be an object: value -> number")
        for value, number in table.items():
            if value not in attributes[name].values:
                check.fail(f"{where}.{name}.{value}", f"is not one of {name}'s values "
                                                      f"({', '.join(attributes[name].values)})")
            if not _is_number(number):
                check.fail(f"{where}.{name}.{value}", f"must be a number, got {number!r}")
        out[name] = {value: float(number) for value, number in table.items()}
    return out


def _interventions(check: _Checker, raw: Any, dynamics: str, steps: int) -> dict[str, Intervention]:
    if not isinstance(raw, dict):
        check.fail("interventions", "must be an object: name -> {step, announcement, ...}")
    effects = INTERVENTION_EFFECTS[dynamics]
    out: dict[str, Intervention] = {}
    for name, spec in raw.items():
        where = f"interventions.{name}"
        if not isinstance(spec, dict):
            check.fail(where, "must be an object with step and announcement")
        if "@" in name or not name:
            check.fail(where, "an intervention's name is a non-empty word without '@'")
        check.no_extra(spec, {"step", "announcement", "heuristic_shift", *effects}, where)
        step = check.integer(spec, "step", low=0, where=where)
        if step >= steps:
            check.fail(f"{where}.step", f"must be before the scenario's last step ({steps - 1}), got {step}")
        shift = spec.get("heuristic_shift", 0.0)
        if not _is_number(shift) or not -1 <= shift <= 1:
            check.fail(f"{where}.heuristic_shift", f"must be a number in [-1, 1], got {shift!r}")
        factors = {}
        for key in effects:
            if key in spec:
                if not _is_number(spec[key]) or not 0 <= spec[key] <= 10:
                    check.fail(f"{where}.{key}", f"must be a factor in [0, 10], got {spec[key]!r}")
                factors[key] = float(spec[key])
        out[name] = Intervention(name, step, check.text(spec, "announcement", where=where), float(shift), factors)
    return out


def _reference(check: _Checker, raw: Any, dynamics: str, steps: int,
               attributes: dict[str, Attribute]) -> Reference:
    if not isinstance(raw, dict):
        check.fail("reference", "must be an object {measure, series, tolerance, note}")
    check.no_extra(raw, {"measure", "series", "tolerance", "note", "behaviour"}, "reference")
    measure = raw.get("measure")
    if measure != MEASURES[dynamics]:
        check.fail("reference.measure", f"a {dynamics} scenario is scored on {MEASURES[dynamics]!r}, got {measure!r}")
    series = raw.get("series")
    if not isinstance(series, list) or len(series) != steps or not all(_is_number(v) and v >= 0 for v in series):
        check.fail("reference.series", f"must be {steps} numbers ≥ 0, one per step")
    if not any(series):
        check.fail("reference.series", "must not be all zeros (the error is normalised by its mean)")
    tolerance = raw.get("tolerance")
    if not _is_number(tolerance) or tolerance <= 0:
        check.fail("reference.tolerance", f"must be a number > 0, got {tolerance!r}")
    note = raw.get("note", "")
    if not isinstance(note, str):
        check.fail("reference.note", "must be a string")
    behaviour = _rule(check, raw["behaviour"], "reference.behaviour", attributes, news=True) \
        if "behaviour" in raw else None
    return Reference(measure, tuple(float(v) for v in series), float(tolerance), note, behaviour)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


class _Checker:
    """Reads fields of one scenario, failing with the source and the field's path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> NoReturn:
        raise ConfigError(f"scenario {self.source}: {where + ' ' if where else ''}{problem}")

    def no_extra(self, data: dict[str, Any], known: set[str], where: str) -> None:
        extra = sorted(set(data) - known)
        if extra:
            self.fail(f"{where}.{extra[0]}" if where else extra[0],
                      f"is not a known field (known: {', '.join(sorted(known))})")

    def text(self, data: dict[str, Any], key: str, *, required: bool = True, where: str = "") -> str:
        value = data.get(key, None if required else "")
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{where}.{key}" if where else key, f"must be a non-empty string, got {value!r}")
        return value

    def integer(self, data: dict[str, Any], key: str, *, low: int, where: str = "") -> int:
        value = data.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            self.fail(f"{where}.{key}" if where else key, f"must be a whole number ≥ {low}, got {value!r}")
        return value

    def number(self, data: dict[str, Any], key: str, low: float, high: float) -> float:
        value = data.get(key)
        if not _is_number(value) or not low < value <= high:
            self.fail(key, f"must be a number in ({low:g}, {high:g}], got {value!r}")
        return float(value)

    def names(self, data: dict[str, Any], key: str, attributes: dict[str, Attribute], *, non_empty: bool) -> list[str]:
        value = data.get(key)
        if (not isinstance(value, list) or (non_empty and not value) or len(set(map(str, value))) != len(value)
                or not all(isinstance(v, str) for v in value)):
            self.fail(key, "must be a non-empty list of distinct attribute names")
        for name in value:
            if name not in attributes:
                self.fail(key, f"names {name!r}, which is no attribute ({', '.join(attributes)})")
        return value
