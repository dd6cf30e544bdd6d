"""The research agent's loop (MLAgentBench agent_research.py), stepping a workspace episode through the step core.

Each turn: the prompt is the initial prompt (tools, research problem, instructions, format) and the last
`steps_in_context` steps (their responses, and the observations of the last `observation_steps_in_context`;
older ones read `<Done>`), after "Now let's start!" early on or, with the research log, after a summary
retrieved from it. The model answers in the format; a response that misses an entry or names no tool is not
acted on: the error is added to the prompt and the model asked again, up to `max_retries` times (then the run
ends). An action input that is not valid JSON with the action's entries gives an `ActionInputParsingError`
observation and nothing is performed. Otherwise the action is performed: an env action is one workspace step,
a model action its reads, model calls and write (`envs.mlagentbench.model_actions`). An observation longer than
`summarize_over` characters is summarised in blocks of `summary_block` characters before it enters the history.
With the research log, each step is summarised into it (Append Summary to Research Log).

The run ends at Final Answer, after `agent_max_steps` steps in the history, after `max_steps` actions (each
action, retrieval and log entry counts, as MLAgentBench's environment counts them), or past `max_time` seconds
(the clock read as a journaled effect, so a replay ends where the run did).

Effects: workspace steps in the child scope `env`; the agent's responses in its own scope; in the scopes
`summarize#T`, `log#T`, `understand#T`, `edit#T`, `reflection#T`, `retrieval#T` (T the turn) the calls those make.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...envs.mlagentbench.actions import ActionInputError, FINAL_ANSWER, action_infos, action_text
from ...envs.mlagentbench.model_actions import ModelActions
from ...envs.stepping import StepDriver
from ...errors import FormatError
from ...prompts import render
from ...protocols import Model
from ...runtime.context import Context
from ...types import AgentResult, ModelRequest
from .response import ENTRIES, entry_descriptions, parse_action_input, parse_entries, read_action, usage

PROMPTS = Path(__file__).parent / "prompts"
INPUT_ERROR = "ActionInputParsingError"
"""What an unreadable action input's observation starts with (agent_research.py)."""
NO_SUMMARY = "Too long to summarize."  # agent_research.py: the research log's entry when summarising fails


@dataclass(frozen=True)
class Settings:
    """The agent's constants (the recipe's options; sources in its OPTION_SOURCES)."""

    max_steps: int
    agent_max_steps: int
    max_time: float
    steps_in_context: int
    observation_steps_in_context: int
    max_retries: int
    retrieval: bool
    summarize_over: int
    summary_block: int
    shown_actions: tuple[str, ...]
    edit_max_tokens: int | None


@dataclass
class Step:
    entries: dict[str, str]
    observation: str


