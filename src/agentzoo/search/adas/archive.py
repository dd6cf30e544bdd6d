"""The archive of agent designs: a JSON file written after every evaluation, read to resume and to run.

    {"format": "agentzoo.adas.archive", "version": 1,
     "search": {"run_id": ..., "env": "gsm8k", "model": ..., "seed": 0, "valid_size": 128, ...},
     "generations_done": 3,
     "entries": [{"name", "thought", "code", "generation": "initial" | 1.., "fitness": {...} | null,
                  "evaluation": {...}, "attempts": 1}, ...],
     "dropped": [{"generation", "name", "reason", "attempts"}, ...]}

Entries are numbered from 0 in file order: the seven hand-designed agents are #0..#6 and the first
agent the search found is #7. `adas:archive.json#7` (or `#NAME`, a name only one entry has) names
one as an agent kind. Like ADAS's `*_run_archive.json`, the file alone is enough to resume: entries
without fitness are evaluated, then the search goes on at generation `generations_done + 1`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson

from ..._files import ensure_folder, why
from ...errors import UnusablePathError
from .errors import ArchiveError
from .evaluate import Fitness

FORMAT = "agentzoo.adas.archive"
VERSION = 1
PREFIX = "adas:"


@dataclass(frozen=True)
class Entry:
    """One agent design in the archive."""

    name: str
    code: str
    thought: str = ""
    generation: int | None = None
    """The generation that found it; None for the initial (hand-designed) agents."""
    fitness: Fitness | None = None
    """None until evaluated, or when its evaluation failed (then `evaluation` says why)."""
    evaluation: dict[str, Any] | None = None
    """What its evaluation gave besides fitness: outcomes, error, cost, where its runs are."""
    attempts: int = 1
    """Evaluations it took: 1, plus one per repair after an error."""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "thought": self.thought, "code": self.code,
                "generation": "initial" if self.generation is None else self.generation,
                "fitness": None if self.fitness is None else self.fitness.to_json(),
                "evaluation": self.evaluation, "attempts": self.attempts}

    @classmethod
    def from_json(cls, data: Any, where: str) -> Entry:
        if not isinstance(data, dict):
            raise ArchiveError(f"{where} is not an object")
        for key in ("name", "code"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise ArchiveError(f"{where} has no {key!r} text")
        generation = data.get("generation", "initial")
        if generation != "initial" and (isinstance(generation, bool) or not isinstance(generation, int)
                                        or generation < 1):
            raise ArchiveError(f"{where}: generation must be \"initial\" or a number from 1, not {generation!r}")
        fitness = data.get("fitness")
        try:
            fitness = None if fitness is None else Fitness.from_json(fitness)
        except (KeyError, TypeError) as exc:
            raise ArchiveError(f"{where}: fitness is not {{median, low, high, correct, total}} ({exc})") from None
        return cls(data["name"], data["code"], str(data.get("thought") or ""),
                   None if generation == "initial" else generation, fitness, data.get("evaluation"),
                   int(data.get("attempts") or 1))

    @property
    def generation_text(self) -> str:
        return "initial" if self.generation is None else str(self.generation)


@dataclass(frozen=True)
class Dropped:
    """A generation that added no agent: its candidate failed every repair, or its proposal was unusable."""

    generation: int
    name: str | None
    reason: str
    attempts: int

    def to_json(self) -> dict[str, Any]:
        return {"generation": self.generation, "name": self.name, "reason": self.reason, "attempts": self.attempts}


@dataclass
class Archive:
    """The whole file: the search's settings, the entries, the dropped generations."""

    entries: list[Entry]
    generations_done: int = 0
    dropped: list[Dropped] = field(default_factory=list)
    search: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "search": self.search, "generations_done": self.generations_done,
                "entries": [e.to_json() for e in self.entries], "dropped": [d.to_json() for d in self.dropped]}

    def state(self) -> dict[str, Any]:
        """What the search decided: entries, dropped generations and the count (not who ran it, or where)."""
        data = self.to_json()
        del data["search"]
        return data

    @classmethod
    def from_json(cls, data: Any, where: str) -> Archive:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ArchiveError(f"{where} is not an ADAS archive (a JSON object with \"format\": \"{FORMAT}\", as "
                               "`agentzoo adas search` writes it)")
        if data.get("version") != VERSION:
            raise ArchiveError(f"{where}: archive version {data.get('version')!r} is not one this agentzoo reads "
                               f"({VERSION})")
        entries = data.get("entries")
        if not isinstance(entries, list):
            raise ArchiveError(f"{where}: \"entries\" is not a list")
        done = data.get("generations_done", 0)
        if isinstance(done, bool) or not isinstance(done, int) or done < 0:
            raise ArchiveError(f"{where}: generations_done must be a count, not {done!r}")
        dropped = []
        for i, d in enumerate(data.get("dropped") or []):
            try:
                dropped.append(Dropped(int(d["generation"]), d.get("name"), str(d["reason"]), int(d["attempts"])))
            except (KeyError, TypeError, ValueError):
                raise ArchiveError(f"{where}: dropped[{i}] is not {{generation, name, reason, attempts}}") from None
        search = data.get("search") or {}
        if not isinstance(search, dict):
            raise ArchiveError(f"{where}: \"search\" is not an object")
        return cls([Entry.from_json(e, f"{where} entry #{i}") for i, e in enumerate(entries)], done, dropped, search)

    def with_entry(self, entry: Entry) -> Archive:
        return replace(self, entries=[*self.entries, entry])

    def select(self, which: str, where: str) -> tuple[int, Entry]:
        """The entry `which` names: an index from 0, or a name only one entry has."""
        if which.isdigit():
            index = int(which)
            if index >= len(self.entries):
                raise ArchiveError(f"{where} has {len(self.entries)} entries (#0 to #{len(self.entries) - 1}); there "
                                   f"is no entry #{index}")
            return index, self.entries[index]
        found = [i for i, e in enumerate(self.entries) if e.name == which]
        if len(found) == 1:
            return found[0], self.entries[found[0]]
        names = ", ".join(f"#{i} {e.name!r}" for i, e in enumerate(self.entries))
        if not found:
            raise ArchiveError(f"{where} has no entry named {which!r}; its entries: {names}")
        raise ArchiveError(f"{where} has {len(found)} entries named {which!r} "
                           f"({', '.join(f'#{i}' for i in found)}): name one by its index")


