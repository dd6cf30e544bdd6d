"""A town scenario as data: places with areas and objects, residents with identities, routines and seed
memories, one day to simulate, and the event whose news the town may spread.

A scenario is a YAML or JSON file (`scenarios/<name>.yaml`) or a JSON object of the same shape (a
simulation recipe's task text). `load_scenario` validates it and raises a `ConfigError` that names the
file and the field (`residents[2].home`) and says what is wrong. Addresses are `Place:area`.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ... import _json
from ...errors import ConfigError
from ..clock import parse_time

SCENARIOS = Path(__file__).parent / "scenarios"
MIN_RESIDENTS, MAX_RESIDENTS = 2, 25
"""A town of two to 25 residents (the paper's Smallville has 25)."""
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_SEP = ":"


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Area(_Data):
    """A sub-area of a place (the paper's arena): where residents meet; it holds objects."""

    name: str = Field(min_length=1)
    objects: tuple[str, ...] = ()


class Place(_Data):
    """A building or outdoor place (the paper's sector) with its areas."""

    name: str = Field(min_length=1)
    description: str = ""
    public: bool = True
    """Every resident knows a public place; a private one (a home) only its residents and those who `know` it."""
    areas: tuple[Area, ...] = Field(min_length=1)


class RoutineItem(_Data):
    """One line of a resident's usual day: from `time`, `activity` at `location`."""

    time: str
    activity: str = Field(min_length=1)
    location: str

    @field_validator("time")
    @classmethod
    def _clock(cls, value: str) -> str:
        if not _CLOCK.match(value):
            raise ValueError(f"{value!r} is not a 24-hour time HH:MM")
        return value


class Seed(_Data):
    """A memory the resident starts with (the code stores these as thoughts, outside the reflection count)."""

    text: str = Field(min_length=1)
    importance: int | None = Field(None, ge=1, le=10)
    """1..10; None: the recipe asks its model (the code rates whispered memories by model too)."""


class Resident(_Data):
    """A resident: the paper's identity stable set (name, age, innate and learned traits, currently,
    lifestyle), where they live, their usual day and their seed memories."""

    name: str = Field(min_length=1)
    age: int = Field(ge=0, le=130)
    innate: str = Field(min_length=1)
    learned: str = Field(min_length=1)
    currently: str = Field(min_length=1)
    lifestyle: str = Field(min_length=1)
    home: str
    """The address where the day starts (`Place:area`)."""
    start_activity: str = "waking up and getting ready for the day"
    """What others see them doing at the first step."""
    knows: tuple[str, ...] = ()
    """Private places (by name) they know besides their home's."""
    routine: tuple[RoutineItem, ...] = ()
    memories: tuple[Seed, ...] = ()


class Event(_Data):
    """The news that may spread: hosted by one resident, at a (public) place, in a time window."""

    name: str = Field(min_length=1)
    host: str
    place: str
    """A place name: being anywhere in it during the window is attending."""
    start: str
    end: str
    keywords: tuple[str, ...] = Field(min_length=1)
    """Words (case-insensitive) whose presence in an utterance or an interview answer means the event is meant."""


class Scenario(_Data):
    name: str = Field(min_length=1)
    description: str = ""
    start: str
    """When the simulated day begins (ISO 8601, e.g. 2023-02-14T07:00); residents wake at this time."""
    end: str
    """When it ends, on the same date."""
    success_share: float = Field(0.5, gt=0, le=1)
    """The diffusion (share of residents other than the host who know of the event at the end) that counts as
    success."""
    event: Event
    places: tuple[Place, ...] = Field(min_length=1)
    residents: tuple[Resident, ...] = Field(min_length=MIN_RESIDENTS, max_length=MAX_RESIDENTS)

    # --- reading ---------------------------------------------------------------------------------

    @property
    def start_time(self) -> datetime:
        return parse_time(self.start)

    @property
    def end_time(self) -> datetime:
        return parse_time(self.end)

    @property
    def hours(self) -> float:
        return (self.end_time - self.start_time).total_seconds() / 3600.0

    def resident(self, name: str) -> Resident:
        for resident in self.residents:
            if resident.name == name:
                return resident
        raise ConfigError(f"town scenario {self.name!r} has no resident {name!r}; residents: "
                          f"{', '.join(r.name for r in self.residents)}")

    def place_of(self, address: str) -> str:
        return address.split(_SEP, 1)[0]

    def addresses(self) -> list[str]:
        return [address(p.name, a.name) for p in self.places for a in p.areas]

    def known_addresses(self, resident: Resident) -> list[str]:
        """Where `resident` can go: the areas of public places, their home's place and the places they know."""
        own = {self.place_of(resident.home), *resident.knows}
        return [address(p.name, a.name) for p in self.places if p.public or p.name in own for a in p.areas]

    def objects_at(self, where: str) -> tuple[str, ...]:
        place, _, area = where.partition(_SEP)
        for p in self.places:
            if p.name == place:
                for a in p.areas:
                    if a.name == area:
                        return a.objects
        return ()

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=False)

    def scaled(self, residents: int | None) -> Scenario:
        """The first `residents` residents (the host always among them), for smaller runs."""
        if residents is None or residents >= len(self.residents):
            return self
        if residents < MIN_RESIDENTS:
            raise ConfigError(f"a town needs at least {MIN_RESIDENTS} residents, asked for {residents}")
        host = self.resident(self.event.host)
        kept = [r for r in self.residents if r.name != host.name][:residents - 1]
        ordered = [r for r in self.residents if r is host or r in kept]
        return self.model_copy(update={"residents": tuple(ordered)})


