"""MALLM (#43): expert personas discuss a task under a discussion paradigm until a decision
protocol decides.

Becker, "Multi-Agent Large Language Models for Conversational Task-Solving" (arXiv 2410.22932,
2024), with the decision protocols of Kaesberg et al., "Voting or Consensus? Decision-Making in
Multi-Agent Debate" (ACL Findings 2025). Checked against Multi-Agent-LLMs/mallm at the paper's
time (9773b71, Oct 2024: `mallm/discourse_policy/*.py`, `decision_protocol/*.py`,
`agents/agent.py`, `utils/config.py`) and at d9e66bc (Jul 2025: `discussion_paradigms/*.py`,
`decision_protocols/*.py`):

| option | default | source |
|---|---|---|
| `num_agents` | 3 | `Config.num_agents` |
| `max_turns` | 10 | `Config.max_turns` |
| `paradigm` | `memory` | `Config.discussion_paradigm` |
| `decision` | `hybrid_consensus` | `Config.decision_protocol`: 0.75, but unanimity before turn 5 or with ≤ 3 agents |
| consensus thresholds | 0.5 / 0.66 / 1.0 | `MajorityConsensus`, `SupermajorityConsensus`, `UnanimityConsensus` |
| `debate_rounds` | 2 | `Config.debate_rounds` (the `DiscussionDebate` constructor's default of 1 is not used) |
| `vote_turn` | 3 | voting protocols' `vote_turn`; invalid ballots asked again up to 10 times |
| `personas` | `expert` | `Config.agent_generator`; one persona per call, each seeing the earlier ones, 5 tries |
| `chain_of_thought` | True | `Config.use_chain_of_thought` ("think step by step" appended) |
| every panelist improves | | `Config.all_agents_drafting = True` at the paper's time |

Paradigms (`agentzoo.teams.debate` topologies; who receives each message is upstream's
`agents_to_update`): `memory` → `AllToAll`, `report` → `Hub` (panelist 0 drafts each turn, the
others report to it), `relay` → `RoundRobin` (agent i → i+1 mod n), `debate` → `Debate` (panelist 0
drafts; the others argue in a ring for `debate_rounds` rounds, the last reaching panelist 0;
decided once per turn). Decision protocols: the four consensus ones are `teams.debate.Consensus`
(checked after every message, on each member's newest message: the newest proposal plus the
agreements after it, as upstream at the paper's time, where an agreeing message carries no
solution); `simple_voting`, `approval_voting`, `ranked_voting` (positional points `min(5, n) − rank`),
`cumulative_voting` (10 points) are `teams.debate.Vote`, run at the end of each turn from
`vote_turn` on, each panelist first stating its final solution; a tie continues the discussion;
`judge` has panelist 0 write the final answer from everyone's final solutions (upstream's
`Judge`), at the same turn.

Differences from upstream, on purpose: solutions are written after "Final Solution:" and read
from there, where upstream asks the model again to extract each message's solution; the
discussion history is shown in full (upstream's `visible_turns_in_memory` filter appends in both
of its branches, so it shows everything too); upstream's later code (d9e66bc) copies the agreed
solution into agreeing messages, so that its consensus counts only the newest message, and the
paper-time semantics are kept instead; under `debate` upstream calls the decision with an agent
index its voting protocols never accept, so they never vote there, while here they vote at the
end of the turn; a persona that cannot be parsed after 5 tries becomes "Participant i" (upstream
would fail). Prompts are our own wording (`prompts/mallm/*.j2`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .. import replies
from ..errors import ConfigError, FormatError
from ..prompts import render
from ..protocols import Model
from ..runtime.context import Context
from ..teams.debate import (HYBRID, MAJORITY, SUPERMAJORITY, UNANIMITY, AllToAll, Ballot, Debate, Discussion,
                            DiscussionResult, Floor, Hub, Judge, Reply, RoundRobin, Vote)
from ..types import ModelRequest

PROMPTS = Path(__file__).parent / "prompts" / "mallm"
ANSWER_KINDS = ("number", "text", "code")  # the decided "Final Solution:"
PARADIGMS = ("memory", "report", "relay", "debate")
DECISIONS = ("majority_consensus", "supermajority_consensus", "unanimity_consensus", "hybrid_consensus",
             "simple_voting", "approval_voting", "ranked_voting", "cumulative_voting", "judge")
Paradigm = Literal["memory", "report", "relay", "debate"]
Decision = Literal["majority_consensus", "supermajority_consensus", "unanimity_consensus", "hybrid_consensus",
                   "simple_voting", "approval_voting", "ranked_voting", "cumulative_voting", "judge"]

# The paper compares its four discussion paradigms side by side: each is a preset.
PRESETS: dict[str, dict[str, Any]] = {name: {"paradigm": name} for name in PARADIGMS}
DEFAULT_PRESET = "memory"
OPTION_SOURCES: dict[str, str] = {
    "paradigm": "code: Config.discussion_paradigm = 'memory'; the paper's four paradigms are the presets",
    "decision": "code: Config.decision_protocol = 'hybrid_consensus' (0.75, unanimity before turn 5 or with <= 3 "
                "agents); thresholds 0.5 / 0.66 / 1.0 for majority / supermajority / unanimity",
    "num_agents": "code: Config.num_agents = 3",
    "max_turns": "code: Config.max_turns = 10",
    "debate_rounds": "code: Config.debate_rounds = 2 (the DiscussionDebate constructor's default of 1 is not used)",
    "vote_turn": "code: the voting protocols' vote_turn = 3; invalid ballots asked again up to 10 times",
    "personas": "code: Config.agent_generator = 'expert': one persona per call, each seeing the earlier ones, 5 tries",
    "chain_of_thought": "code: Config.use_chain_of_thought = True ('think step by step' appended)",
    "final_answers": "code: the voting and judge protocols have each panelist state its final solution first",
}
DEVIATIONS: list[str] = [
    "solutions are written after 'Final Solution:' and read from there; upstream asks the model again to extract "
    "each message's solution",
    "consensus counts each member's newest message as at the paper's time (an agreeing message carries no solution); "
    "upstream's later code copies the agreed solution into agreeing messages",
    "under the debate paradigm the voting protocols vote at the end of the turn; upstream passes them an agent index "
    "they never accept, so they never vote there",
    "a persona that cannot be parsed after 5 tries becomes 'Participant i' (upstream fails)",
    "the prompts are our own wording",
]
PERSONA_TRIES = 5
MARKER = "final solution:"


@dataclass(frozen=True)
class Persona:
    role: str
    description: str


def extract_solution(text: str) -> str:
    """What follows the last "Final Solution:" (any case), else the whole text."""
    return replies.final_answer(text, (MARKER,), until="end") or text.strip()


def extract_agreement(text: str) -> bool:
    """Upstream's rule: it agrees if it says "agree" and never "disagree"."""
    lowered = text.lower()
    return "agree" in lowered and "disagree" not in lowered


