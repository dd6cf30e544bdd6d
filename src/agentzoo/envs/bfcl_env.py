"""BFCL single-turn as an environment: the task's functions as tools that record the calls, scored by AST.

    env = get_env("bfcl")                      # simple_python, multiple, parallel, parallel_multiple,
                                               # irrelevance: 1,240 tasks, in that order
    env = get_env("bfcl", "my/BFCL_x.json")    # any file of the format; answers in possible_answer/ beside it

A task's prompt is its user message (BFCL questions are chat messages; the shipped ones are one user
message each; a system message, if a file has one, is put before it). The episode's tools are the
task's functions with the schemas BFCL gives OpenAI-style models (`bfcl.openai_tools`: "." in names
becomes "_", BFCL types become JSON Schema types). Calling one runs nothing: the call is recorded
(the BFCL, dotted, name and the arguments as the model gave them) and the tool returns a short neutral
observation. The agent's answer text is not looked at.

Scoring: BFCL single-turn scores the model's first response, so the score is `bfcl.check(task, calls)`
over the calls of the agent's FIRST MODEL TURN THAT MADE CALLS (the calls of later turns are reported
in the details, not scored); an agent that made no call is scored on no call, which is right only for
irrelevance. A turn is one model call: a tool call records how many model calls the run had made when
it ran (`Gateway.model_calls`, read from the run's gateway), so all the parallel calls of
one tool-calling reply, and all the calls made by one CodeAct code action, are one turn.

What recording by invocation cannot see, and BFCL would count: a call the agent never runs - a name
that is not a tool, arguments that are not a JSON object, the tool-calling agent's repeat guard (the
same call a third time in a row is not run), a reply the agent could not parse. Those calls are
missing from the recorded turn (a call to a made-up function in irrelevance passes here; upstream
fails it).

Oracle: for `tool-calling`, one reply holding every gold call (`bfcl.gold_calls`) as parallel tool
calls, then a short final text; identical gold calls are spread apart (parallel categories match in
any order) so that the agent's repeat guard runs them all. For `codeact`, one code action calling the
functions by their "_" names with keyword arguments, then `Answer: done`. Irrelevance: a text reply
(`Answer: ...` for codeact) and no call.
"""

from __future__ import annotations

import keyword
from pathlib import Path
from typing import Any

from ..runtime.gateway import current_gateway
from . import bfcl
from .base import Episode, Score, ScoringContext, Task

OBSERVATION = "Call recorded. (This benchmark checks the calls themselves; no result is returned.)"
FINAL_TEXT = "I have made the function calls the request needs."
NO_CALL_TEXT = "None of the available functions fits this request, so I make no function call."