def address(place: str, area: str) -> str:
    return f"{place}{_SEP}{area}"


# --- loading and checking -------------------------------------------------------------------------


def shipped() -> list[str]:
    """The names of the scenarios the project ships, tiny first."""
    names = sorted(p.stem for p in SCENARIOS.glob("*.yaml"))
    return sorted(names, key=lambda n: (not n.startswith("tiny"), n))


def load_scenario(name: str) -> Scenario:
    """A shipped scenario by name."""
    path = SCENARIOS / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"no town scenario {name!r}; shipped: {', '.join(shipped())}, or give a JSON object of "
                          "the same shape")
    return read_file(path)


def read_file(path: str | Path) -> Scenario:
    """A scenario from a YAML or JSON file (one object)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"town scenario {path}: cannot read it ({exc})") from None
    if path.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"town scenario {path}: not valid YAML ({exc})") from None
    else:
        try:
            data = _json.loads(text)
        except ValueError as exc:
            raise ConfigError(f"town scenario {path}: not valid JSON ({exc})") from None
    return from_data(data, str(path))


def resolve(text: str) -> Scenario:
    """A simulation task's text: a shipped scenario's name, or a JSON object of a scenario."""
    stripped = (text or "").strip()
    if stripped.startswith("{"):
        try:
            data = _json.loads(stripped)
        except ValueError as exc:
            raise ConfigError(f"town scenario in the task text: not valid JSON ({exc})") from None
        return from_data(data, "the task text")
    return load_scenario(stripped)


def from_data(data: Any, where: str) -> Scenario:
    """Validate scenario data; a `ConfigError` names `where` and the first fields that are wrong."""
    if not isinstance(data, dict):
        raise ConfigError(f"town scenario {where}: expected an object (mapping), got {type(data).__name__}")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [f"{_path(e['loc'])}: {e['msg']}" for e in exc.errors()[:5]]
        raise ConfigError(f"town scenario {where}: " + "; ".join(problems)) from None
    for field, problem in _problems(scenario):
        raise ConfigError(f"town scenario {where}: {field}: {problem}")
    return scenario


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top)"


def _problems(s: Scenario):
    """Cross-field checks, each as (field, problem)."""
    for field in ("start", "end"):
        try:
            parse_time(getattr(s, field), what=field)
        except ConfigError as exc:
            yield field, str(exc)
            return
    if s.end_time <= s.start_time or s.end_time.date() != s.start_time.date():
        yield "end", f"{s.end} must be later than start {s.start}, on the same date (one simulated day)"
    seen: set[str] = set()
    for i, place in enumerate(s.places):
        if _SEP in place.name or place.name in seen:
            yield f"places[{i}].name", f"{place.name!r} is repeated or holds {_SEP!r}"
        seen.add(place.name)
        areas = [a.name for a in place.areas]
        for j, area in enumerate(areas):
            if _SEP in area or areas.index(area) != j:
                yield f"places[{i}].areas[{j}].name", f"{area!r} is repeated in {place.name!r} or holds {_SEP!r}"
    everywhere = set(s.addresses())
    names = [r.name for r in s.residents]
    for i, r in enumerate(s.residents):
        if names.index(r.name) != i:
            yield f"residents[{i}].name", f"{r.name!r} is repeated"
        if r.home not in everywhere:
            yield f"residents[{i}].home", f"{r.home!r} is not an address (Place:area) of this town"
        for j, known in enumerate(r.knows):
            if known not in seen:
                yield f"residents[{i}].knows[{j}]", f"{known!r} is not a place of this town"
        reachable = set(s.known_addresses(r))
        for j, item in enumerate(r.routine):
            if item.location not in reachable:
                yield (f"residents[{i}].routine[{j}].location",
                       f"{item.location!r} is not an address {r.name} knows (Place:area of a public place, their "
                       "home or a place they know)")
    if s.event.host not in names:
        yield "event.host", f"{s.event.host!r} is not a resident"
    event_place = next((p for p in s.places if p.name == s.event.place), None)
    if event_place is None:
        yield "event.place", f"{s.event.place!r} is not a place of this town"
    elif not event_place.public:
        yield "event.place", f"{s.event.place!r} is private: the event must be somewhere every resident can go"
    for field in ("start", "end"):
        try:
            parse_time(getattr(s.event, field), what=f"event {field}")
        except ConfigError as exc:
            yield f"event.{field}", str(exc)
            return
    if parse_time(s.event.end) <= parse_time(s.event.start):
        yield "event.end", "must be later than event.start"
    if any(not k.strip() for k in s.event.keywords):
        yield "event.keywords", "a keyword is empty"
