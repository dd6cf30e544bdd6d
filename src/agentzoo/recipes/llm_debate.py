"""LLM debate (`llm-debate`): several agents answer, read each other's answers, answer again; majority wins.

Du et al. 2023, "Improving Factuality and Reasoning in Language Models through Multiagent Debate"
(ICML 2024, arXiv:2305.14325): several instances of one model each answer the question on their
own; then, for a number of rounds, each is shown the other agents' latest answers and asked for an
updated answer; the final answer is the one most agents give.

Facts from the released code (composable-models/llm_multiagent_debate, `gsm/gen_gsm.py`,
`gsm/eval_gsm.py`, `mmlu/gen_mmlu.py`), the defaults of `build`:
- `agents=3`, `rounds=2`: `agents = 3`, `rounds = 2` in the GSM8K and MMLU scripts. The round count
  includes the first, independent answer: 2 rounds = answer, then one round of debate (3 × 2 = 6
  model calls). This is the paper's main setting (3 agents, 2 rounds, for cost; its ablations
  vary both; the paper text was not re-read here, the code confirms the numbers). Disagreement: the
  GSM evaluation script reads `gsm_debate_3_3.json` (3 rounds), which the generation script does not
  produce with its defaults.
- Each agent keeps its own conversation: in round r it gets, as a new user turn, the other agents'
  answers from round r-1 (not their conversations) and the question again; its own earlier turns
  stay in its context.
- Final answer: a plurality vote over the agents' last answers, ties to the first agent's
  (`most_frequent`), through `agentzoo.recipes._answers`.
- `temperature=None`: the scripts send none, so the API default applies (1.0 for the paper's
  gpt-3.5-turbo-0301).

The paper's prompts are its text; ours say the same things in our words (`prompts/llm_debate/`).
Agents are the scopes `debater#1` … `debater#n`, created in order; within a round they answer
concurrently, and a round starts when the previous one has finished. With a seed in `sampling`,
agent i gets seed + i - 1 (their first answers would otherwise all be the same draw).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..agents.tool_calling import AgentResult
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..types import ModelRequest
from ._answers import final_answer, majority
from ..teams.parallel import branch_sampling, gather
from .cot import request_fields, text_only

PROMPTS = Path(__file__).parent / "prompts" / "llm_debate"
ANSWER_KINDS = ("number", "text", "code")  # votes over final answers; code is compared by its syntax tree
AGENTS = 3   # gsm/gen_gsm.py, mmlu/gen_mmlu.py: agents = 3
ROUNDS = 2   # gsm/gen_gsm.py, mmlu/gen_mmlu.py: rounds = 2 (the first answer counts as a round)

OPTION_SOURCES: dict[str, str] = {
    "agents": "code: gsm/gen_gsm.py, mmlu/gen_mmlu.py agents = 3 (the paper's main setting)",
    "rounds": "code: gsm/gen_gsm.py, mmlu/gen_mmlu.py rounds = 2, the first answer included (6 calls)",
    "temperature": "code: the scripts send none, so the API default applies (1.0 for gpt-3.5-turbo-0301)",
}
DEVIATIONS: list[str] = [
    "final answers are compared after agentzoo's normalisation (`recipes._answers.final_answer`: `#### n`, "
    "'The answer is', \\boxed, code blocks); the code parses each benchmark's answer its own way",
    "the prompts are our wording of the paper's",
]


class Debate:
    """n agents × r rounds of answer-and-revise, each seeing the others' previous answers; majority vote."""

    name = "llm-debate"

    def __init__(self, model: Model, *, agents: int = AGENTS, rounds: int = ROUNDS, system: str | None = None,
                 sampling: dict[str, Any] | None = None, temperature: float | None = None,
                 answer: Callable[[str | None], str | None] = final_answer) -> None:
        if agents < 1 or rounds < 1:
            raise ValueError(f"a debate needs at least 1 agent and 1 round, not {agents} and {rounds}")
        self.model, self.agents, self.rounds, self.answer = model, agents, rounds, answer
        self.system = render(PROMPTS / "system.j2", system=system)
        self.fields = [request_fields(branch_sampling(sampling, i), temperature=temperature) for i in range(agents)]

    async def run(self, task: str, ctx: Context) -> AgentResult:
        scopes = [ctx.child("debater", i) for i in range(1, self.agents + 1)]  # named before they run
        histories: list[list[dict[str, Any]]] = [
            [{"role": "system", "content": self.system}, {"role": "user", "content": task}] for _ in scopes]
        answers: list[str] = []
        for round_ in range(self.rounds):
            if round_ > 0:
                for i, history in enumerate(histories):
                    others = answers[:i] + answers[i + 1:]
                    history.append({"role": "user", "content": render(PROMPTS / "round.j2", task=task, others=others)})
            replies = await gather([self._turn(i, scope, histories[i]) for i, scope in enumerate(scopes)])
            for history, reply in zip(histories, replies):
                history.append(reply)
            answers = [reply.get("content") or "" for reply in replies]
        vote = majority([self.answer(a) for a in answers])
        return AgentResult(answers[vote.winner], histories[vote.winner], self.agents * self.rounds)

    async def _turn(self, i: int, ctx: Context, history: list[dict[str, Any]]) -> dict[str, Any]:
        ctx.step()
        response = await ctx.model(self.model, ModelRequest(messages=list(history), **self.fields[i]))
        return response.message


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, agents: int = AGENTS, rounds: int = ROUNDS,
          temperature: float | None = None) -> Debate:
    """Multi-agent debate with the released code's 3 agents × 2 rounds and a majority vote."""
    text_only("llm-debate", tools)
    return Debate(model, agents=agents, rounds=rounds, system=system, sampling=sampling, temperature=temperature)
