"""The policy of a tree search: the model that proposes the next action from a node.

It reads the conversation to the node as the text loop (`agents.stepper`) would have had it, the node's
path turned into turns: the task with the action space and the first observation, then per step the
policy's reply and the observation it led to. When the node already has children, the value function's
feedback on them is added to the last observation (SWE-Search), so the next proposal tries something else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..agents.stepper import PROMPTS as STEPPER_PROMPTS
from ..agents.stepper import read_action
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest
from .tree import Node

PROMPTS = Path(__file__).parent / "prompts"


@dataclass(frozen=True)
class Proposal:
    action: str
    """The action, as the environment reads it."""
    reply: str
    """The policy's whole reply (what a trajectory keeps as the assistant's turn)."""


class Policy(Protocol):
    def messages(self, node: Node, task: str, start: dict[str, Any]) -> list[dict[str, Any]]:
        """The conversation to `node` (without feedback): what a trajectory export keeps."""
        ...

    async def propose(self, node: Node, task: str, start: dict[str, Any], ctx: Context,
                      feedback: str | None = None) -> Proposal:
        ...


class TextPolicy:
    """A model that replies with one action as text (`Action: …`), as the text loop's agent does.

    `start` is the episode's reset record's `start` (the action space's description and the rules), so a
    replay with no environment prompts the same. `window`: how many past exchanges the model sees."""

    def __init__(self, model: Model, *, system: str | None = None, first: str | Path = STEPPER_PROMPTS / "first.j2",
                 observation: str | Path = STEPPER_PROMPTS / "observation.j2",
                 feedback: str | Path = PROMPTS / "feedback.j2",
                 read_action: Callable[[str], str] = read_action, sampling: dict[str, Any] | None = None,
                 window: int | None = None) -> None:
        self.model = model
        self.system = system if system is not None else render(STEPPER_PROMPTS / "system.j2")
        self.first, self.observation, self.feedback_template = first, observation, feedback
        self.read_action = read_action
        self.sampling = dict(sampling or {})
        self.window = window

    def messages(self, node: Node, task: str, start: dict[str, Any]) -> list[dict[str, Any]]:
        path = node.path()
        root = path[0]
        assert root.record is not None, "the root is the episode after its reset"
        head = [{"role": "system", "content": self.system}] if self.system else []
        head.append({"role": "user", "content": render(
            self.first, task=task, actions=start.get("actions", ""), observation=root.record.outcome.observation.text,
            max_steps=(start.get("rules") or {}).get("max_steps"))})
        turns: list[dict[str, Any]] = []
        reward = 0.0
        for step in path[1:]:
            assert step.record is not None
            after = step.record.progress.reward
            seen = render(self.observation, observation=step.record.outcome.observation.text, reward=f"{after:g}",
                          step_reward=f"{after - reward:g}" if after != reward else None)
            reward = after
            turns += [{"role": "assistant", "content": step.reply or step.action or ""}, {"role": "user", "content": seen}]
        if self.window is not None:
            turns = turns[-2 * self.window:]
        return head + turns

    async def propose(self, node: Node, task: str, start: dict[str, Any], ctx: Context,
                      feedback: str | None = None) -> Proposal:
        messages = self.messages(node, task, start)
        if feedback:
            last = dict(messages[-1])
            last["content"] = f"{last['content']}\n\n{feedback}"
            messages[-1] = last
        response = await ctx.model(self.model, ModelRequest(messages=messages, **self.sampling))
        text = response.text or ""
        return Proposal(self.read_action(text), text)


def feedback_for(node: Node, template: str | Path = PROMPTS / "feedback.j2") -> str | None:
    """The value function's feedback on the children `node` already has, as the policy is told it; None when
    it has none (the first expansion) or none was judged."""
    tried = [{"action": (c.action or "").strip(), "value": f"{c.reward.value:g}", "feedback": c.reward.feedback,
              "explanation": c.reward.explanation} for c in node.children if c.reward is not None and c.action]
    return render(template, siblings=tried) if tried else None
