"""Agent AI with LangGraph for machine translation (`langgraph-mt`, #56): a router over a state graph.

Wang & Duan 2024, "Agent AI with LangGraph: A Modular Framework for Enhancing Machine Translation Using Large
Language Models" (arXiv:2412.03801). A router agent reads the user's input, finds the language it asks for and
the text, and hands it to one translation agent per target language (TranslateEnAgent, TranslateFrenchAgent,
TranslateJpAgent); a LangGraph state keeps the dialogue's context, so "and the same sentence in Japanese?"
works. Here the graph is `agentzoo.teams.StateGraph`: nodes `router`, `translate_en`, `translate_fr`,
`translate_ja` and `clarify` (no model call), a conditional edge from the router, and the dialogue history a
reducer field of the state carried from turn to turn. Each user turn is one run of the graph in its own scope
(`turn#i`), with a checkpoint per node.

It acts in dialogue environments (`mt-dialogues`): each user turn is an observation, each reply a step.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel

from ...envs.mt_dialogues import LANGUAGES
from ...envs.stepping import StepDriver, recipe_driver
from ...errors import ConfigError, FormatError
from ...prompts import render
from ...protocols import Model
from ...replies import json_format, json_object, object_schema
from ...runtime.context import Context
from ...teams.state_graph import END, StateGraph, append
from ...types import AgentResult, ModelRequest
from ..cot import request_fields

__all__ = ["ACTS_IN", "ANSWER_KINDS", "LangGraphMT", "Turn", "build", "graph"]

PROMPTS = Path(__file__).parent / "prompts"
ANSWER_KINDS = ("tool-calls",)
"""It replies to each turn of the episode; the replies are what is scored."""
ACTS_IN = ("mt-dialogues",)
TEMPERATURE = 0.0
"""Ours: the paper does not give its sampling; translation and routing want the most likely output."""
MAX_TURNS = 12
OPTION_SOURCES = {
    "languages": "paper §3: TranslateEnAgent, TranslateFrenchAgent and TranslateJpAgent (English, French, Japanese)",
    "temperature": "ours: the paper gives none; 0 for routing and translation",
    "max_turns": "ours: user turns answered before the recipe stops",
}
DEVIATIONS = [
    "the router asks for strict JSON {target, text} and resolves references to earlier sentences itself; the paper "
    "describes the router's job (analyse the input, route it) but not its output format",
    "a message that asks for no translation goes to a `clarify` node that answers without a model call; the paper "
    "does not say what its router does with such input",
    "GPT-4o and GLM-4 in the paper; any model here",
]
_ROUTE_SCHEMA = object_schema(target={"type": "string", "enum": [*LANGUAGES, "none"]}, text={"type": "string"})


class Turn(BaseModel):
    """One answered turn, as the dialogue state keeps it."""

    user: str
    target: str
    text: str
    translation: str


class MTState(BaseModel):
    """The graph's shared state: the current message, what the router found, the answer, and the dialogue so far."""

    task: str
    target: str | None = None
    text: str | None = None
    answer: str | None = None
    history: Annotated[list[Turn], append] = []