def read(path: str | os.PathLike[str]) -> Archive:
    """The archive in `path`; `ArchiveError` naming the file when it is missing, not JSON or not an archive."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ArchiveError(f"ADAS archive {path}: no such file") from None
    except OSError as exc:
        raise ArchiveError(f"ADAS archive {path}: {why(exc, path)}") from None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ArchiveError(f"ADAS archive {path} is not valid JSON: {exc}") from None
    return Archive.from_json(data, f"ADAS archive {path}")


def write(path: str | os.PathLike[str], archive: Archive) -> None:
    """Replace `path` with `archive` in one step (a temporary file renamed over it): a crash leaves the
    old file or the new one, never half of one."""
    path = Path(path)
    ensure_folder(path.parent, "folder of the ADAS archive")
    data = orjson.dumps(archive.to_json(), option=orjson.OPT_INDENT_2) + b"\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        raise UnusablePathError(f"cannot write the ADAS archive {path}: {why(exc, path)}") from None


def parse_ref(text: str) -> tuple[Path, str]:
    """`adas:PATH#WHICH` → (PATH, WHICH); WHICH is an index from 0 or an entry's name."""
    body = text[len(PREFIX):] if text.startswith(PREFIX) else text
    path, hash_, which = body.rpartition("#")
    if not hash_ or not path or not which:
        raise ArchiveError(f"agent {text!r}: name an archive entry as adas:ARCHIVE.json#N (N counts from 0) or "
                           "adas:ARCHIVE.json#NAME")
    return Path(path), which


def load_entry(text: str) -> tuple[Path, int, Entry]:
    """The archive entry `adas:PATH#WHICH` names."""
    path, which = parse_ref(text)
    index, entry = read(path).select(which, f"ADAS archive {path}")
    return path, index, entry