def parse_persona(text: str) -> Persona | None:
    try:
        data = replies.json_object(text)
    except FormatError:
        return None
    if isinstance(data, dict) and data.get("role") and data.get("description"):
        return Persona(str(data["role"]), str(data["description"]))
    return None


def parse_ballot(kind: str, text: str) -> Any:
    """A ballot as the vote rule wants it, or None if the text holds none."""
    if kind == "cumulative":
        pairs = re.findall(r"(\d+)\s*[:=]\s*(\d+)", text)
        return {int(c): int(p) for c, p in pairs} if pairs else None
    numbers = [int(x) for x in re.findall(r"\d+", text)]
    if kind == "single":
        return numbers[0] if numbers else None
    return numbers or None


class Panelist:
    """A persona in the discussion: proposes, improves or revises, and votes."""

    def __init__(self, model: Model, persona: Persona, *, system: str | None, options: dict[str, Any],
                 chain_of_thought: bool) -> None:
        self.model, self.persona, self.system, self.options = model, persona, system, options
        self.name, self.chain_of_thought = persona.role, chain_of_thought

    async def _ask(self, messages: list[dict[str, Any]], ctx: Context) -> str:
        return (await ctx.model(self.model, ModelRequest(messages=messages, **self.options))).text

    def _who(self) -> dict[str, str]:
        return {"role": "system", "content": f"Your role: {self.persona.role} ({self.persona.description})"}

    async def speak(self, floor: Floor, ctx: Context) -> Reply:
        history = [{"role": "assistant", "content": p.text} if p.speaker == floor.member
                   else {"role": "user", "content": f"{p.name}: {p.text}"} for p in floor.seen]
        system = render(PROMPTS / "discuss_system.j2", system=self.system, task=floor.task, persona=self.persona.role,
                        description=self.persona.description, current=floor.current, history=bool(history))
        ask = "propose.j2" if floor.current is None else ("revise.j2" if floor.draft else "improve.j2")
        messages = [{"role": "system", "content": system}, *history, {"role": "user", "content": render(PROMPTS / ask)}]
        if self.chain_of_thought:
            messages.append({"role": "user", "content": render(PROMPTS / "think.j2")})
        text = await self._ask(messages, ctx)
        agrees = None if floor.draft or floor.current is None else extract_agreement(text)
        return Reply(text, extract_solution(text), agrees)

    async def finalize(self, task: str, solution: str, ctx: Context) -> str:
        prompt = render(PROMPTS / "final.j2", task=task, solution=solution)
        return (await self._ask([self._who(), {"role": "user", "content": prompt}], ctx)).strip()

    async def vote(self, ballot: Ballot, ctx: Context) -> Any:
        prompt = render(PROMPTS / "vote.j2", kind=ballot.kind, task=ballot.task, candidates=ballot.candidates)
        return parse_ballot(ballot.kind, await self._ask([self._who(), {"role": "user", "content": prompt}], ctx))

    async def judge(self, task: str, candidates: Sequence[str], ctx: Context) -> str:
        prompt = render(PROMPTS / "judge.j2", task=task, candidates=candidates)
        return (await self._ask([self._who(), {"role": "user", "content": prompt}], ctx)).strip()


