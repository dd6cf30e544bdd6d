"""Translation dialogues: a user asks for translations turn by turn; later turns refer back to earlier ones.

Each task is one dialogue (`data/mt_dialogues/`, written for the project): the user's turns ask for a
sentence in English, French or Japanese ("Please translate into French: …", "And the same sentence in
Japanese?"), so a system must know where each request wants to go and keep the dialogue's state — the
setting of "Agent AI with LangGraph" (#56). It is a step environment: the first observation is the first
user turn, each action is the reply to the current turn, and the next observation is the next turn; the
episode ends after the last one.

Each reply is scored against the turn's reference with chrF (Popović 2015: the F-score over character
n-grams of orders 1–6, recall weighted β = 2, whitespace removed, as sacreBLEU computes it by default), in
0–100. The reward is the mean over the turns / 100; a dialogue counts as solved when every turn scores at
least `PASS_CHRF` — our bar for a usable translation of a short sentence (a reference-based score cannot
judge a valid paraphrase, so the bar is set below what good paraphrases reach).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .. import _json
from ..errors import ConfigError
from . import stepping
from .base import Episode, Score, ScoringContext, Task
from .step import ActionSpace, EpisodeRules, Observation, StepOutcome

DATA = Path(__file__).parent / "data" / "mt_dialogues" / "dialogues.json"
LANGUAGES = {"en": "English", "fr": "French", "ja": "Japanese"}
CHRF_ORDER = 6   # Popović 2015; sacreBLEU's CHRF default char_order=6
CHRF_BETA = 2.0  # Popović 2015: recall weighted twice as much as precision; sacreBLEU's default
PASS_CHRF = 40.0
"""A turn counts as translated at chrF ≥ 40 (ours: short sentences; exact references score 100, close
paraphrases 45–70 in our checks, an untranslated copy of the source below 20)."""
SPACE = ActionSpace("Reply to the user's turn with the translation they asked for, and nothing else.")


def chrf(hypothesis: str, reference: str, order: int = CHRF_ORDER, beta: float = CHRF_BETA) -> float:
    """chrF in 0–100: character n-gram precision and recall averaged over the orders both texts have, then
    the F-beta score of those averages (Popović 2015; whitespace removed, as sacreBLEU)."""
    hyp, ref = "".join(hypothesis.split()), "".join(reference.split())
    precisions, recalls = [], []
    for n in range(1, order + 1):
        h = Counter(hyp[i:i + n] for i in range(len(hyp) - n + 1))
        r = Counter(ref[i:i + n] for i in range(len(ref) - n + 1))
        if not h or not r:
            continue  # sacreBLEU's effective order: an order a text is too short for is left out
        matched = sum((h & r).values())
        precisions.append(matched / sum(h.values()))
        recalls.append(matched / sum(r.values()))
    if not precisions:
        return 100.0 if hyp == ref else 0.0
    p, r = sum(precisions) / len(precisions), sum(recalls) / len(recalls)
    if p == 0 and r == 0:
        return 0.0
    return 100.0 * (1 + beta**2) * p * r / (beta**2 * p + r)


def load_dialogues(path: Path = DATA) -> list[dict[str, Any]]:
    """The dialogues of `path`, checked: each has an id and turns with user, target (a known language) and
    reference; an error names the file, the dialogue and the field."""
    try:
        data = _json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read the translation dialogues ({exc})") from None
    dialogues = data.get("dialogues") if isinstance(data, dict) else None
    if not isinstance(dialogues, list) or not dialogues:
        raise ConfigError(f"{path}: needs \"dialogues\": a non-empty list")
    for i, d in enumerate(dialogues):
        where = f"{path}: dialogue {d.get('id', i) if isinstance(d, dict) else i}"
        if not isinstance(d, dict) or not isinstance(d.get("id"), str) or not isinstance(d.get("turns"), list) \
                or not d["turns"]:
            raise ConfigError(f"{where}: needs an \"id\" and a non-empty list of \"turns\"")
        for j, turn in enumerate(d["turns"]):
            if not isinstance(turn, dict) or not all(isinstance(turn.get(k), str) and turn[k].strip()
                                                     for k in ("user", "target", "reference")):
                raise ConfigError(f"{where}, turn {j}: needs user, target and reference (non-empty text)")
            if turn["target"] not in LANGUAGES:
                raise ConfigError(f"{where}, turn {j}: target {turn['target']!r} is not one of "
                                  f"{', '.join(LANGUAGES)}")
    return dialogues


class DialogueEpisode:
    """One dialogue being answered (a `StepEpisode`): which turn it is at and the replies given."""

    action_space = SPACE

    def __init__(self, turns: list[dict[str, Any]]) -> None:
        self.turns = turns
        self.replies: list[str] = []

    async def reset(self, seed: int | None = None) -> Observation:
        self.replies = []
        return self._turn(0)

    async def step(self, action: str) -> StepOutcome:
        if len(self.replies) >= len(self.turns):
            return StepOutcome(Observation("The dialogue is over."), done=True, info={"parse_error": "after the end"})
        reply = action.strip()
        turn = self.turns[len(self.replies)]
        self.replies.append(reply)
        score = chrf(reply, turn["reference"])
        done = len(self.replies) == len(self.turns)
        info = {"chrf": round(score, 2), "action": f"turn {len(self.replies)}"}
        if done:
            return StepOutcome(Observation("Thank you, that is all."), self.reward(), True, info)
        return StepOutcome(self._turn(len(self.replies)), 0.0, False, info)

    def scores(self) -> list[float]:
        return [chrf(r, t["reference"]) for r, t in zip(self.replies, self.turns)]

    def reward(self) -> float:
        return sum(self.scores()) / len(self.turns) / 100.0

    def _turn(self, i: int) -> Observation:
        return Observation(self.turns[i]["user"], {"turn": i, "turns": len(self.turns)})

    def snapshot(self) -> dict[str, Any]:
        return {"replies": list(self.replies)}

    def restore(self, state: dict[str, Any]) -> None:
        self.replies = list(state["replies"])

    async def close(self) -> None:
        pass


class MTDialogues:
    """Translation dialogues (`Environment` and `StepEnvironment`); see the module doc."""

    name = "mt-dialogues"
    answer_kind = "tool-calls"
    rules = EpisodeRules(max_steps=12)

    def __init__(self, tasks_file: str | Path | None = None, **options: Any) -> None:
        if options:
            raise ConfigError(f"mt-dialogues takes no options, got {', '.join(sorted(options))}")
        self._dialogues = {d["id"]: d for d in load_dialogues(Path(tasks_file) if tasks_file else DATA)}

    def tasks(self) -> list[Task]:
        return [Task(self.name, f"mt-dialogues/{d['id']}",
                     "Answer each of the user's turns with the translation asked for.",
                     [t["reference"] for t in d["turns"]], {"turns": d["turns"]})
                for d in self._dialogues.values()]

    def action_space(self, task: Task) -> ActionSpace:
        return SPACE

    def step_episode(self, task: Task) -> DialogueEpisode:
        return DialogueEpisode(task.data["turns"])

    def episode(self, task: Task) -> Episode:
        return stepping.episode_for(self, task, first_observation=Observation(task.data["turns"][0]["user"]))

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        driver = stepping.driver_of(episode)
        record = driver.record
        replies = list((record.snapshot or {}).get("replies", [])) if record is not None else []
        await driver.close()
        turns = episode.task.data["turns"]
        scores = [chrf(r, t["reference"]) for r, t in zip(replies, turns)] + [0.0] * (len(turns) - len(replies))
        solved = len(replies) == len(turns) and all(s >= PASS_CHRF for s in scores)
        return Score(sum(scores) / len(turns) / 100.0, solved,
                     {"chrf": [round(s, 2) for s in scores], "answered": len(replies), "turns": len(turns)})

    def oracle(self, task: Task, agent: str) -> list[Any]:
        return stepping.oracle_replies(list(task.gold), agent, answer="done")
