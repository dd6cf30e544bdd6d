"""The query-refinement loop: understand the user, update the state, run the query, answer cooperatively.

Each user utterance is read (rules or a model, `reading`), folded into the tracker (`tracker.DialogueState`), and
the query it stands for is run with the catalogue's retrieval tool (`search [...]`). Then the agent evaluates the
result the way the expert of Cogni-CISMeF's corpus does (Loisel et al. 2008, 2012: the result evaluation
sub-dialogue) and takes one dialogue act:

- no result: never an empty answer. With no term of the terminology found, it offers help with examples (the
  top of the thematic index); else it proposes a reformulation that relaxes one constraint (the latest said that
  the user has not insisted on and whose removal gives results), else one that broadens the topic to its broader
  descriptor; failing both, it asks the user to say more;
- too many results (more than `show_max`): it proposes choices to narrow them: narrower descriptors first, then
  audience, subheading, type, language (a facet the user did not mind is not proposed again);
- a few: it shows them (those not already turned down).
Searches and the terminology are consulted freely (no user turn); every act and search is a journaled env step
in the child scope `env`, every reading a model call in the agent's scope (model option only).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...envs.stepping import StepDriver
from ...prompts import render
from ...runtime.context import Context
from ...types import AgentResult
from .reading import ModelReader, read_rules
from .tracker import DialogueState, Reading

PROMPTS = Path(__file__).parent / "prompts"
FACETS = ("keyword", "audience", "subheading", "type", "language")
"""The order choices are proposed in: a more specific term first (the precision strategy of the corpus), then
the expert's "patient or health professional?" (Loisel et al. 2012's example), then the other fields."""


class CogniCismef:
    """The agent on one episode (`driver`); `reader` None reads with the rules alone."""

    def __init__(self, driver: StepDriver, reader: ModelReader | None, *, show_max: int, max_acts: int,
                 name: str = "cogni-cismef") -> None:
        self.driver, self.reader, self.name = driver, reader, name
        self.show_max, self.max_acts = show_max, max_acts
        self.state = DialogueState()
        self.readings: list[Reading] = []
        self.acts: list[str] = []
        self.repairs = 0

    async def run(self, task: str, ctx: Context) -> AgentResult:
        env = ctx.child("env")
        said = _user_words((await self.driver.reset(env)).text)
        transcript: list[dict[str, Any]] = [{"role": "user", "content": said}]
        while not self.driver.progress.done and len(self.acts) < self.max_acts:
            reading = await self._read(said, ctx)
            self.readings.append(reading)
            self.state.apply(reading)
            if reading.intention == "close":
                break
            act = await self._decide(reading, env)
            self.acts.append(act)
            transcript.append({"role": "assistant", "content": act})
            outcome = await self.driver.step(act, env)
            said = _user_words(outcome.observation.text)
            transcript.append({"role": "user", "content": said})
        found = self.driver.progress.reward > 0
        answer = (f"The user found what they needed after {len(self.acts)} act(s)." if found else
                  f"The search ended without a resource the user accepted after {len(self.acts)} act(s).")
        return AgentResult(answer, transcript, len(self.acts))

    async def _read(self, said: str, ctx: Context) -> Reading:
        if self.reader is None:
            return read_rules(said, self.state.pending)
        last = self.acts[-1] if self.acts else "(none yet: this is the user's first message)"
        return await self.reader.read(said, last, ctx)

    async def _search(self, query: str, env: Context) -> dict[str, Any]:
        outcome = await self.driver.step(f"search [{query}]", env)
        self.state.history.append(outcome.observation.data.get("query", query))
        return outcome.observation.data

    async def _decide(self, reading: Reading, env: Context) -> str:
        state = self.state
        if reading.intention == "unknown":
            self.repairs += 1
            return f"ask [{render(PROMPTS / 'ask.j2', repair=True).strip()}]"
        result = await self._search(state.query(), env)
        ids = [i for i in result.get("ids", []) if i not in state.refused]
        if not ids:
            return await self._nothing(result, env)
        if len(ids) <= self.show_max:
            state.pending = {"act": "show", "ids": ids}
            return f"show [{', '.join(ids)}]"
        return self._narrow(result, ids)

    async def _nothing(self, result: dict[str, Any], env: Context) -> str:
        """No result: help, a relaxed or broadened reformulation, or a question; never an empty answer."""
        state = self.state
        if not result.get("descriptors") and not state.helped:
            state.helped = True
            top = (await self.driver.step("browse []", env)).observation.data.get("narrower", [])
            state.pending = {"act": "help"}
            return f"help [{render(PROMPTS / 'help.j2', examples=top).strip()}]"
        for key in reversed(list(state.constraints)):
            if key in state.kept:
                continue
            relaxed = state.query(without=key)
            if (await self._search(relaxed, env)).get("count"):
                state.pending = {"act": "reformulate", "drop": key}
                return f"reformulate [{relaxed}]"
        for descriptor in result.get("descriptors", []):
            broader = (result.get("broader") or {}).get(descriptor)
            if broader and broader not in state.broadened:
                state.broadened.append(broader)
                if (await self._search(state.query(topic=broader), env)).get("count"):
                    state.pending = {"act": "reformulate", "topic": broader}
                    return f"reformulate [{state.query(topic=broader)}]"
        state.pending = {"act": "ask"}
        return f"ask [{render(PROMPTS / 'ask.j2', repair=False).strip()}]"

    def _narrow(self, result: dict[str, Any], ids: list[str]) -> str:
        """Too many results: choices on the first facet that splits them and the user has not waved off."""
        state = self.state
        facets = result.get("facets") or {}
        for facet in FACETS:
            values = [v for v, n in (facets.get(facet) or {}).items() if n]
            if len(values) < 2 or facet in state.indifferent or facet in state.constraints:
                continue
            options = values if facet == "keyword" else [f"{facet}={v}" for v in values]
            state.pending = {"act": "propose", "facet": facet, "options": options}
            return f"propose [{' | '.join(options)}]"
        shown = ids[:self.show_max]
        state.pending = {"act": "show", "ids": shown}
        return f"show [{', '.join(shown)}]"


def _user_words(observation: str) -> str:
    text = observation.strip()
    return text[len("User:"):].strip() if text.startswith("User:") else text
