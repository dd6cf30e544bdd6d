"""ReAct for text games (`react-textgame`): one line per turn, a game command or a thought that does not act.

Yao et al. 2023, "ReAct: Synergizing Reasoning and Acting in Language Models" (ICLR 2023, arXiv:2210.03629),
§4 decision making, the ALFWorld setup; checked against ysymyth/ReAct `alfworld.ipynb`. The agent writes one
line per turn: a command for the game, or a sparse thought `think: ...` that is not sent to the game and is
answered `OK.`. Its prompt is an instruction, two example trajectories, `Here is the task.` and the game's
first observation (which states the goal); the whole history follows, each reply and what came back. The
episode ends when the game does (won or lost), by the environment's rules, or after `max_steps` replies.

The examples are ours (`prompts/examples/`): trajectories played in the real game by TextWorld on two games
made from seeds outside the task set (`games.json`; a house quest and a cooking game), observations as the
game wrote them, thoughts written for them. The preset `act` is the paper's Act baseline: the same examples
without their thoughts, and no thoughts asked for.

It acts in `textworld` (`ACTS_IN`): the games' text is what its examples show.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...envs.stepping import StepDriver, recipe_driver
from ...errors import ConfigError
from ...protocols import Model
from ..cot import request_fields
from .agent import ReActTextGame, example, is_thought, read_line

__all__ = ["ACTS_IN", "ANSWER_KINDS", "ReActTextGame", "build", "example", "is_thought", "read_line"]

ANSWER_KINDS = ("tool-calls",)
"""It acts on the episode; the game's score is what is scored."""
ACTS_IN = ("textworld",)
EXAMPLES = ("house", "cooking")  # alfworld.ipynb: "Here are two examples." (two per task type)
MAX_STEPS = 49                   # alfworld.ipynb: `for i in range(1, 50)`, thoughts included
TEMPERATURE = 0.0                # alfworld.ipynb llm(): temperature=0
MAX_TOKENS = 100                 # alfworld.ipynb llm(): max_tokens=100
STOP = ("\n",)                   # alfworld.ipynb llm(): stop=["\n"], one line per turn

PRESETS: dict[str, dict[str, Any]] = {
    "react": {"think": True},    # paper §4: ReAct, sparse thoughts between actions
    "act": {"think": False},     # paper §4: the Act baseline, the same trajectories without thoughts
}
DEFAULT_PRESET = "react"
OPTION_SOURCES: dict[str, str] = {
    "think": "paper §4 (ALFWorld): ReAct's sparse `think:` steps, answered 'OK.' (alfworld.ipynb); False is Act",
    "examples": "alfworld.ipynb: 'Here are two examples.' (two trajectories of the task's type); the trajectories "
                "are ours, on TextWorld games",
    "max_steps": "alfworld.ipynb: for i in range(1, 50), 49 replies, thoughts included",
    "temperature": "alfworld.ipynb llm(): text-davinci-002, temperature=0",
    "max_tokens": "alfworld.ipynb llm(): max_tokens=100",
    "stop": "alfworld.ipynb llm(): stop=['\\n'], so a reply is one line",
    "describe_actions": "ours: the environment's action space (the game's verbs and command shapes) after "
                        "'Here is the task.'; ReAct's prompt has none (its examples show the commands)",
}
DEVIATIONS: list[str] = [
    "a chat model instead of a completion model: the prompt is the first user message, each reply an assistant "
    "message, each observation a user message, and a system prompt says to reply with one line (ReAct's "
    "completion continued the transcript after '>' and stopped at the newline)",
    "the two examples are the same for every game (a house quest and a cooking game); ReAct picks two of the "
    "task's own type among six",
    "a thought is not sent to the environment (ReAct's code sends it to ALFWorld, which does nothing, and shows "
    "'OK.'): it takes no step of the episode's rules, only one of max_steps",
    "the reply's first non-empty line is read, without a leading '>', so a model that adds a blank line or copies "
    "the examples' '>' is understood",
]


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None, think: bool = True,
          examples: tuple[str, ...] = EXAMPLES, max_steps: int = MAX_STEPS, describe_actions: bool = False,
          temperature: float | None = TEMPERATURE, max_tokens: int | None = MAX_TOKENS,
          stop: tuple[str, ...] = STOP) -> ReActTextGame:
    """ReAct on the harness's episode (`episode`, a text game's); with none, an agent that replays a run from
    its journal. `tools` are not used: the agent acts by its replies. `system` replaces the one-line reply
    instruction."""
    if max_steps < 1:
        raise ConfigError(f"react-textgame: max_steps must be at least 1 (replies), got {max_steps}")
    fields = request_fields(sampling, temperature=temperature)
    fields.update({k: v for k, v in (("max_tokens", max_tokens), ("stop", list(stop) or None)) if v is not None})
    texts = [example(name, think=think) for name in examples]
    return ReActTextGame(model, _driver(episode), examples=texts, think=think, max_steps=max_steps,
                         describe_actions=describe_actions, system=system, sampling=fields)


def _driver(episode: Any) -> StepDriver:
    return recipe_driver(episode, f"react-textgame plays text games step by step: "
                                  f"it needs an episode of a step environment ({', '.join(ACTS_IN)})")
