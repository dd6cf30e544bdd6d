"""TextWorld text adventures as a step environment (`agentzoo eval --env textworld`).

    env = get_env("textworld")                    # 40 shipped games: tw-simple, coin collector,
                                                  # treasure hunter, cooking (`textworld_games.SPECS`)
    env = get_env("textworld", "my-games.jsonl")  # a games file of the same format

An episode plays one game in Jericho's Z-machine interpreter as `textworld.start` does. `reset` gives the
game's introduction (its objective) and the first room; `step(command)` sends one command, typed as a
player would (`open antique trunk`, `go east`), and gives the game's answer, the score it gained as the
reward, and done when the game is won or lost. Every observation carries the commands the game would
accept right now (`admissible_commands`, from TextWorld's own state tracking), the score, the maximum
score and the moves. The score of a sample is the game's score over its maximum (1.0: won with every
point); success is winning.

What the episode does to commands, and why: whitespace (newlines too) is collapsed to one space, so a
command is one command; the interpreter's own commands (`quit`, `restart`, `restore`, `save`, `undo`)
and TextWorld's debugging ones (`tw-…`) are refused with a message and not sent, since they would change
the interpreter's state behind TextWorld's tracking; a step after the game has ended does nothing.

The episode rules (`rules`): 100 actions; 3 commands in a row that Inform's parser could not read
(`PARSER_ERRORS`, flagged `parse_error`); 3 identical actions in a row, where an action is the command and
the room it is typed in (`go east` down a corridor is progress, not a repeat).

Snapshot and restore: Jericho's state is a memory image and TextWorld's tracking is Python objects, neither
JSON. The game is deterministic given the interpreter's seed (measured: every command 2-7 ms), so the
snapshot is the game's id, the seed and the commands played, and `restore` replays them on a fresh engine
(30 commands: ~0.15 s).

Reference points (3 seeds per game, all 40 games): the oracle (the walkthrough) scores 1.0 on each; a random
player of admissible commands scores 0.32 of the points and wins 20 of 120 games in 100 steps, 0.10 and 7
of 120 in 20 steps (the harness's default agent budget); by family at 100 steps: tw-simple dense 0.50, sparse
0.17, coin collector level 5 1.0 and level 15 0.0, cooking 0.08-0.33.
"""

from __future__ import annotations

import asyncio
import re
import warnings
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import stepping
from .base import Episode, Score, ScoringContext, Task
from .step import ActionSpace, EpisodeRules, Observation, StepOutcome
from .textworld_games import GAMES_FILE, compiled_game, engine_lock, read_games

# Jericho treats seed 0 as "no seed: use the clock", so the interpreter gets 1 + the episode's seed.
DEFAULT_SEED = 0
REFUSED = ("quit", "q", "restart", "restore", "save", "undo")
REFUSED_MESSAGE = "That command is not available in this game."
ENDED_MESSAGE = "The game has ended."
PROMPT = "Play this text adventure game to its end: reach its goal, which the game tells you at the start."
PLACEHOLDERS = {"c": "container", "d": "door", "o": "object", "s": "supporter", "k": "key", "f": "food",
                "t": "thing"}
# Inform 7's answers to a command its parser could not read (a parse failure for the episode rules); "You
# can't see any such thing." is not one: the command was read, and names nothing here.
PARSER_ERRORS = ("That's not a verb I recognise.", "I didn't understand that sentence.", "I beg your pardon?",
                 "I only understood you as far as", "I didn't understand the way that finished.")
_BANNER_CHARS = set(" _|\\/$<>")
_STATUS_LINE = re.compile(r"-= (.*?) =-\d+/\d+\s*\Z")
"""The interpreter's status line, after the prompt: the room, the score and the moves."""
_PROMPT_LINE = re.compile(r"\n*>[^\n]*\Z")
_ASK_RESTART = re.compile(r"\s*Would you like to RESTART, RESTORE a saved game, QUIT or UNDO the last command\?\s*")
_BLANK_LINES = re.compile(r"\n{3,}")


