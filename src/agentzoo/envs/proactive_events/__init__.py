"""`proactive-events`: streams of user activity events; at each event the agent proposes a task or stays silent.

After ProactiveBench (Lu et al. 2024, "Proactive Agent: Shifting LLM Agents from Reactive Responses to Active
Assistance", thunlp/ProactiveAgent): a gym replays what a user does (coding, writing, daily life) one event at a
time; at each the agent either proposes a task or says nothing, and a judge decides whether the user accepts the
proposal. The streams here are ours (`data/streams.json`: 8 streams of 4-6 events), each event labelled with
whether help is needed and, if so, which words a proposal must name to be accepted and one accepted proposal
(the gold). The judge is the labels by default (`judge.LabelJudge`); `judge="<model spec>"` (or
`{model: STRING, model_options: {KEY: VALUE}}`, with its client's settings) asks a model for a
strict JSON verdict on each proposal instead (`judge.ModelJudge`), inside the step, so the verdict is in the
step's journal record and a replay asks no judge.

A step episode (`envs.step`): the observation is the current event; the actions are `propose [task]` and
`none`; each action is judged and the stream moves to the next event; the episode ends after the last one.
The score's details carry ProactiveBench's metrics over the stream's turns (`metrics.metrics`: TP, FP, TN, FN,
Recall, Precision, Accuracy, False-Alarm, F1, Accept-Rate); the reward is the stream's Accuracy (a turn not
taken counts as wrong), success is every turn right.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ... import _json
from ...errors import ConfigError, UserError
from .. import stepping
from ..base import Episode, Score, ScoringContext, Task
from ..step import ActionSpace, EpisodeRules, Observation, StepOutcome
from .judge import (
    Judge,
    JudgeError,
    LabelJudge,
    ModelJudge,
    parse_verdict,
    silence_right,
)
from .metrics import confusion, metrics

__all__ = ["Judge", "JudgeError", "LabelJudge", "ModelJudge", "ProactiveEvents", "StreamEpisode", "confusion",
           "metrics", "parse_action", "parse_verdict"]

DATA = Path(__file__).parent / "data" / "streams.json"
SPACE = ActionSpace(
    "At each event, either offer the user a task you would do for them, or stay silent:\n"
    "- `propose [task]`: propose the task, e.g. `propose [Draft a reply to the client's email]`;\n"
    "- `none`: say nothing; the user needs no help now.",
    ("propose", "none"))
_PROPOSE = re.compile(r"propose\s*\[(?P<task>.*)\]\s*", re.DOTALL | re.IGNORECASE)


def parse_action(text: str) -> str | None:
    """`propose [task]` -> the task; `none` -> None; anything else is a ValueError saying what is expected."""
    source = text.strip().strip("`").strip()
    if source.lower() in ("none", "none."):
        return None
    found = _PROPOSE.fullmatch(source)
    if found is None or not found.group("task").strip():
        raise ValueError(f"not an action: {source[:80]!r}; write `propose [task]` or `none`")
    return found.group("task").strip()


@lru_cache(maxsize=4)
def load_streams(path: str) -> tuple[dict[str, Any], ...]:
    try:
        data = _json.loads(Path(path).read_text(encoding="utf-8"))
        streams = tuple(data["streams"])
        for stream in streams:
            for event in stream["events"]:
                if event["help"] is not None and not (event["help"]["accept"] and event["help"]["task"]):
                    raise ValueError(f"{stream['id']}: an event that needs help names accept words and a task")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"{path}: not a proactive-events streams file ({exc})") from None
    return streams


def describe(stream: dict[str, Any], index: int, note: str = "") -> Observation:
    events = stream["events"]
    if index >= len(events):
        return Observation(f"{note}The stream has ended.", {"event": index, "events": len(events)})
    event = events[index]
    text = f"{note}Event {index + 1} of {len(events)} [{event['time']}]: {event['event']}"
    return Observation(text, {"event": index, "events": len(events), "time": event["time"]})


class StreamEpisode:
    """One stream being watched. Its state: the next event's index and the turns judged so far."""

    action_space = SPACE

    def __init__(self, stream: dict[str, Any], judge: Judge) -> None:
        self.stream, self.judge = stream, judge
        self.index = 0
        self.turns: list[dict[str, Any]] = []

    async def reset(self, seed: int | None = None) -> Observation:
        self.index, self.turns = 0, []
        return describe(self.stream, 0)

    async def step(self, action: str) -> StepOutcome:
        events = self.stream["events"]
        if self.index >= len(events):
            return StepOutcome(describe(self.stream, self.index), done=True, info={"turns": self.turns})
        try:
            prediction = parse_action(action)
        except ValueError as exc:
            return StepOutcome(describe(self.stream, self.index, f"{exc}. "),
                               info={"parse_error": str(exc), "turns": self.turns})
        event = events[self.index]
        if prediction is None:
            judged = silence_right(event)
        else:
            judged = await self.judge.accepts(prediction, event, events[:self.index])
        self.turns.append({"event": self.index, "prediction": prediction, "judgement": judged})
        self.index += 1
        done = self.index >= len(events)
        note = ("The user accepted the proposal. " if judged else "The user rejected the proposal. ") \
            if prediction is not None else ""
        # Two silences at two events are two decisions, not a repeat: the rules compare this reading.
        understood = f"{'propose' if prediction is not None else 'none'} at event {self.index}"
        return StepOutcome(describe(self.stream, self.index, note), 1.0 if judged else 0.0, done,
                           {"action": understood, "turns": list(self.turns)})

    def snapshot(self) -> dict[str, Any]:
        return {"index": self.index, "turns": _json.loads(_json.dumps(self.turns))}

    def restore(self, state: dict[str, Any]) -> None:
        self.index, self.turns = state["index"], list(state["turns"])

    async def close(self) -> None:
        pass