class MALLM:
    """The recipe's agent: personas for the task, then the discussion."""

    def __init__(self, model: Model, *, system: str | None, options: dict[str, Any], paradigm: str, decision: str,
                 num_agents: int, max_turns: int, debate_rounds: int, vote_turn: int, personas: Any,
                 chain_of_thought: bool, final_answers: bool) -> None:
        self.model, self.system, self.options, self.paradigm, self.decision = model, system, options, paradigm, decision
        self.num_agents, self.max_turns, self.debate_rounds = num_agents, max_turns, debate_rounds
        self.vote_turn = vote_turn
        self.personas, self.chain_of_thought, self.final_answers = personas, chain_of_thought, final_answers
        self.name = "mallm"

    async def make_personas(self, task: str, ctx: Context) -> list[Persona]:
        if not isinstance(self.personas, str):
            return [p if isinstance(p, Persona) else Persona(**p) for p in self.personas]
        if self.personas == "none":
            return [Persona(f"Participant {i + 1}", "a participant of the discussion") for i in range(self.num_agents)]
        made: list[Persona] = []
        for i in range(self.num_agents):  # one at a time: each sees the ones before
            request = render(PROMPTS / "persona_request.j2", task=task, personas=made)
            messages = [{"role": "system", "content": render(PROMPTS / "persona_system.j2")},
                        {"role": "user", "content": request}]
            persona = None
            for _ in range(PERSONA_TRIES):
                persona = parse_persona((await ctx.model(self.model, ModelRequest(messages=messages,
                                                                                 **self.options))).text)
                if persona is not None:
                    break
            made.append(persona or Persona(f"Participant {i + 1}", "a participant of the discussion"))
        return made

    def discussion(self, panelists: Sequence[Panelist]) -> Discussion:
        topology = {"memory": AllToAll(), "report": Hub(0), "relay": RoundRobin(),
                    "debate": Debate(self.debate_rounds)}[self.paradigm]
        rules = {"majority_consensus": MAJORITY, "supermajority_consensus": SUPERMAJORITY,
                 "unanimity_consensus": UNANIMITY, "hybrid_consensus": HYBRID,
                 "judge": Judge(panelists[0], after_turn=self.vote_turn, finalize=self.final_answers)}
        kinds = {"simple_voting": "single", "approval_voting": "approval", "ranked_voting": "ranked",
                 "cumulative_voting": "cumulative"}
        decision = rules.get(self.decision) or Vote(kinds[self.decision],  # type: ignore[arg-type]
                                                    after_turn=self.vote_turn, finalize=self.final_answers)
        return Discussion(panelists, topology=topology, decision=decision, max_turns=self.max_turns,
                          scope="panelist", name=self.name)

    async def run(self, task: str, ctx: Context) -> DiscussionResult:
        personas = await self.make_personas(task, ctx.child("personas"))
        panelists = [Panelist(self.model, p, system=self.system, options=self.options,
                              chain_of_thought=self.chain_of_thought) for p in personas]
        return await self.discussion(panelists).run(task, ctx)


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, paradigm: Paradigm = "memory",
          decision: Decision = "hybrid_consensus", num_agents: int = 3, max_turns: int = 10, debate_rounds: int = 2,
          vote_turn: int = 3, personas: Literal["expert", "none"] | list[dict[str, str]] = "expert",
          chain_of_thought: bool = True, final_answers: bool = True) -> MALLM:
    """MALLM with its code's defaults (see the module doc). `personas`: `expert` (generated per
    task), `none` (numbered participants), or a list of `{"role", "description"}`."""
    if tools:
        raise ConfigError("mallm: the recipe uses no tools; run it on a task without tools")
    if paradigm not in PARADIGMS:
        raise ConfigError(f"mallm: paradigm must be one of {', '.join(PARADIGMS)}, not {paradigm!r}")
    if decision not in DECISIONS:
        raise ConfigError(f"mallm: decision must be one of {', '.join(DECISIONS)}, not {decision!r}")
    if isinstance(personas, str) and personas not in ("expert", "none"):
        raise ConfigError(f"mallm: personas must be 'expert', 'none' or a list of personas, not {personas!r}")
    if not isinstance(personas, str):
        num_agents = len(personas)
    if num_agents < 2 or (paradigm == "debate" and num_agents < 3):
        raise ConfigError("mallm: a discussion needs at least 2 agents (3 for the debate paradigm)")
    return MALLM(model, system=system, options=dict(sampling or {}), paradigm=paradigm, decision=decision,
                 num_agents=num_agents, max_turns=max_turns, debate_rounds=debate_rounds, vote_turn=vote_turn,
                 personas=personas, chain_of_thought=chain_of_thought, final_answers=final_answers)
