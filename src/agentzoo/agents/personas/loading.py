"""Personas as data: YAML or JSON files, checked when read, with errors that name the file and the field.

    name: Wren Halloway
    type: character                  # demographic | character | individualized
    description: one paragraph       # optional
    storyline: {arrival: 1, storm: 3}          # optional named points
    attributes:                      # character: HPD's 13 types; others: their `fields`
      Gender: girl                   # holds from the start
      Age: [{value: 12, since: start}, {value: 13, since: storm}]  # a timeline (`start`: always)
      Belongings: [{value: [tin whistle, Brass Lens], since: 3}]   # a list value
    relations:
      Odo Brack:
        Opponent: [{value: true, since: 1}, {value: false, since: 3}]
        Affection: [{value: -4, since: 1}, {value: 6, since: 3}]   # HPD's scale, -10..10
        Note: rival apprentice

An individualized persona lists its profile slots (`fields:`, default `schema.DEFAULT_USER_FIELDS`); a
demographic one names its population template (`template:`, see `population`), whose fields and values
its attributes must come from. The shipped personas are in `data/` beside this module; `PersonaLibrary`
finds one by file stem or by name, in those and in folders of your own.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from .persona import Persona, resolve_point
from .schema import ATTRIBUTE_TYPES, BINARY_RELATIONS, DEFAULT_USER_FIELDS, NOTE, PERSONA_TYPES, RELATION_FIELDS, SCORED_RELATIONS
from .timeline import START, Timed, Timeline

SHIPPED = Path(__file__).parent / "data"
TEMPLATES = SHIPPED / "templates"
SUFFIXES = (".yaml", ".yml", ".json")
KEYS = ("id", "name", "type", "description", "fields", "storyline", "attributes", "relations", "template", "source")


def read_data(path: Path, what: str = "persona file") -> Any:
    """The YAML or JSON data of `path`; a `ConfigError` naming the file when it cannot be read or parsed."""
    import yaml  # JSON is YAML too, so one parser reads both

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path}: cannot read it: {exc}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{what} {where}: not valid YAML or JSON: {getattr(exc, 'problem', exc)}") from None


def load_persona(path: str | Path) -> Persona:
    """The persona in the file at `path`, checked (see the module)."""
    path = Path(path)
    return persona_from_data(read_data(path), source=str(path), default_id=path.stem)


def persona_from_data(data: Any, *, source: str = "<data>", default_id: str | None = None) -> Persona:
    """A persona from plain data (a file's contents), checked; errors name `source` and the field."""
    where = _Where(source)
    if not isinstance(data, Mapping):
        raise where.error("", f"a persona is a mapping with name, type and attributes, not {_kind(data)}")
    for key in data:
        if key not in KEYS:
            raise where.error(str(key), f"unknown field; a persona has {', '.join(KEYS)}")
    name = where.text(data.get("name"), "name")
    kind = data.get("type")
    if kind not in PERSONA_TYPES:
        raise where.error("type", f"{kind!r} is not a persona type; types: {', '.join(PERSONA_TYPES)}")
    pid = where.text(data.get("id", default_id or name), "id")
    description = where.text(data.get("description", ""), "description", empty=True)
    storyline = _storyline(data.get("storyline", {}), where)
    template = None
    allowed: Mapping[str, tuple[str, ...]] = {}
    if kind == "character":
        if "fields" in data:
            raise where.error("fields", "a character persona's fields are HPD's 13 attribute types; leave it out")
        fields = ATTRIBUTE_TYPES
    elif kind == "individualized":
        fields = _fields(data.get("fields", list(DEFAULT_USER_FIELDS)), where)
    else:
        if "fields" in data:
            raise where.error("fields", "a demographic persona's fields come from its template; leave it out")
        template_ref = where.text(data.get("template"), "template")
        from .population import find_template

        found = find_template(template_ref, where=f"{source}: field 'template'")
        template, fields, allowed = found.name, tuple(found.fields), {k: f.values for k, f in found.fields.items()}
    raw_attributes = data.get("attributes", {}) or {}
    if not isinstance(raw_attributes, Mapping):
        raise where.error("attributes", f"expected a mapping of attribute -> value, not {_kind(raw_attributes)}")
    attributes = {}
    for slot, raw in raw_attributes.items():
        path = f"attributes.{slot}"
        if slot not in fields:
            what = {"character": "HPD attribute type", "individualized": "profile slot (see 'fields')",
                    "demographic": f"field of template {template!r}"}[kind]
            raise where.error(path, f"unknown {what}; known: {', '.join(fields)}")
        timeline = _timeline(raw, where, path, storyline, _attribute_value)
        if kind == "demographic":
            _check_allowed(timeline, allowed[slot], where, path)
        attributes[slot] = timeline
    relations = _relations(data.get("relations", {}) or {}, where, storyline)
    return Persona(pid, name, kind, description, tuple(fields), attributes, relations, storyline, template, source)


class PersonaLibrary:
    """Persona files found by stem or by name: the shipped ones and those in `folders`."""

    def __init__(self, folders: Iterable[str | Path] = (), *, shipped: bool = True) -> None:
        self.folders = [Path(f) for f in folders]
        for folder in self.folders:
            if not folder.is_dir():
                raise ConfigError(f"persona folder {folder}: no such folder")
        if shipped:
            self.folders.append(SHIPPED)
        self._loaded: dict[Path, Persona] = {}

    def files(self) -> list[Path]:
        """Every persona file, the caller's folders first (a template folder is not personas)."""
        found = []
        for folder in self.folders:
            for path in sorted(folder.rglob("*")):
                if path.suffix in SUFFIXES and path.is_file() and TEMPLATES not in path.parents:
                    found.append(path)
        return found

    def names(self) -> list[str]:
        return [p.stem for p in self.files()]

    def load(self, path: Path) -> Persona:
        if path not in self._loaded:
            self._loaded[path] = load_persona(path)
        return self._loaded[path]

    def get(self, ref: str | Path) -> Persona:
        """The persona `ref` names: a file path, a file stem, or a persona's `name` (any case)."""
        found = self.find(ref)
        if found is None:
            raise ConfigError(f"no persona {str(ref)!r}: give a persona file (.yaml or .json) or one of "
                              f"{', '.join(self.names()) or '(none)'}")
        return found

    def find(self, ref: str | Path) -> Persona | None:
        """As `get`, or None when no persona has that stem or name (a path that does not exist is an error)."""
        text = str(ref)
        if Path(text).suffix in SUFFIXES or "/" in text or "\\" in text:
            path = Path(text).expanduser()
            if not path.is_file():
                raise ConfigError(f"persona file {path}: no such file")
            return self.load(path.resolve())
        matches = [p for p in self.files() if p.stem == text]
        if not matches:
            wanted = text.casefold()
            matches = [p for p in self.files() if self.load(p).name.casefold() == wanted]
        return self.load(matches[0]) if matches else None


# --- checks -----------------------------------------------------------------------------------------


class _Where:
    """Where a value is, for errors: the file, then the field path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: field {path!r}: {problem}" if path else f"{self.source}: {problem}")

    def text(self, value: Any, path: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            raise self.error(path, f"expected {'text' if empty else 'non-empty text'}, got {_kind(value)}")
        return value.strip()


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"[:80]


def _fields(raw: Any, where: _Where) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise where.error("fields", f"expected a non-empty list of profile slot names, got {_kind(raw)}")
    fields = tuple(where.text(f, f"fields[{i}]") for i, f in enumerate(raw))
    if len(set(fields)) != len(fields):
        raise where.error("fields", "a slot is listed twice")
    return fields


def _storyline(raw: Any, where: _Where) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise where.error("storyline", f"expected a mapping of point name -> number, got {_kind(raw)}")
    points = {}
    for name, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise where.error(f"storyline.{name}", f"expected a number, got {_kind(value)}")
        points[str(name)] = float(value)
    return points


def _timeline(raw: Any, where: _Where, path: str, storyline: Mapping[str, float], value_of) -> Timeline:
    """A constant (`Gender: girl`), one `{value, since}`, or a list of them; values checked by `value_of`."""
    if isinstance(raw, Mapping):
        raw = [raw]
    elif not (isinstance(raw, list) and raw and all(isinstance(item, Mapping) for item in raw)):
        if isinstance(raw, list) and any(isinstance(item, Mapping) for item in raw):
            raise where.error(path, "a timeline is a list of {value, since} entries only; a list of texts is a value")
        return Timeline.constant(value_of(raw, where, path))
    entries = []
    for i, item in enumerate(raw):
        at = f"{path}[{i}]"
        for key in item:
            if key not in ("value", "since"):
                raise where.error(f"{at}.{key}", "unknown key; a timeline entry has value and since")
        if "value" not in item:
            raise where.error(f"{at}.value", "required (null clears the slot from `since` on)")
        if item.get("since") is None:
            raise where.error(f"{at}.since", "required: the storyline point the value holds from (`start`: always)")
        since = START if item["since"] == "start" else resolve_point(
            item["since"], storyline, f"{where.source}: field '{at}.since'")
        if any(e.since == since for e in entries):
            raise where.error(f"{at}.since", f"two values hold from the same point {item['since']!r}")
        entries.append(Timed(value_of(item["value"], where, f"{at}.value"), since))
    return Timeline(tuple(sorted(entries, key=lambda e: e.since)))


def _attribute_value(raw: Any, where: _Where, path: str) -> Any:
    """Attributes are text or lists of text (numbers read as text); None clears."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise where.error(path, f"expected text or a list of texts, got {raw!r} (quote it if it is text)")
    if isinstance(raw, (str, int, float)):
        return str(raw).strip()
    if isinstance(raw, list) and all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in raw):
        return tuple(str(v).strip() for v in raw)
    raise where.error(path, f"expected text or a list of texts, got {_kind(raw)}")


