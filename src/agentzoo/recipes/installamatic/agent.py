"""Installamatic's loop: gather the install documents, summarise them, write a script, try it, repair it.

Stage 1, documentation gathering (scope `gather`): a search conversation that opens with the repository's top
folder; each search step is two model calls, a plan in words (`plan.j2`) and then one action (`act.j2`):
`ls`, `cat`, `exists` (episode steps), `record <file>` (Installamatic's submit_documentation) or `done`
(finished_search). Stage 2 (scope `summary`): the recorded documents are read and summarised (submit_summary),
and in the same conversation the install script is written (scope `write` is the same thread: the paper's
Dockerfile generation). The script is tried in the sandbox (`try`: install, then the verification). Stage 3,
repair, at most `max_repairs` times (scopes `repair#1`, `repair#2`): a new conversation with the script and the
log, an explanation, a search of any file, then the repaired script, tried again. The last script tried is
submitted. Episode steps go in the child scope `env`, in program order, so a run replays with no sandbox and
resumes without repeating an attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...envs.repo_install.episode import action_text
from ...envs.stepping import StepDriver
from ...prompts import render
from ...protocols import Model
from ...replies import code_blocks
from ...runtime.context import Context
from ...types import AgentResult, ModelRequest

PROMPTS = Path(__file__).parent / "prompts"
SEARCH_ACTIONS = ("ls", "cat", "exists", "record", "done")
SHELL = ("bash", "sh", "shell", "console", "")


@dataclass(frozen=True)
class Settings:
    max_search_steps: int
    repair_search_steps: int
    max_repairs: int


def read_action(reply: str | None, allowed: tuple[str, ...]) -> tuple[str, str] | None:
    """The action on the reply's first non-empty line (backticks and a leading `>` or `Action:` taken off), as
    (name, argument); None when that line names no allowed action."""
    line = next((ln.strip() for ln in (reply or "").split("\n") if ln.strip() and not ln.strip().startswith("```")),
                "")
    line = line.strip("`").lstrip(">").strip()
    if line.lower().startswith("action:"):
        line = line[len("action:"):].strip().strip("`")
    name, _, argument = line.partition(" ")
    name = name.lower().rstrip(":")
    return (name, argument.strip().strip("`")) if name in allowed else None


def read_script(reply: str | None) -> str:
    """The install script in a reply: its last shell (or unlabelled) fenced block, else the reply itself."""
    blocks = [b for b in code_blocks(reply) if b.language in SHELL]
    text = blocks[-1].code if blocks else (reply or "")
    return text.strip("\n") + "\n"


class Installamatic:
    """Installamatic on one repository's install episode (its `driver`)."""

    def __init__(self, model: Model, driver: StepDriver, settings: Settings, *, sampling: dict[str, Any],
                 name: str = "installamatic") -> None:
        self.model, self.driver, self.settings, self.sampling, self.name = model, driver, settings, sampling, name
        self.calls = 0

    async def run(self, task: str, ctx: Context) -> AgentResult:
        s = self.settings
        env = ctx.child("env")
        first = await self.driver.reset(env)
        listing, verify = first.text, str(first.data.get("verify", ""))
        transcript: list[dict[str, Any]] = []
        # Stage 1: documentation gathering.
        gather = ctx.child("gather")
        messages = [{"role": "system", "content": render(PROMPTS / "gather.j2", listing=listing, verify=verify)}]
        recorded = await self._search(gather, env, messages, "gather", s.max_search_steps)
        transcript += messages
        # Stage 2: the summary, then the script in the same conversation.
        summary_ctx = ctx.child("summary")
        documents = []
        for path in recorded:
            shown = (await self.driver.step(action_text("cat", path), env)).observation.text
            documents.append((path, shown.partition("\n")[2]))
        messages = [{"role": "user", "content": render(PROMPTS / "summary.j2", verify=verify, documents=documents,
                                                       listing=listing)}]
        await self._ask(summary_ctx, messages)
        messages.append({"role": "user", "content": render(PROMPTS / "write.j2")})
        script = read_script(await self._ask(ctx.child("write"), messages))
        transcript += messages
        outcome = await self.driver.step(action_text("try", script), env)
        # Stage 3: repairs, each a new conversation.
        repairs = 0
        while not _passed(outcome.info) and repairs < s.max_repairs and not self.driver.progress.done:
            repairs += 1
            repair = ctx.child("repair", repairs)
            messages = [{"role": "system", "content": render(PROMPTS / "repair.j2", verify=verify, script=script,
                                                             log=outcome.observation.text, listing=listing)},
                        {"role": "user", "content": render(PROMPTS / "explain.j2")}]
            await self._ask(repair, messages)
            await self._search(repair, env, messages, "repair", s.repair_search_steps)
            messages.append({"role": "user", "content": render(PROMPTS / "fix.j2")})
            script = read_script(await self._ask(repair, messages))
            transcript += messages
            outcome = await self.driver.step(action_text("try", script), env)
        if not self.driver.progress.done:
            await self.driver.step(action_text("submit", script), env)
        return AgentResult(script, transcript, self.calls)

    async def _ask(self, ctx: Context, messages: list[dict[str, Any]]) -> str:
        ctx.step()
        reply = (await ctx.model(self.model, ModelRequest(messages=list(messages), **self.sampling))).text or ""
        self.calls += 1
        messages.append({"role": "assistant", "content": reply})
        return reply

    async def _search(self, ctx: Context, env: Context, messages: list[dict[str, Any]], stage: str,
                      budget: int) -> list[str]:
        """The search loop (plan, then one action, then its result) until `done` or `budget` steps; the files
        recorded (gather stage), in order."""
        allowed = SEARCH_ACTIONS if stage == "gather" else tuple(a for a in SEARCH_ACTIONS if a != "record")
        recorded: list[str] = []
        for _ in range(budget):
            messages.append({"role": "user", "content": render(PROMPTS / "plan.j2", stage=stage)})
            await self._ask(ctx, messages)
            messages.append({"role": "user", "content": render(PROMPTS / "act.j2", stage=stage)})
            reply = await self._ask(ctx, messages)
            action = read_action(reply, allowed)
            if action is None:
                line = next((ln.strip() for ln in reply.split("\n") if ln.strip()), "")
                seen = render(PROMPTS / "format_error.j2", line=line[:200], actions=allowed)
            elif action[0] == "done":
                break
            elif action[0] == "record":
                path = action[1].strip().removeprefix("./")
                found = (await self.driver.step(action_text("exists", path), env)).info
                known = bool(found.get("found")) and not found.get("folder")
                if known and path not in recorded:
                    recorded.append(path)
                seen = render(PROMPTS / "recorded.j2", known=known, file=path, count=len(recorded))
            else:
                seen = (await self.driver.step(action_text(*action), env)).observation.text
            messages.append({"role": "user", "content": seen})
        return recorded


def _passed(info: dict[str, Any]) -> bool:
    return bool((info.get("attempt") or {}).get("success"))