def clean_text(raw: str) -> str:
    """The game's text as a reader sees it: no ASCII-art banner before the introduction, no status line
    after the prompt `>`, no offer to restart at the end, at most one blank line in a row."""
    lines = raw.split("\n")
    while lines and set(lines[0]) <= _BANNER_CHARS:
        lines.pop(0)
    text = "\n".join(lines)
    text = _PROMPT_LINE.sub("", text.rstrip())
    text = _ASK_RESTART.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def normalise(command: str) -> str:
    """One command: whitespace runs (newlines too) become one space, ends trimmed."""
    return " ".join(command.split())


def action_space(verbs: list[str], templates: list[str]) -> ActionSpace:
    """What the agent is told: the verbs this game knows and the shapes of its commands."""
    shapes = [re.sub(r"\{(\w+)\}", lambda m: f"<{PLACEHOLDERS.get(m.group(1), m.group(1))}>", t) for t in templates]
    description = ("Type one command per step, in plain words, as a player of a text adventure would. "
                   f"Verbs this game understands: {', '.join(verbs)}. Command shapes: {'; '.join(shapes)}.")
    return ActionSpace(description, tuple(verbs))


class TextWorldEpisode:
    """One TextWorld game, played command by command (the `StepEpisode` protocol)."""

    def __init__(self, game_id: str, game: dict[str, Any], space: ActionSpace) -> None:
        self.game_id = game_id
        self.game = game
        self.action_space = space
        self.seed = DEFAULT_SEED
        self.commands: list[str] = []
        """Every command since the reset, as given: the snapshot."""
        self.intro = ""
        """The interpreter's raw text at the reset (banner, objective, first room)."""
        self._env: Any = None
        self._score = 0
        self._room = ""
        self._last: Observation | None = None
        self._done = False

    async def reset(self, seed: int | None = None) -> Observation:
        await asyncio.to_thread(compiled_game, self.game)  # ~1 s, once per process per game
        return self._start(DEFAULT_SEED if seed is None else seed)

    async def step(self, action: str) -> StepOutcome:
        return self._step(action)

    def snapshot(self) -> dict[str, Any]:
        return {"game": self.game_id, "seed": self.seed, "commands": list(self.commands)}

    def restore(self, state: dict[str, Any]) -> None:
        if state.get("game") != self.game_id:
            raise ConfigError(f"a snapshot of TextWorld game {state.get('game')!r} cannot restore game "
                              f"{self.game_id!r}")
        self._start(int(state.get("seed", DEFAULT_SEED)))
        for command in state.get("commands", []):
            self._step(command)

    async def close(self) -> None:
        self._close()

    @property
    def observation(self) -> Observation | None:
        """The last observation (after a reset, a step or a restore)."""
        return self._last

    @property
    def score(self) -> int:
        return self._score

    @property
    def won(self) -> bool:
        return bool(self._last and self._last.data["won"])

    # -- the engine ---------------------------------------------------------------------------------------

    def _start(self, seed: int) -> Observation:
        import textworld

        self._close()
        infos = textworld.EnvInfos(admissible_commands=True, score=True, max_score=True, won=True, lost=True,
                                   moves=True)
        with engine_lock, warnings.catch_warnings():  # Jericho's "not fully supported": TextWorld tracks the score
            warnings.simplefilter("ignore")
            self._env = textworld.start(str(compiled_game(self.game)), request_infos=infos)
            self._env.seed(seed + 1)
            state = self._env.reset()
        self.seed, self.commands, self._done = seed, [], False
        self._score, self.intro = int(state["score"] or 0), state.feedback
        self._last = self._observe(state)
        return self._last

    def _step(self, action: str) -> StepOutcome:
        if self._env is None or self._last is None:
            raise ConfigError("a TextWorld episode must be reset (or restored) before it is stepped")
        self.commands.append(action)
        command = normalise(action)
        # The rules' reading of the action: the same command in another room is another action (walking
        # east down a corridor is not repeating oneself).
        info: dict[str, Any] = {"action": f"{command} @ {self._room}"}
        if self._done:
            return self._unchanged(ENDED_MESSAGE, {**info, "ended": True})
        word = command.split(" ", 1)[0].lower()
        if word in REFUSED or word.startswith("tw-"):
            return self._unchanged(REFUSED_MESSAGE, {**info, "refused": True})
        info["admissible"] = command in self._last.data["admissible_commands"]
        with engine_lock:  # a step parses too (see engine_lock)
            state, score, done = self._env.step(command)
        reward, self._score, self._done = int(score) - self._score, int(score), bool(done)
        self._last = self._observe(state)
        if self._last.text.startswith(PARSER_ERRORS):
            info["parse_error"] = self._last.text
        if done:
            info["end"] = "won" if state["won"] else "lost"
        return StepOutcome(self._last, float(reward), self._done, info)

    def _unchanged(self, message: str, info: dict[str, Any]) -> StepOutcome:
        """Nothing sent to the game: the same state, and why."""
        assert self._last is not None
        self._last = Observation(message, self._last.data)
        return StepOutcome(self._last, 0.0, self._done, info)

    def _observe(self, state: Any) -> Observation:
        room = _STATUS_LINE.search(state.feedback)
        if room:
            self._room = room.group(1)
        data = {"room": self._room, "admissible_commands": list(state["admissible_commands"] or []),
                "score": self._score, "max_score": int(state["max_score"]), "moves": int(state["moves"] or 0),
                "won": bool(state["won"]), "lost": bool(state["lost"])}
        return Observation(clean_text(state.feedback), data)

    def _close(self) -> None:
        if self._env is not None:
            self._env.close()
            self._env = None


