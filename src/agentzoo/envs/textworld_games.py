"""The TextWorld task set: which games, how they are made from a seed, and how a shipped game is played.

The games are TextWorld's own challenges (Côté et al. 2018, `textworld` 1.7), each made from a seed:

- `tw-simple` (a house, one quest: find a food item and put it on the stove) with rewards dense,
  balanced or sparse and the goal told in detail or briefly;
- `tw-coin_collector` (a chain of rooms; take the coin at its end), levels 1-300;
- `tw-treasure_hunter` (a maze; take the object the objective names, not the decoy), levels 1-30;
- `tw-cooking` (the First TextWorld Problem's games: read the cookbook, gather and prepare the
  ingredients, prepare and eat the meal), by recipe size and the skills it needs (open, cook, cut,
  a limited inventory) and the number of rooms.

Making a game takes 0.3 to 10 s (measured on this machine: tw-treasure_hunter level 25 9.4 s,
tw-simple 1.6-4.2 s) and compiling it to a Z-machine file about 1 s more, so the games are made once
by `scripts/make-textworld-games` and shipped as TextWorld's own game JSON
(`data/textworld/games.jsonl.gz`, 40 games, 0.25 MB). An episode compiles its game (deterministic:
the same JSON gives the same .z8 bytes) once per process into a temporary folder, and plays it in
Jericho's Z-machine interpreter as TextWorld does (`textworld.start`).
"""

from __future__ import annotations

import atexit
import gzip
import hashlib
import json
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError

GAMES_FILE = Path(__file__).parent / "data" / "textworld" / "games.jsonl.gz"


@dataclass(frozen=True)
class GameSpec:
    """One game of the task set: a TextWorld challenge, its settings, and the seed it is made from."""

    id: str
    """`<family>/<level>/<seed>`, e.g. `cooking/recipe2-go6/2`."""
    challenge: str
    """TextWorld's challenge name (`tw-simple`, `tw-coin_collector`, `tw-treasure_hunter`, `tw-cooking`)."""
    level: str
    """The difficulty as a label: what the settings say, in a word or two."""
    seed: int
    settings: dict[str, Any] = field(default_factory=dict)
    """The challenge's settings, as its `make(settings, options)` takes them."""


def _cooking(recipe: int, take: int, go: int, *skills: str) -> dict[str, Any]:
    flags = {skill: skill in skills for skill in ("open", "cook", "cut", "drop")}
    return {"recipe": recipe, "take": take, "go": go, **flags, "split": None}


AGENT_STEPS = 20
"""The harness's default step budget of its tool-calling agent (`--max-steps`): every shipped game is won by the
oracle within it (`fits_agent_steps`). Longer games exist (3-ingredient cooking games over 9 rooms with a
limited inventory take 42-48 commands); they need a larger budget than the default."""


def fits_agent_steps(walkthrough: list[str]) -> bool:
    """Whether the tool-calling oracle plays `walkthrough` in `AGENT_STEPS` replies: one `act` call per command,
    an `observe` call before a third identical command in a row, and the final answer."""
    from .stepping import oracle_replies

    return len(oracle_replies(walkthrough, "tool-calling")) <= AGENT_STEPS


# (family, challenge, level label, settings, how many games): 40 games, easy to hard within each family.
_LEVELS: list[tuple[str, str, str, dict[str, Any], int]] = [
    *[("simple", "tw-simple", f"{rewards}-{goal}", {"rewards": rewards, "goal": goal, "test": False}, 2)
      for rewards in ("dense", "balanced", "sparse") for goal in ("detailed", "brief")],
    *[("coin", "tw-coin_collector", f"level{level}", {"level": level}, 2) for level in (5, 10, 15, 110)],
    *[("treasure", "tw-treasure_hunter", f"level{level}", {"level": level}, 2) for level in (1, 10, 15, 25)],
    ("cooking", "tw-cooking", "recipe1", _cooking(1, 1, 1), 3),
    ("cooking", "tw-cooking", "recipe1-open-cook", _cooking(1, 1, 1, "open", "cook"), 3),
    ("cooking", "tw-cooking", "recipe3-open-cook", _cooking(3, 3, 1, "open", "cook"), 3),
    ("cooking", "tw-cooking", "recipe2-go6-cut", _cooking(2, 2, 6, "open", "cook", "cut"), 3),
]


