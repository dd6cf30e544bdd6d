"""tau-bench retail and airline as environments: a domain's tools over the episode's own data,
a simulated customer, and upstream's reward (final data hash and required outputs).

How the conversation maps onto our agents: the domain's policy (wiki.md) is the agent's system
prompt and the customer's opening message is the task. The agent talks to the customer with the
tool `send_message_to_user(message)`, whose result is the customer's reply; its final answer is
its last message to the customer. Upstream sends every plain-text reply of the agent to the
user; a tool keeps that exchange inside the agent loop we have, and what is said is the same.
Required outputs are looked for in every message the agent sent to the customer.

The customer is `ScriptedUser` (offline, deterministic) or, with `user_model`, a model prompted
with the task's instruction; its replies are the results of the journaled tool call, so replay
serves them. Either way the opening message is the instruction, as the scripted user says it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..types import ModelRequest
from .base import Episode, Score, ScoringContext, Task
from .tau import STOP, ScriptedUser, load_domain, reward_info
from .tau import Task as TauTask

AGENT_RULES = ("You are a customer service agent. Follow the policy below. Talk to the customer only with the "
               "tool send_message_to_user, which returns the customer's reply. When the customer's request is "
               "handled or they end the conversation, reply with your final message to them.")
ENDED = "The customer has ended the conversation."
MAX_RESULT_CHARS = 100_000  # a one-stop flight search can return 25,000 characters


class ModelUser:
    """A customer played by a model, told the task's instruction (as upstream's LLM user is)."""

    def __init__(self, model: Any, instruction: str) -> None:
        self.model = model
        self.system = (f"You are a customer talking to a customer service agent. Your instruction: {instruction}\n"
                       "Say one short message at a time. Reveal only what you are asked for. When your request is "
                       f"done, or cannot be done, reply with {STOP}.")

    async def respond(self, messages: list[dict[str, Any]]) -> str:
        # The roles flip: the agent's messages are the user turns of the customer's model.
        flipped = [{"role": "user" if m["role"] == "assistant" else "assistant", "content": m["content"]}
                   for m in messages]
        response = await self.model.complete(ModelRequest(messages=[{"role": "system", "content": self.system},
                                                                     *flipped]))
        return response.text


class TauEnv:
    """One tau-bench domain. `user_model`: the customer's model (default: scripted), a model string or
    `{model: STRING, model_options: {KEY: VALUE}}` with its client's settings (as `--model-opt`)."""

    domain_name = "retail"
    answer_kind = "tool-calls"

    def __init__(self, tasks_file: str | Path | None = None, *, user_model: str | dict[str, Any] | None = None) -> None:
        from ..models.registry import env_model_args

        self.domain = load_domain(self.domain_name, tasks_file)  # type: ignore[arg-type]
        self.name = f"tau-{self.domain_name}"
        self.user_model = user_model
        # Checked now, so that an eval refuses a bad one before it starts; each episode builds its own.
        if user_model is not None:
            env_model_args(user_model, self._user_option)
        self._tasks = [self._task(t) for t in self.domain.tasks]
        self._by_id = {t.id: t for t in self.domain.tasks}

    @property
    def _user_option(self) -> str:
        return f"environment {self.name}, option user_model"

    def _task(self, task: TauTask) -> Task:
        gold = [a.to_json() for a in task.actions]
        return Task(self.name, task.id, f"Hi! {task.instruction}", gold, {"outputs": list(task.outputs)})

    def tasks(self) -> list[Task]:
        return list(self._tasks)

    def episode(self, task: Task) -> Episode:
        from ..tools import tool

        tau_task = self._by_id[task.id]
        data = self.domain.fresh_data()
        sent: list[str] = []
        conversation: list[dict[str, Any]] = []
        user = self._user(tau_task)

        async def send_message_to_user(message: str) -> str:
            """Send a message to the customer and return the customer's reply."""
            sent.append(message)
            conversation.append({"role": "assistant", "content": message})
            reply = await user.respond(conversation)
            conversation.append({"role": "user", "content": reply})
            return ENDED if STOP in reply else reply

        tools = [*self.domain.tools(data, max_result_chars=MAX_RESULT_CHARS), tool(send_message_to_user)]
        return Episode(task, tools, {"data": data, "sent": sent, "conversation": conversation},
                       system=f"{AGENT_RULES}\n\n{self.domain.policy}", prompt=task.prompt)

    def _user(self, task: TauTask) -> Any:
        if self.user_model is None:
            return ScriptedUser(task)
        from ..models.registry import env_model

        return ModelUser(env_model(self.user_model, self._user_option), task.instruction)

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        said = [*episode.state["sent"], *([answer] if answer else [])]
        info = reward_info(self._by_id[episode.task.id], episode.state["data"], said)
        details = {"data_matches": info.data_matches, "data_hash": info.data_hash,
                   "gold_data_hash": info.gold_data_hash, "outputs": info.outputs}
        return Score(info.reward, info.reward >= 1.0, details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        """The gold actions, then the required outputs said to the customer, then a final message."""
        outputs = ", ".join(task.data["outputs"]) or "Your request is done."
        if agent == "codeact":
            lines = [f"print({a['name']}(**{a['kwargs']!r}))" for a in task.gold]
            lines.append(f"print(send_message_to_user({outputs!r}))")
            return ["Action:\n" + "\n".join(lines) + "\nEnd Action", f"Answer: {outputs}"]
        steps: list[Any] = [{"tool_calls": [{"name": a["name"], "arguments": a["kwargs"]}]} for a in task.gold]
        steps.append({"tool_calls": [{"name": "send_message_to_user", "arguments": {"message": outputs}}]})
        steps.append(outputs)
        return steps


class TauRetail(TauEnv):
    domain_name = "retail"


class TauAirline(TauEnv):
    domain_name = "airline"