class TextWorld:
    """TextWorld's generated games (`textworld_games`) as tasks, one game each (`Environment` and
    `StepEnvironment`)."""

    name = "textworld"
    answer_kind = "tool-calls"
    # The longest walkthrough here is 48 commands; 100 leaves an agent room to explore (ours). A walkthrough
    # says the same command up to 5 times in a row (go east, go east, …), in other rooms: the rule's reading
    # of an action names its room (`TextWorldEpisode._step`), so that is not a repeat.
    rules = EpisodeRules(max_steps=100, max_parse_failures=3, max_repeated_actions=3)

    def __init__(self, tasks_file: str | Path | None = None, **options: Any) -> None:
        if options:
            raise ConfigError(f"textworld takes no options, got {', '.join(sorted(options))}")
        self.path = Path(tasks_file) if tasks_file else GAMES_FILE
        self._records: dict[str, dict[str, Any]] | None = None

    def records(self) -> dict[str, dict[str, Any]]:
        if self._records is None:
            self._records = {r["id"]: r for r in read_games(self.path)}
        return self._records

    def record(self, task: Task) -> dict[str, Any]:
        try:
            return self.records()[task.id]
        except KeyError:
            raise ConfigError(f"no TextWorld game {task.id!r} in {self.path}") from None

    def tasks(self) -> list[Task]:
        return [self._task(r) for r in self.records().values()]

    def _task(self, record: dict[str, Any]) -> Task:
        data = {key: record[key] for key in ("challenge", "level", "seed", "settings", "max_score")}
        return Task(self.name, record["id"], PROMPT, list(record["walkthrough"]), data)

    def action_space(self, task: Task) -> ActionSpace:
        record = self.record(task)
        return action_space(record["verbs"], record["templates"])

    def step_episode(self, task: Task) -> TextWorldEpisode:
        return TextWorldEpisode(task.id, self.record(task)["game"], self.action_space(task))

    def episode(self, task: Task) -> Episode:
        return stepping.episode_for(self, task, first_observation=clean_text(self.record(task)["intro"]))

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        progress = stepping.progress_of(episode)
        max_score = episode.task.data["max_score"]
        won = progress.done and episode.state["info"].get("end") == "won"
        await stepping.driver_of(episode).close()  # scored once: release the interpreter
        return Score(min(1.0, progress.reward / max_score), won,
                     {"score": progress.reward, "max_score": max_score, "won": won, "steps": progress.steps,
                      "stopped": progress.stopped, "walkthrough": len(episode.task.gold)})

    def oracle(self, task: Task, agent: str) -> list[Any]:
        return stepping.oracle_replies(list(task.gold), agent, answer="I have won the game.")
