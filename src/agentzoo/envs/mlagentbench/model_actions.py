"""MLAgentBench's actions that call a model, made of workspace steps and model calls.

MLAgentBench's `high_level_actions.py` runs these inside its environment with its own LLM. Here the agent that
holds the model performs them, so each model call is its own journaled effect (`ask`, in a scope the agent
names: `understand`, `edit`, `reflection`, `retrieval`) and each read or write is a workspace step (`act`): a
replay needs neither, and a resume repeats no finished part.

- Understand File: read the file (a step), ask about each block of at most 10,000 characters (whole lines;
  a longer line is cut), and, for more than one block, ask once more to join the answers.
- Edit Script (AI) / Edit Script Segment (AI): read the script (a missing one is empty), ask for the edited
  script (or segment) in a ```python block, then the step `Save Edited Script`, which backs the script up (for
  Undo Edit Script) and returns the diff. A reply with no ```python block changes nothing.
- Reflection / Retrieval from Research Log: read the research log (none yet: empty), ask.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ... import replies
from ...prompts import render
from ..step import StepOutcome
from .actions import RESEARCH_LOG, SAVE_EDIT, action_infos, action_text

PROMPTS = Path(__file__).parent / "prompts"
BLOCK_CHARS = 10_000        # high_level_actions.py understand_file: blocks of at most 10,000 characters
EDIT_MAX_TOKENS = 4_000     # high_level_actions.py EDIT_SCRIPT_MAX_TOKENS (runner.py --edit-script-llm-max-tokens)

Ask = Callable[[str, str, "int | None"], Awaitable[str]]
"""`ask(role, prompt, max_tokens)`: one journaled model call; the reply's text."""
Act = Callable[[str], Awaitable[StepOutcome]]
"""`act(step_text)`: one journaled workspace step."""


class ModelActions:
    """The model actions of one episode: `perform(name, input)` gives the observation."""

    def __init__(self, ask: Ask, act: Act, research_problem: str, *, block_chars: int = BLOCK_CHARS,
                 edit_max_tokens: int | None = EDIT_MAX_TOKENS) -> None:
        self.ask, self.act = ask, act
        self.research_problem = research_problem
        self.block_chars, self.edit_max_tokens = block_chars, edit_max_tokens

    @staticmethod
    def handles(name: str) -> bool:
        info = action_infos().get(name)
        return info is not None and info.performer == "model"

    async def perform(self, name: str, args: dict[str, Any]) -> str:
        handler = {"Understand File": self.understand_file, "Edit Script (AI)": self.edit_script,
                   "Edit Script Segment (AI)": self.edit_script_segment, "Reflection": self.reflection,
                   "Retrieval from Research Log": self.retrieval}[name]
        return await handler(**args)

    async def _read(self, path: str) -> tuple[str | None, str]:
        """The file's text (None when it cannot be read) and the step's observation."""
        outcome = await self.act(action_text("Read File", {"file_name": path}))
        failed = "error" in outcome.info or "parse_error" in outcome.info
        return (None if failed else outcome.observation.text), outcome.observation.text

    async def understand_file(self, file_name: str, things_to_look_for: str) -> str:
        text, seen = await self._read(file_name)
        if text is None:
            return seen
        blocks = self.blocks(text)
        answers = []
        for start, end, block in blocks:
            prompt = render(PROMPTS / "understand_block.j2", block=block, start=start, end=end,
                            wanted=things_to_look_for)
            answers.append(await self.ask("understand", prompt, None))
        if len(answers) == 1:
            return answers[0]
        return await self.ask("understand", render(PROMPTS / "understand_join.j2", answers=answers,
                                                   wanted=things_to_look_for), None)

    def blocks(self, text: str) -> list[tuple[int, int, str]]:
        """`text` as (first line, last line, block) with each block at most `block_chars` long: whole lines while
        they fit, a line longer than a block cut into pieces."""
        lines = text.split("\n")
        out: list[tuple[int, int, str]] = []
        i = 0
        while i < len(lines):
            block: list[str] = []
            first = i + 1
            while i < len(lines) and len("\n".join([*block, lines[i]])) <= self.block_chars:
                block.append(lines[i])
                i += 1
            if block:
                out.append((first, i, "\n".join(block)))
                continue
            line = lines[i]
            out += [(first, first, line[k:k + self.block_chars]) for k in range(0, len(line), self.block_chars)]
            i += 1
        return out

    async def edit_script(self, script_name: str, edit_instruction: str, save_name: str) -> str:
        text, _ = await self._read(script_name)
        content = text or ""
        prompt = render(PROMPTS / "edit_script.j2", content=content, instruction=edit_instruction, segment=False)
        return await self._save(script_name, save_name, await self.ask("edit", prompt, self.edit_max_tokens),
                                lambda code: code)

    async def edit_script_segment(self, script_name: str, start_line_number: Any, end_line_number: Any,
                                  edit_instruction: str, save_name: str) -> str:
        try:
            start, end = int(start_line_number), int(end_line_number)
        except (TypeError, ValueError):
            return render(PROMPTS / "observations.j2", kind="error",
                          message="start_line_number and end_line_number must be whole numbers")
        text, _ = await self._read(script_name)
        lines = (text or "").split("\n")
        segment = "\n".join(lines[max(start - 1, 0):end])
        prompt = render(PROMPTS / "edit_script.j2", content=segment, instruction=edit_instruction, segment=True)
        reply = await self.ask("edit", prompt, self.edit_max_tokens)
        return await self._save(script_name, save_name, reply,
                                lambda code: "\n".join([*lines[:max(start - 1, 0)], code, *lines[end:]]))

    async def _save(self, script_name: str, save_name: str, reply: str, splice: Callable[[str], str]) -> str:
        code = replies.find_code(reply, (replies.PYTHON,), last=False)
        if code is None:
            return render(PROMPTS / "observations.j2", kind="error",
                          message="the editing model's reply held no ```python block, so nothing was changed")
        outcome = await self.act(action_text(SAVE_EDIT, {"script_name": script_name, "save_name": save_name,
                                                         "content": splice(code.strip("\n")) + "\n"}))
        return outcome.observation.text

    async def reflection(self, things_to_reflect_on: str) -> str:
        log, _ = await self._read(RESEARCH_LOG)
        prompt = render(PROMPTS / "reflection.j2", problem=self.research_problem, log=log or "",
                        wanted=things_to_reflect_on)
        return render(PROMPTS / "observations.j2", kind="reflection", text=await self.ask("reflection", prompt, None))

    async def retrieval(self, current_plan: str) -> str:
        log, _ = await self._read(RESEARCH_LOG)
        prompt = render(PROMPTS / "retrieval.j2", problem=self.research_problem, plan=current_plan, log=log or "")
        return await self.ask("retrieval", prompt, None)