class ProactiveEvents:
    """Streams of user activity to assist proactively (`Environment` and `StepEnvironment`)."""

    name = "proactive-events"
    answer_kind = "tool-calls"
    rules = EpisodeRules()

    def __init__(self, tasks_file: str | Path | None = None, *, judge: str | dict[str, Any] = "labels") -> None:
        self.streams = {s["id"]: s for s in load_streams(str(tasks_file or DATA))}
        if judge == "labels":
            self.judge: Judge = LabelJudge()
        else:
            from ...models.registry import env_model

            self.judge = ModelJudge(env_model(judge, "environment proactive-events, option judge"))

    def tasks(self) -> list[Task]:
        return [Task(self.name, sid, f"Watch the user's activity ({s['domain']}) and, at each event, propose a "
                     "task that would help or stay silent.", [e["help"]["task"] if e["help"] else None
                                                              for e in s["events"]], {"domain": s["domain"]})
                for sid, s in self.streams.items()]

    def stream(self, task: Task) -> dict[str, Any]:
        try:
            return self.streams[task.id]
        except KeyError:
            raise UserError(f"proactive-events: no stream {task.id!r}") from None

    def action_space(self, task: Task) -> ActionSpace:
        return SPACE

    def step_episode(self, task: Task) -> StreamEpisode:
        return StreamEpisode(self.stream(task), self.judge)

    def episode(self, task: Task) -> Episode:
        return stepping.episode_for(self, task, first_observation=describe(self.stream(task), 0))

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        """ProactiveBench's metrics over the turns the last step recorded; reward = correct turns / events."""
        progress = stepping.progress_of(episode)
        turns = (episode.state.get("info") or {}).get("turns") or [] if progress.steps else []
        events = len(self.stream(episode.task)["events"])
        details = metrics((t["prediction"], t["judgement"]) for t in turns)
        right = sum(1 for t in turns if t["judgement"])
        details.update(events=events, judged=len(turns), judge=self.judge.name, steps=progress.steps,
                       stopped=progress.stopped)
        return Score(right / events, right == events, details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        actions = [f"propose [{gold}]" if gold else "none" for gold in task.gold]
        return stepping.oracle_replies(actions, agent, answer="The stream has ended.")
