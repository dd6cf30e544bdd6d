"""The simulated customer: a protocol, and a scripted user for offline tests.

Upstream tau-bench plays the customer with an LLM prompted with the task's instruction; the user
ends the conversation by saying "###STOP###". A model-driven user implements `UserSimulator`.
`ScriptedUser` needs no model: it is deterministic and only as clever as its keyword rules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from .domain import Task

STOP = "###STOP###"
"""What a simulated user says (within its message) when the conversation is over."""

Message = Mapping[str, Any]


@runtime_checkable
class UserSimulator(Protocol):
    """The customer of one episode.

    `messages` is the conversation so far, seen from the agent's side: chat messages with role
    "assistant" (what the agent said to the user) and "user" (what this user answered). With no
    assistant message yet, the answer is the user's opening message. An answer containing `STOP`
    ends the episode.
    """

    async def respond(self, messages: Sequence[Message]) -> str: ...


_ORDER_ID = re.compile(r"#W\d+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
_ZIP = re.compile(r"(?:\bin|\bzip(?: code)?(?: is)?)\s+(\d{5})\b")  # "You are Yusuf Rossi in 19122."
_RESERVATION_ID = re.compile(r"\b(?!HAT\d)(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{6}\b")  # not flight numbers

# (keywords in the agent's message, fact names it asks for), checked in this order.
_QUESTIONS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("email",), ("email",)),
    (("name",), ("name",)),
    (("zip", "postal"), ("zip",)),
    (("user id", "user_id", "username"), ("user_id",)),
    (("order id", "order number", "which order"), ("order_id",)),
    (("reservation",), ("reservation_id",)),
    (("payment", "pay with", "card", "refund to"), ("payment_method",)),
)
_CONFIRMATIONS = ("confirm", "proceed", "shall i", "should i", "would you like", "do you want", "yes/no",
                  "(yes)", "go ahead")
_PHRASES = {
    "email": "My email is {}.",
    "name": "My name is {}.",
    "zip": "My zip code is {}.",
    "user_id": "My user id is {}.",
    "order_id": "The order id is {}.",
    "reservation_id": "The reservation id is {}.",
    "payment_method": "Please use {}.",
}


def _text_of(message: Message) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts
        return " ".join(p.get("text", "") for p in content if isinstance(p, Mapping))
    return ""


class ScriptedUser:
    """A deterministic customer that states the task and answers questions with the task's facts.

    - Opening (no assistant message yet): "Hi! " followed by the task's instruction, verbatim.
    - Afterwards it reads only the agent's latest message, lowercased, and answers every question
      it recognises by keywords, in this order: email, name, zip code, user id, order id,
      reservation id, payment method (see `_QUESTIONS`), with the facts the task holds: the user
      id; from the gold actions' arguments the email, first and last name, zip, order and
      reservation ids and payment method ids; and ids, emails and zip codes written in the
      instruction. A fact it does not have is answered "I don't know my <fact>."
    - If the message asks for a confirmation (`_CONFIRMATIONS`: "confirm", "proceed", "would you
      like", ...) the answer (after any facts) is "Yes, please proceed.".
    - A message with neither is answered with `STOP` ("Thank you, that's all. ###STOP###"), and
      so is every message after `max_turns` answers.

    It never invents anything; it is meant for offline tests of a harness, not for measuring agents.
    """

    def __init__(self, task: Task, *, max_turns: int = 30) -> None:
        self.task = task
        self.max_turns = max_turns
        self.facts = self._facts(task)
        self.turns = 0

    @staticmethod
    def _facts(task: Task) -> dict[str, list[str]]:
        facts: dict[str, list[str]] = {key: [] for key in _PHRASES}

        def add(key: str, value: Any) -> None:
            if isinstance(value, str) and value and value not in facts[key]:
                facts[key].append(value)

        add("user_id", task.user_id)
        for action in task.actions:
            kw = action.kwargs
            if action.name == "find_user_id_by_name_zip":
                add("name", f"{kw.get('first_name', '')} {kw.get('last_name', '')}".strip())
                add("zip", kw.get("zip"))
            add("email", kw.get("email"))
            add("user_id", kw.get("user_id"))
            add("order_id", kw.get("order_id"))
            add("reservation_id", kw.get("reservation_id"))
            add("payment_method", kw.get("payment_method_id"))
            add("payment_method", kw.get("payment_id"))
            payments = kw.get("payment_methods")
            for payment in payments if isinstance(payments, list) else ():
                if isinstance(payment, Mapping):
                    add("payment_method", payment.get("payment_id"))
        text = task.instruction
        for email in _EMAIL.findall(text):
            add("email", email)
        for zip_code in _ZIP.findall(text):
            add("zip", zip_code)
        for order_id in _ORDER_ID.findall(text):
            add("order_id", order_id)
        for reservation_id in _RESERVATION_ID.findall(text):
            add("reservation_id", reservation_id)
        return facts

    def reply(self, messages: Sequence[Message]) -> str:
        """The next message of the user (the synchronous form of `respond`)."""
        said = [m for m in messages if m.get("role") == "assistant" and _text_of(m).strip()]
        if not said:
            return f"Hi! {self.task.instruction}"
        self.turns += 1
        if self.turns > self.max_turns:
            return f"Thank you, that's all. {STOP}"
        question = _text_of(said[-1]).lower()
        answers = []
        for keywords, wanted in _QUESTIONS:
            if any(k in question for k in keywords):
                for fact in wanted:
                    values = self.facts[fact]
                    answers.append(_PHRASES[fact].format(" and ".join(values)) if values
                                   else f"I don't know my {fact.replace('_', ' ')}.")
        if any(k in question for k in _CONFIRMATIONS):
            answers.append("Yes, please proceed.")
        return " ".join(answers) if answers else f"Thank you, that's all. {STOP}"

    async def respond(self, messages: Sequence[Message]) -> str:
        return self.reply(messages)