def _check_allowed(timeline: Timeline, allowed: tuple[str, ...], where: _Where, path: str) -> None:
    for entry in timeline.entries:
        values = entry.value if isinstance(entry.value, tuple) else (entry.value,)
        for value in values:
            if value is not None and value not in allowed:
                raise where.error(path, f"{value!r} is not a value of the template; values: {', '.join(allowed)}")


def _relations(raw: Any, where: _Where, storyline: Mapping[str, float]) -> dict[str, dict[str, Timeline]]:
    if not isinstance(raw, Mapping):
        raise where.error("relations", f"expected a mapping of person -> relation fields, got {_kind(raw)}")
    relations: dict[str, dict[str, Timeline]] = {}
    for other, slots in raw.items():
        if not isinstance(slots, Mapping) or not slots:
            raise where.error(f"relations.{other}", f"expected a mapping of relation fields "
                              f"({', '.join(RELATION_FIELDS)}), got {_kind(slots)}")
        relations[str(other)] = {}
        for slot, value in slots.items():
            path = f"relations.{other}.{slot}"
            if slot not in RELATION_FIELDS:
                raise where.error(path, f"unknown relation; HPD's relations: {', '.join(RELATION_FIELDS)}")
            relations[str(other)][slot] = _timeline(value, where, path, storyline, _relation_value(slot))
    return relations


def _relation_value(slot: str):
    def check(raw: Any, where: _Where, path: str) -> Any:
        if raw is None:
            return None
        if slot in BINARY_RELATIONS:
            if not isinstance(raw, bool):
                raise where.error(path, f"{slot} is a binary relation: true or false, got {_kind(raw)}")
            return raw
        if slot == NOTE:
            return where.text(raw, path)
        low, high = SCORED_RELATIONS[slot]
        if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
            raise where.error(path, f"{slot} is a whole number from {low} to {high} (HPD's scale), got {_kind(raw)}")
        return raw

    return check