class BFCLEnv:
    name = "bfcl"
    answer_kind = "tool-calls"

    def __init__(self, tasks_file: str | Path | None = None) -> None:
        self.path = Path(tasks_file) if tasks_file else None
        self._tasks: list[Task] | None = None

    def tasks(self) -> list[Task]:
        if self._tasks is None:
            if self.path is None:
                loaded = [t for name in bfcl.categories() for t in bfcl.load_category(name)]
            else:
                loaded = bfcl.load_tasks(self.path)
            self._tasks = [self._task(t) for t in loaded]
        return self._tasks

    def _task(self, task: bfcl.BfclTask) -> Task:
        data = {"category": task.category, "question": task.question, "functions": task.functions,
                "possible_answer": task.possible_answer}
        return Task(self.name, task.id, prompt_of(task), bfcl.gold_calls(task), data)

    def episode(self, task: Task) -> Episode:
        source = bfcl_task(task)
        calls: list[dict[str, Any]] = []
        names = bfcl.tool_name_map(source)
        tools = [RecordingTool(spec, names[spec["function"]["name"]], calls) for spec in bfcl.openai_tools(source)]
        return Episode(task, tools, {"calls": calls})

    async def score(self, episode: Episode, answer: str | None, scoring: ScoringContext) -> Score:
        calls = episode.state["calls"]
        turn = calls[0]["turn"] if calls else None
        scored = [{"name": c["name"], "arguments": c["arguments"]} for c in calls if c["turn"] == turn]
        result = bfcl.check(bfcl_task(episode.task), scored)
        details: dict[str, Any] = {"category": episode.task.data["category"], "calls": scored,
                                   "later_calls": len(calls) - len(scored)}
        if not result.valid:
            details.update(reason=result.reason, error_type=result.error_type)
        return Score(1.0 if result.valid else 0.0, result.valid, details)

    def oracle(self, task: Task, agent: str) -> list[Any]:
        calls = spread(task.gold) if "parallel" in task.data["category"] else list(task.gold)
        model_name = {bfcl_name: name for name, bfcl_name in bfcl.tool_name_map(bfcl_task(task)).items()}
        if agent == "codeact":
            if not calls:
                return [f"Answer: {NO_CALL_TEXT}"]
            code = "\n".join(python_call(model_name[c["name"]], c["arguments"]) for c in calls)
            return [f"Action:\n```python\n{code}\n```\nEnd Action", "Answer: done"]
        if not calls:
            return [NO_CALL_TEXT]
        return [{"content": None, "tool_calls": [{"name": model_name[c["name"]], "arguments": c["arguments"]}
                                                 for c in calls]},
                FINAL_TEXT]


class RecordingTool:
    """One BFCL function as a tool (the `Tool` protocol) whose call is recorded, not run."""

    def __init__(self, spec: dict[str, Any], bfcl_name: str, record: list[dict[str, Any]]) -> None:
        function = spec["function"]
        self.name: str = function["name"]
        self.description: str = function.get("description", "")
        self.parameters: dict[str, Any] = function["parameters"]
        self.touches: frozenset[str] = frozenset()
        self.bfcl_name = bfcl_name
        self._spec = spec
        self._record = record

    def spec(self) -> dict[str, Any]:
        """The OpenAI tools entry exactly as `bfcl.openai_tools` made it."""
        return self._spec

    async def invoke(self, arguments: dict[str, Any]) -> str:
        self._record.append({"turn": model_turn(), "name": self.bfcl_name, "arguments": arguments})
        return OBSERVATION




def model_turn() -> int | None:
    """How many model calls the running agent's run has made: the turn a tool call belongs to.

    Read from the run's gateway (`current_gateway()`, set by the runner for the run's tasks);
    None when the tool is called outside a run (then all calls are one turn).
    """
    gateway = current_gateway()
    return None if gateway is None else gateway.model_calls


def bfcl_task(task: Task) -> bfcl.BfclTask:
    """The loader's task back from the plain-JSON `Task` (so an episode needs no state of the env)."""
    data = task.data
    return bfcl.BfclTask(id=task.id, category=data["category"], question=data["question"],
                         functions=data["functions"], possible_answer=data["possible_answer"])


def prompt_of(task: bfcl.BfclTask) -> str:
    """The question's text: its system message(s), if any, then its user message(s)."""
    texts = [m.get("content") or "" for role in ("system", "user") for m in task.question if m.get("role") == role]
    return "\n\n".join(t for t in texts if t)


def spread(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls reordered so that identical ones are not next to each other where that can be helped
    (round robin over the groups of identical calls, in order of first appearance)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for call in calls:
        groups.setdefault(repr(call), []).append(call)
    out: list[dict[str, Any]] = []
    while any(groups.values()):
        for group in groups.values():
            if group:
                out.append(group.pop(0))
    return out


def python_call(name: str, arguments: dict[str, Any]) -> str:
    """`name(a=1, b='x')`; `name(**{...})` when an argument name is not a Python identifier."""
    if all(k.isidentifier() and not keyword.iskeyword(k) for k in arguments):
        return f"{name}({', '.join(f'{k}={v!r}' for k, v in arguments.items())})"
    return f"{name}(**{arguments!r})"