def _specs() -> tuple[GameSpec, ...]:
    """The games of `_LEVELS`; seeds count up within a family (1, 2, 3, …), so no two games share one."""
    specs: list[GameSpec] = []
    seeds: dict[str, int] = {}
    for family, challenge, level, settings, count in _LEVELS:
        for _ in range(count):
            seed = seeds[family] = seeds.get(family, 0) + 1
            # tw-cooking draws its recipe from a seed of its own
            extra = {"recipe_seed": seed} if challenge == "tw-cooking" else {}
            specs.append(GameSpec(f"{family}/{level}/{seed}", challenge, level, seed, {**settings, **extra}))
    return tuple(specs)


SPECS: tuple[GameSpec, ...] = _specs()


def make_game(spec: GameSpec) -> dict[str, Any]:
    """The game `spec` describes, made by its TextWorld challenge, as TextWorld's game JSON.

    Deterministic given the seed, except for the order of one set (the grammar's `names_to_exclude`)
    that follows Python's string hashing; `scripts/make-textworld-games` runs with PYTHONHASHSEED=0.
    """
    textworld, _ = _textworld()
    from textworld.challenges import CHALLENGES

    options = textworld.GameOptions()
    options.seeds = spec.seed
    with warnings.catch_warnings():  # tw-simple plays its game in Jericho: "not fully supported" (TextWorld tracks)
        warnings.simplefilter("ignore")
        game = CHALLENGES[spec.challenge][1](dict(spec.settings), options)
    return json.loads(json.dumps(game.serialize()))  # plain JSON: its tuples become lists, numpy strings str


def read_games(path: Path = GAMES_FILE) -> Iterator[dict[str, Any]]:
    """The records of a games file (JSON lines, gzipped or not): `id`, `challenge`, `level`, `seed`,
    `settings`, `game` (TextWorld's game JSON)."""
    if not path.exists():
        raise ConfigError(f"TextWorld games file {path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                record = json.loads(line)
                missing = {"id", "game"} - set(record)
                if missing:
                    raise ConfigError(f"{path}:{number}: a game record needs {', '.join(sorted(missing))}")
                yield record


_compiled: dict[str, Path] = {}
engine_lock = threading.RLock()
"""Held while TextWorld compiles a game or starts one: both parse with its grammar library (tatsu), whose parsers
are not safe to run in two threads at once (a compile in a worker thread beside a start in the event loop's
thread failed with a TypeError inside tatsu, or a Jericho env without its game)."""
_folder: Path | None = None


def compiled_game(game: dict[str, Any]) -> Path:
    """The game compiled to a Z-machine file (its game JSON beside it, as TextWorld reads it), once per
    process: the path of the .z8 in a temporary folder removed at exit. Blocking (~1 s the first time)."""
    blob = json.dumps(game, sort_keys=True).encode()
    digest = hashlib.sha256(blob).hexdigest()[:24]
    with engine_lock:
        if digest not in _compiled:
            _compiled[digest] = _compile(game, _cache_folder() / digest)
        return _compiled[digest]


def _compile(game_json: dict[str, Any], folder: Path) -> Path:
    textworld, Game = _textworld()
    from textworld.generator import compile_game

    options = textworld.GameOptions()
    options.path = str(folder / "game.z8")
    options.force_recompile = True
    return Path(compile_game(Game.deserialize(game_json), options))


def _cache_folder() -> Path:
    global _folder
    if _folder is None:
        _folder = Path(tempfile.mkdtemp(prefix="agentzoo-textworld-"))
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder


def _textworld() -> tuple[Any, Any]:
    """The `textworld` package and its `Game` class, or a ConfigError that says how to install it."""
    try:
        import textworld
        from textworld.generator.game import Game
    except ImportError:
        raise ConfigError("the textworld environment needs the `textworld` package: "
                          "pip install 'agentzoo[envs]'") from None
    return textworld, Game