def graph(model: Model, *, languages: Sequence[str] = tuple(LANGUAGES), sampling: dict[str, Any]) -> StateGraph:
    """The router and one translator per language, over `MTState`."""

    async def router(state: MTState, ctx: Context) -> dict[str, Any]:
        prompt = render(PROMPTS / "router.j2", history=state.history, message=state.task)
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt}]
        request = {"response_format": json_format(_ROUTE_SCHEMA, "route"), **sampling}
        for attempt in range(2):
            response = await ctx.model(model, ModelRequest(messages=list(messages), **request))
            try:
                target, text = read_route(response.text, languages)
                return {"target": target, "text": text}
            except FormatError as exc:
                problem = str(exc)
            if attempt == 0:  # shown back once, then the turn is clarified rather than guessed
                messages += [{"role": "assistant", "content": response.text or ""},
                             {"role": "user", "content": render(PROMPTS / "retry.j2", problem=problem)}]
        return {"target": "none", "text": None}

    def translator(language: str):
        async def translate(state: MTState, ctx: Context) -> dict[str, Any]:
            system = render(PROMPTS / "translator.j2", language=LANGUAGES[language])
            response = await ctx.model(model, ModelRequest(messages=[{"role": "system", "content": system},
                                                                     {"role": "user", "content": state.text or ""}],
                                                           **sampling))
            answer = (response.text or "").strip()
            turn = Turn(user=state.task, target=language, text=state.text or "", translation=answer)
            return {"answer": answer, "history": [turn]}
        return translate

    async def clarify(state: MTState, ctx: Context) -> dict[str, Any]:
        return {"answer": render(PROMPTS / "clarify.j2").strip()}

    g = StateGraph(MTState, name="langgraph-mt").add_node("router", router)
    for language in languages:
        g.add_node(f"translate_{language}", translator(language)).add_edge(f"translate_{language}", END)
    g.add_node("clarify", clarify).add_edge("clarify", END)
    targets = [f"translate_{lang}" for lang in languages] + ["clarify"]
    g.add_router("router", lambda s: f"translate_{s.target}" if s.target in languages else "clarify", targets)
    return g


def read_route(text: str | None, languages: Sequence[str]) -> tuple[str, str | None]:
    data = json_object(text)
    target = data.get("target")
    if target == "none":
        return "none", None
    if target not in languages:
        raise FormatError(f"target must be one of {', '.join([*languages, 'none'])}, got {target!r}")
    words = data.get("text")
    if not isinstance(words, str) or not words.strip():
        raise FormatError("text must be the sentence to translate")
    return target, words.strip()


class LangGraphMT:
    """Answers each user turn of a dialogue episode with one run of the graph; the history carries over."""

    def __init__(self, model: Model, driver: StepDriver, *, languages: Sequence[str], max_turns: int,
                 sampling: dict[str, Any], name: str = "langgraph-mt") -> None:
        self.graph = graph(model, languages=languages, sampling=sampling)
        self.driver, self.max_turns, self.name = driver, max_turns, name

    async def run(self, task: str, ctx: Context) -> AgentResult:
        env_ctx = ctx.child("env")
        observation = await self.driver.reset(env_ctx)
        history: list[Turn] = []
        replies: list[str] = []
        for i in range(self.max_turns):
            if self.driver.progress.done:
                break
            ctx.step()
            state = await self.graph.invoke(MTState(task=observation.text, history=history), ctx.child("turn", i))
            history = state.history
            replies.append(state.answer or "")
            observation = (await self.driver.step(state.answer or "", env_ctx)).observation
        return AgentResult(replies[-1] if replies else None, steps=len(replies))


def build(model: Model, tools: Sequence[Any] = (), *, system: str | None = None,
          sampling: dict[str, Any] | None = None, episode: Any = None,
          languages: Sequence[str] = tuple(LANGUAGES), max_turns: int = MAX_TURNS,
          temperature: float | None = TEMPERATURE) -> LangGraphMT:
    """The router graph on the harness's dialogue episode; with none, an agent that replays a run. `tools` and
    `system` are not used (each agent has its own prompt)."""
    unknown = [lang for lang in languages if lang not in LANGUAGES]
    if unknown or not languages:
        raise ConfigError(f"langgraph-mt: languages must be some of {', '.join(LANGUAGES)}, got {list(languages)!r}")
    if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < 1:
        raise ConfigError(f"langgraph-mt: max_turns must be a whole number ≥ 1, got {max_turns!r}")
    return LangGraphMT(model, _driver(episode), languages=tuple(languages), max_turns=max_turns,
                       sampling=request_fields(sampling, temperature=temperature))


def _driver(episode: Any) -> StepDriver:
    return recipe_driver(episode, f"langgraph-mt answers dialogue turns: "
                                  f"it needs an episode of a dialogue environment ({', '.join(ACTS_IN)})")
