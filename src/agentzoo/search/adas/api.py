"""The agent-building API of ADAS agents: what `forward(self, task)` code is written against.

This file is sent, as source, into the sandbox that runs an agent's code, and shown, as source, to
the meta agent that writes new agents. It is standard library only (agentzoo is not importable in
the sandbox) and it never talks to a model itself: each `LLMAgent` call goes out through
`llm_call`, a host tool the sandbox serves, which builds the prompt, makes one journaled model call
through the gateway and hands back the reply's fields. (ADAS's counterpart is `LLMAgentBase` and
its `Info` namedtuple, ShengranHu/ADAS `_mgsm/search.py`; this API is ours.)

An agent is one function:

    def forward(self, task):
        cot = LLMAgent(["thinking", "answer"], "Chain-of-Thought Agent")
        thinking, answer = cot([task], "Please think step by step and then solve the task.")
        return answer

- `task` is an `Info` named "task" holding the question.
- `LLMAgent(output_fields, name, role="helpful assistant", temperature=0.5)` is an LLM that answers
  with exactly those fields. Calling it with a list of `Info` inputs and an instruction returns a
  `Reply`: a tuple of `Info`, one per output field in the order asked for (so `thinking, answer =
  agent(...)` works), also readable by name (`reply["answer"]`, `reply.answer`). A field the model
  left out comes back as an empty string. `iteration` (optional) numbers the rounds of a loop in the
  prompts the next agents see.
- The inputs of a call are `Info` values that came from the task or from earlier calls: pass them on
  as they are; the prompt says which agent wrote each one.
- Return the final answer: the `Info` of an answer field, or a string.
"""

import linecache
import random
import typing

__all__ = ["Info", "LLMAgent", "Reply"]


class Info(typing.NamedTuple):
    """One named piece of text: the task, or a field an LLM agent produced."""

    name: str
    """The field's name ("task", "thinking", "answer", ...)."""
    author: str
    """Who produced it: "User" for the task, else the agent's name and number."""
    content: str
    """The text itself."""
    iteration: int = -1
    """The round of a loop it came from, or -1."""

    def __str__(self):
        return self.content


class Reply(tuple):
    """The fields of one LLM agent call: a tuple of `Info` in the order asked for, also by name."""

    def __getitem__(self, key):
        if isinstance(key, str):
            for info in self:
                if info.name == key:
                    return info
            raise KeyError(f"this reply has no field {key!r}; its fields: {[i.name for i in self]}")
        return tuple.__getitem__(self, key)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


class LLMAgent:
    """An LLM that reads `Info` inputs and an instruction and replies with `output_fields` (JSON)."""

    _made = 0  # agents made so far in this task: numbers them, so their names are the same every run

    def __init__(self, output_fields, name, role="helpful assistant", temperature=0.5):
        if isinstance(output_fields, str) or not all(isinstance(f, str) and f for f in output_fields):
            raise TypeError("output_fields must be a list of field names, e.g. ['thinking', 'answer']")
        if not output_fields:
            raise ValueError("output_fields must name at least one field")
        if not isinstance(name, str) or not isinstance(role, str):
            raise TypeError("name and role must be strings")
        if isinstance(temperature, bool) or not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
            raise ValueError(f"temperature must be a number from 0 to 2, not {temperature!r}")
        LLMAgent._made += 1
        self.output_fields = list(output_fields)
        self.name, self.role, self.temperature = name, role, float(temperature)
        self.label = f"{name} #{LLMAgent._made}"

    def __repr__(self):
        return self.label

    def __call__(self, inputs, instruction, iteration=-1):
        if isinstance(inputs, Info) or not isinstance(inputs, (list, tuple)):
            raise TypeError("inputs must be a list of Info, e.g. [task] or [task, thinking, answer]")
        bad = [type(item).__name__ for item in inputs if not isinstance(item, Info)]
        if bad:
            raise TypeError(f"inputs must all be Info values (the task, or fields returned by an LLMAgent); "
                            f"got {', '.join(bad)}: pass the Info itself, not its content")
        if not isinstance(instruction, str):
            raise TypeError("instruction must be a string")
        if isinstance(iteration, bool) or not isinstance(iteration, int):
            raise TypeError("iteration must be an int")
        fields = llm_call(agent=self.label, role=self.role, fields=self.output_fields,  # noqa: F821 (served by the host)
                          temperature=self.temperature, instruction=instruction,
                          inputs=[{"name": str(i.name), "author": str(i.author), "content": str(i.content),
                                   "iteration": int(i.iteration)} for i in inputs])
        return Reply(Info(field, self.label, fields.get(field, ""), iteration) for field in self.output_fields)


class AgentSystem:
    """The `self` of `forward(self, task)`: free for the code to keep things on."""


def _run_agent(code, task, seed):
    """Define `forward` from `code`, run it on `task`, hand its answer to the host (`final_answer`)."""
    random.seed(seed)  # code that draws random numbers draws the same ones when the run is resumed
    linecache.cache["<agent>"] = (len(code), None, code.splitlines(True), "<agent>")  # tracebacks show its lines
    namespace = {"__name__": "agent", "__builtins__": __builtins__, "Info": Info, "LLMAgent": LLMAgent,
                 "Reply": Reply}
    exec(compile(code, "<agent>", "exec"), namespace)
    forward = namespace.get("forward")
    if not callable(forward):
        raise NameError("the code defines no function forward(self, task)")
    answer = forward(AgentSystem(), Info("task", "User", task))
    if isinstance(answer, Info):
        answer = answer.content
    elif answer is not None and not isinstance(answer, str):
        answer = str(answer)
    final_answer(answer)  # noqa: F821 (given by the sandbox worker)