class ResearchAgent:
    """MLAgentBench's research agent on one workspace episode (its `driver`)."""

    def __init__(self, model: Model, driver: StepDriver, settings: Settings, *, sampling: dict[str, Any],
                 name: str = "mlagentbench") -> None:
        self.model, self.driver, self.settings, self.sampling, self.name = model, driver, settings, sampling, name
        self.tools = tuple(n for n, info in action_infos().items() if info.performer != "internal")

    async def run(self, task: str, ctx: Context) -> AgentResult:
        s = self.settings
        env = ctx.child("env")
        first = await self.driver.reset(env)
        # The research problem is the reset's (in its record, so a replay reads it with no environment).
        problem = str(first.data.get("research_problem") or task)
        initial = render(PROMPTS / "initial.j2", problem=problem, actions=[action_infos()[n] for n in s.shown_actions],
                         entries=[(e, entry_descriptions()[e]) for e in ENTRIES])
        started = await ctx.now()
        history: list[Step] = []
        transcript: list[dict[str, Any]] = []
        actions_taken, turn, replies = 0, 0, 0
        answer: str | None = None
        while not self.driver.progress.done and len(history) < s.agent_max_steps and actions_taken < s.max_steps:
            if await ctx.now() - started > s.max_time:
                answer = answer or "Stopped: the time limit was reached."
                break
            ctx.step()
            turn += 1
            scopes: dict[str, Context] = {}

            def scope(role: str, turn: int = turn, scopes: dict[str, Context] = scopes) -> Context:
                if role not in scopes:  # one scope per role and turn, made when first used (in program order)
                    scopes[role] = ctx.child(role, turn)
                return scopes[role]

            tools = self._model_actions(scope, env, problem)
            current = len(history)
            summary = None
            if current > s.steps_in_context and s.retrieval:
                summary = await tools.perform("Retrieval from Research Log", {"current_plan": ""})
                actions_taken += 1
            prompt = initial + "\n\n" + self._history(history, summary, current)
            entries = None
            for _ in range(s.max_retries):
                reply = (await ctx.model(self.model, self._request(prompt))).text or ""
                replies += 1
                transcript += [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]
                try:
                    entries = parse_entries(reply)
                    action = read_action(entries, self.tools)
                    break
                except FormatError as exc:
                    entries = None
                    prompt += "\n\n" + render(PROMPTS / "format_error.j2", problem=str(exc), entries=ENTRIES)
            if entries is None:
                answer = f"No valid response after {s.max_retries} tries."
                break
            entries["Research Plan and Status"] = entries["Research Plan and Status"].strip("`").replace("**", "")
            try:
                action_input = parse_action_input(entries["Action Input"], action)
            except ActionInputError as exc:
                observation = render(PROMPTS / "input_error.j2", problem=str(exc), action=action, usage=usage(action))
            else:
                observation = await self._perform(action, action_input, tools, env)
                actions_taken += 1
                if action == FINAL_ANSWER:
                    answer = str(action_input.get("final_answer", ""))
            if len(observation) > s.summarize_over:
                observation = await self._summarize(self._shown(entries), observation, scope("summarize"))
            history.append(Step(entries, observation))
            if not observation.startswith(INPUT_ERROR):  # a parsing error is kept only until the next good step
                history = [h for h in history if not h.observation.startswith(INPUT_ERROR)]
            if s.retrieval and not self.driver.progress.done:
                entry = await self._log_entry(history[-1], scope("log"))
                await self.driver.step(action_text("Append Summary to Research Log",
                                                   {"content": "\n\n" + render(PROMPTS / "log_entry.j2",
                                                                              step=current, summary=entry) + "\n"}),
                                       env)
                actions_taken += 1
        if answer is None:
            answer = history[-1].observation if history else None
        return AgentResult(answer, transcript, replies)

    # --- parts ---

    def _request(self, prompt: str, max_tokens: int | None = None) -> ModelRequest:
        fields = dict(self.sampling)
        if max_tokens is not None:
            fields["max_tokens"] = max_tokens
        return ModelRequest(messages=[{"role": "user", "content": prompt}], **fields)

    def _model_actions(self, scope: Any, env: Context, problem: str) -> ModelActions:
        async def ask(role: str, prompt: str, max_tokens: int | None) -> str:
            return (await scope(role).model(self.model, self._request(prompt, max_tokens))).text or ""

        async def act(text: str) -> Any:
            return await self.driver.step(text, env)

        return ModelActions(ask, act, problem, edit_max_tokens=self.settings.edit_max_tokens)

    async def _perform(self, action: str, action_input: dict[str, Any], tools: ModelActions, env: Context) -> str:
        if self.driver.progress.done:
            return render(PROMPTS / "ended.j2")
        if ModelActions.handles(action):
            return await tools.perform(action, action_input)
        return (await self.driver.step(action_text(action, action_input), env)).observation.text

    def _history(self, history: list[Step], summary: str | None, current: int) -> str:
        s = self.settings
        shown = []
        for index in range(max(current - s.steps_in_context, 0), current):
            step = history[index]
            seen = step.observation if current - index <= s.observation_steps_in_context else None
            shown.append({"entries": [(e, step.entries[e].strip()) for e in ENTRIES], "observation": seen})
        return render(PROMPTS / "history.j2", summary=summary, start=current <= s.steps_in_context, steps=shown,
                      window=s.steps_in_context)

    @staticmethod
    def _shown(entries: dict[str, str]) -> str:
        return "\n".join(f"{e}: {entries[e].strip()}" for e in ENTRIES)

    async def _summarize(self, action: str, observation: str, ctx: Context) -> str:
        """agent_research.py summarize_observation: each block of `summary_block` characters, then one join."""
        size = self.settings.summary_block
        blocks = [observation[i:i + size] for i in range(0, len(observation), size)]
        summaries = []
        for k, block in enumerate(blocks):
            prompt = render(PROMPTS / "summarize_block.j2", action=action, block=block, first=k * size + 1,
                            last=k * size + len(block))
            summaries.append((await ctx.model(self.model, self._request(prompt))).text or "")
        text = summaries[0] if len(summaries) == 1 else (await ctx.model(self.model, self._request(
            render(PROMPTS / "summarize_join.j2", action=action, summaries=summaries)))).text or ""
        marker = "[Observation]:"
        return text.split(marker, 1)[1].strip() if marker in text else text.strip()

    async def _log_entry(self, step: Step, ctx: Context) -> str:
        """agent_research.py summarize_action_and_observation, retried until the reply has `[Reasoning]:`."""
        prompt = render(PROMPTS / "summarize_step.j2", action=self._shown(step.entries), observation=step.observation)
        for _ in range(self.settings.max_retries):
            text = (await ctx.model(self.model, self._request(prompt))).text or ""
            if "[Reasoning]:" in text:
                return "[Reasoning]:" + text.split("[Reasoning]:", 1)[1]
        return NO_SUMMARY
