"""What an environment is: tasks, the tools an agent may use on one, a scorer, and a gold path.

An environment gives the harness a list of `Task`s. For each sample it opens an `Episode`:
the task's own tools over the task's own fresh state (nothing is shared between samples). The
agent runs; then `score` turns its answer and the episode's final state into a `Score`, by the
benchmark's own rule. `oracle` gives the replies a model would have to write to follow the gold
solution, in the shape the named agent reads (tool calls for `tool-calling`, `Action:`/`Answer:`
text for `codeact`): the oracle checks the harness and the scorer, never a model.

An environment also says what kind of answer it scores (`answer_kind`, one of `ANSWER_KINDS`), so
that an agent that cannot produce that kind is refused before any model call
(`agentzoo.eval.pairs.check_pair`). One whose answer is text may state its format as data too
(`answer_contract(task)`, an `AnswerContract`: GSM8K, HumanEval, MBPP), so that the format the
agent is told and the forms the scorer reads are written down once, side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..protocols import Environment as _Environment
from ..sandbox import Limits
from ..sandbox.pool import SandboxPool


@dataclass(frozen=True)
class Task:
    """One benchmark item. Plain JSON throughout, so tasks hash, journal and compare."""

    env: str
    """The environment's name, e.g. `humaneval`."""
    id: str
    """Stable within the environment, e.g. `HumanEval/0`."""
    prompt: str
    """What the agent is asked: the first user message."""
    gold: Any
    """The benchmark's gold solution, answer or actions, as the oracle uses them."""
    data: dict[str, Any] = field(default_factory=dict)
    """What the scorer needs besides the answer: tests, an entry point, function docs, …"""


@dataclass(frozen=True)
class Score:
    reward: float
    """The benchmark's reward, 0 to 1."""
    success: bool
    """Whether the benchmark counts the sample as solved."""
    details: dict[str, Any] = field(default_factory=dict)
    """Why: what was compared, what a test printed, which check failed first."""


@dataclass
class Episode:
    """One task being attempted: its tools over its own state, and what the scorer will read."""

    task: Task
    tools: list[Any] = field(default_factory=list)
    """Tools (`agentzoo.tools.tool` functions) bound to this episode's state."""
    state: dict[str, Any] = field(default_factory=dict)
    """The environment's explicit state for this sample (a database, recorded calls, …)."""
    system: str | None = None
    """A system prompt the environment needs the agent to have (e.g. a domain's policy)."""
    prompt: str | None = None
    """This episode's first user message, when it is not `task.prompt`."""


@dataclass(frozen=True)
class ScoringContext:
    """What a scorer may use: a sandbox tier and limits for running a benchmark's tests."""

    tier: str = "auto"
    allow_unsafe: bool = False
    limits: Limits = field(default_factory=lambda: Limits(wall_seconds=20))
    pool: SandboxPool | None = None
    """Warm sandboxes the harness lends for `execute(..., fresh=True)`; None: a new sandbox per scoring."""


# What an environment's scorer reads, by kind: an environment's `answer_kind` is one of these, and an
# agent declares the kinds it can produce (a recipe's `ANSWER_KINDS`).
ANSWER_KINDS: dict[str, str] = {
    "number": "a final number in the answer text (GSM8K's `#### n`)",
    "text": "a short text answer",
    "code": "a Python function in a ```python block, run against the benchmark's tests",
    "tool-calls": "calls to the episode's tools; the calls or the state they leave are scored",
    "patch": "a unified diff of the episode's repository, found by reading it with the episode's tools",
    "simulation": "the closing record of a simulation the agent ran (a recipe's own JSON: the world at the end, "
                  "`simulated_hours`), scored by the scenario's measure",
}


@dataclass(frozen=True)
class AnswerContract:
    """The answer format an environment states to the agent, and the forms of it its scorer takes.

    An environment with one gives it per task (`answer_contract(task)`); its task prompt says
    `instruction` word for word. Agents hand answers over in their own syntax (CodeAct's
    `Answer: 18` or `final_answer(18)`, ReAct's `Final Answer: 18`, a recipe's reply), and take
    their marker off first; the scorer reads each such form (`accepts`), so every agent is scored
    on the same terms without knowing the benchmark.
    """

    kind: str
    """What is scored, one of `ANSWER_KINDS`."""
    instruction: str
    """The format as the task's prompt states it to the agent."""
    accepts: tuple[str, ...] = ()
    """The forms the scorer reads the answer in, first to last, as a reader would say them."""
    function: str | None = None
    """code: the name of the function the answer must define."""


FINAL_MARKERS = {"codeact": "Answer:", "react": "Final Answer:"}
"""How an agent kind marks its final reply, for oracles: CodeAct's (M3ToolEval's) `Answer:`, and ReAct's
`Final Answer:` (the `react` format of `tool-calling`); other kinds reply with the answer alone."""


def final_reply(agent: str, answer: str, *, own_line: bool = False) -> str:
    """`answer` as the final reply of the agent kind named (`FINAL_MARKERS`); `own_line`: after the
    marker's line (a code block)."""
    marker = FINAL_MARKERS.get(agent)
    return answer if marker is None else f"{marker}{chr(10) if own_line else ' '}{answer}"


Environment = _Environment  # the protocol lives with the others, in `agentzoo.protocols`
