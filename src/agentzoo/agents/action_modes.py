"""M3ToolEval's three action modes: how a reply becomes an action, and a result an observation.

Wang et al., "Executable Code Actions Elicit Better LLM Agents" (CodeAct, ICML 2024) compares
three ways for a model to act on the same tools. In all three the action sits between
`Action:` and `End Action`, and `Answer: ...` ends the task:

- `text`: the tool's name, then its arguments, separated by commas: `Action: add, 1, 2 End Action`;
- `json`: `{"tool": name, "args": [...]}`, the arguments as a list;
- `code`: a block of Python run in a persistent sandbox where each tool is a function; one
  action may call many tools, loop and branch, and errors come back for self-debugging.

Facts (formats, parsing rules, constants) are checked against the authors' code,
xingyaoww/code-act `scripts/eval/m3tooleval/tasks/base.py` (`Task.get_prompt`,
`parse_generation`, `execute_action`, `check_answer`) and `tasks/repl.py`; the wording and the
code here are our own. Where we differ on purpose, the comment says so.
"""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from .. import _json
from ..errors import FormatError
from ..runtime.context import Context
from ..tools import ApprovalPolicy, ToolSet
from ..tools.toolset import truncate
from ..types import ToolCall
from ..tools.calling import call_tool

if TYPE_CHECKING:
    from ..sandbox.bridge import CodeExecutor
    from ..sandbox.result import ExecResult

ACTION, END_ACTION, ANSWER = "Action:", "End Action", "Answer:"
OUTPUT_CHARS = 2000
"""Cap on each part of an observation; upstream cuts a tool result and the REPL output at 2,000 characters."""

NO_OUTPUT = "(no output: the code printed nothing; print() the values you want to see)"
BOTH = ("Invalid reply: it has both an action and an answer. Send one of the two: an action between "
        "`Action:` and `End Action`, or `Answer:` followed by the answer.")
NEITHER = ("Invalid reply: it has neither an action nor an answer. Put an action between `Action:` and "
           "`End Action`, or give the answer after `Answer:`.")
MANY = "Note: your reply held {n} actions; only the first one was run. Send one action per reply."
STATE_LOST = "the interpreter was restarted, so variables and imports from earlier actions are gone"


@dataclass(frozen=True, slots=True)
class Act:
    """An action to perform: a `ToolCall` (text and JSON modes) or Python source (code mode)."""

    payload: Any
    note: str | None = None
    """Added to the observation, e.g. that only the first of several actions was run."""


@dataclass(frozen=True, slots=True)
class Answer:
    """The model's final answer (the text after `Answer:`)."""

    text: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What performing an action gave: the observation for the model, or the task's answer."""

    observation: str
    answer: str | None = None
    """Set when the action itself ended the task (code that called `final_answer`)."""


class ActionMode(Protocol):
    name: str

    def describe_tools(self) -> list[str]: ...
    def parse(self, reply: str) -> Act | Answer: ...
    async def perform(self, ctx: Context, act: Act, executor: CodeExecutor | None) -> Outcome: ...


# --- the reply ----------------------------------------------------------------------------

_NEXT_MARKER = re.compile(r"^[ \t]*(?:Action|Answer):", re.M)


def split_reply(reply: str) -> tuple[list[str], str | None]:
    """The action bodies in `reply`, in order, and the text of its first answer (or None).

    An action runs from `Action:` to `End Action`; one that is never closed runs to the next
    line that starts with `Action:` or `Answer:`, or to the end. `Answer:` counts only outside
    actions, so code that prints "Answer:" is not mistaken for an answer (upstream looks for
    the marker anywhere in the reply).
    """
    actions: list[str] = []
    outside: list[str] = []
    pos = 0
    while (start := reply.find(ACTION, pos)) >= 0:
        outside.append(reply[pos:start])
        body_start = start + len(ACTION)
        end = reply.find(END_ACTION, body_start)
        if end >= 0:
            actions.append(reply[body_start:end])
            pos = end + len(END_ACTION)
        else:
            marker = _NEXT_MARKER.search(reply, body_start)
            pos = marker.start() if marker else len(reply)
            actions.append(reply[body_start:pos])
    outside.append(reply[pos:])
    rest = "".join(outside)
    at = rest.find(ANSWER)
    if at < 0:
        return actions, None
    # Upstream keeps the first of several answers: the text up to the next `Answer:`.
    return actions, rest[at + len(ANSWER):].split(ANSWER, 1)[0].strip()


def parse_reply(reply: str, body: Callable[[str], Any]) -> Act | Answer:
    """Shared by the modes: one answer, or the first action's body through `body(text)`."""
    actions, answer = split_reply(reply)
    if actions and answer is not None:
        raise FormatError("reply has both an action and an answer", message_for_model=BOTH)
    if answer is not None:
        if not answer:
            raise FormatError("empty answer", message_for_model="Your `Answer:` is empty. Write the answer after it.")
        return Answer(answer)
    if not actions:
        raise FormatError("reply has neither an action nor an answer", message_for_model=NEITHER)
    return Act(body(actions[0]), MANY.format(n=len(actions)) if len(actions) > 1 else None)


def _strip_fence(text: str) -> str:
    """The text without a surrounding Markdown code fence (```python … ```), dedented."""
    text = text.strip("\n")
    if text.lstrip().startswith("```"):
        text = text.lstrip()
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return textwrap.dedent(text).strip()


# --- the tool list ------------------------------------------------------------------------

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "null": "None", "object": "dict"}


def schema_type(schema: dict[str, Any]) -> str:
    """A JSON Schema as a Python type hint, for the prompt: `{"type": "integer"}` → `int`."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " | ".join(schema_type(s) for s in schema[key])
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(schema_type({"type": k}) for k in kind)
    if kind == "array":
        items = schema.get("items")
        return f"list[{schema_type(items)}]" if isinstance(items, dict) and items else "list"
    return _SCALARS.get(kind, "Any") if isinstance(kind, str) else "Any"


def signature(tool: Any) -> str:
    """`add(a: int, b: int) -> int: Add two integers.`, like upstream's `fn_signature` plus description."""
    properties = tool.parameters.get("properties", {})
    params = []
    for name, schema in properties.items():
        text = f"{name}: {schema_type(schema)}"
        if "default" in schema:
            text += f" = {schema['default']!r}"
        params.append(text)
    line = f"{tool.name}({', '.join(params)})"
    returns = _return_annotation(getattr(tool, "fn", None))
    if returns:
        line += f" -> {returns}"
    return f"{line}: {tool.description}" if tool.description else line


def _return_annotation(fn: Any) -> str | None:
    if fn is None:
        return None
    try:
        annotation = inspect.signature(fn, eval_str=True).return_annotation
    except (TypeError, ValueError, NameError, SyntaxError):
        return None
    if annotation is inspect.Signature.empty:
        return None
    return inspect.formatannotation(annotation)


# --- text and JSON modes: one host tool call per action ----------------------------------


class _ToolCallMode:
    """Shared by the text and JSON modes: the action is one tool call, run on the host."""

    name = ""

    def __init__(self, tools: ToolSet, policy: ApprovalPolicy | None = None) -> None:
        self.tools, self.policy = tools, policy

    def describe_tools(self) -> list[str]:
        return [signature(t) for t in self.tools]

    def parse(self, reply: str) -> Act | Answer:
        return parse_reply(reply, self._call)

    def _call(self, body: str) -> ToolCall:
        raise NotImplementedError

    def _bind(self, name: str, args: list[Any], kwargs: dict[str, Any]) -> ToolCall:
        """Positional arguments take the tool's parameters in schema order."""
        call_id = f"{self.name}-action"  # not journaled: the tool effect records name and arguments
        if name not in self.tools:  # the tool set's own message names the tools there are
            return ToolCall(id=call_id, name=name, arguments="{}")
        params = list(self.tools.get(name).parameters.get("properties", {}))
        if len(args) > len(params):
            listed = ", ".join(params) or "none"
            raise FormatError(f"{name} got {len(args)} positional arguments",
                              message_for_model=f"{name} takes {len(params)} argument(s) ({listed}), "
                              f"but the action gave {len(args)}.")
        arguments = dict(zip(params, args))
        for key, value in kwargs.items():
            if key in arguments:
                raise FormatError(f"{name} got {key!r} twice",
                                  message_for_model=f"The action gave {name}'s argument {key!r} twice.")
            arguments[key] = value
        return ToolCall(id=call_id, name=name, arguments=_json.dumps_str(arguments))

    async def perform(self, ctx: Context, act: Act, executor: CodeExecutor | None) -> Outcome:
        outcome = await call_tool(ctx, self.tools, act.payload, self.policy)
        text = truncate(outcome.content, OUTPUT_CHARS)
        text = f"Error: {text}" if outcome.is_error else text
        return Outcome(f"{text}\n{act.note}" if act.note else text)


class TextMode(_ToolCallMode):
    """`Action: tool_name, arg1, arg2 End Action`.

    Upstream splits the action on commas and tries each argument as int, then float, then
    keeps the text. We do the same, except that an argument whose parameter is a string stays
    text (`"007"` is not turned into 7). As upstream, an argument cannot contain a comma.
    """

    name = "text"

    def _call(self, body: str) -> ToolCall:
        name, *raw = (part.strip() for part in body.split(","))
        if not name:
            raise FormatError("text action without a tool name",
                              message_for_model="The action has no tool name. Write `Action: tool_name, "
                              "argument_1, argument_2 End Action`.")
        if raw == [""]:
            raw = []
        params = self.tools.get(name).parameters.get("properties", {}) if name in self.tools else {}
        kinds = [schema.get("type") for schema in params.values()]
        args = [text if i < len(kinds) and kinds[i] == "string" else _number_or_text(text)
                for i, text in enumerate(raw)]
        return self._bind(name, args, {})


def _number_or_text(text: str) -> Any:
    """Upstream's `_try_to_convert_to_correct_type`: int, then float, then the text itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except (TypeError, ValueError):
            pass
    return text


class JsonMode(_ToolCallMode):
    """`Action: {"tool": "add", "args": [1, 2]} End Action`.

    As upstream, `args` is a list of positional arguments and a single value counts as a list
    of one. We also accept an object of named arguments and a missing `args` (no arguments).
    """

    name = "json"

    def _call(self, body: str) -> ToolCall:
        text = _strip_fence(body)
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise FormatError(f"JSON action is not JSON: {exc}",
                              message_for_model=f"The action is not valid JSON ({exc}). Write one object such as "
                              '{"tool": "tool_name", "args": [1, 2]}.') from None
        if not isinstance(value, dict) or not isinstance(value.get("tool"), str):
            raise FormatError("JSON action without a tool name",
                              message_for_model='The action must be a JSON object with "tool" (the tool\'s name) '
                              'and "args" (a list of its arguments), e.g. {"tool": "tool_name", "args": [1, 2]}.')
        args = value.get("args", [])
        if isinstance(args, dict):
            return self._bind(value["tool"], [], args)
        return self._bind(value["tool"], args if isinstance(args, list) else [args], {})


# --- code mode: Python in the sandbox -----------------------------------------------------


class CodeMode:
    """`Action:` a block of Python `End Action`, run in the run's sandbox.

    Each tool is a function of the same name; `final_answer(value)` ends the task with that
    value. The observation is what the code printed, then its stderr, then the error's
    traceback, then what the sandbox noticed (a restart, lost state), each cut to
    `OUTPUT_CHARS`.
    """

    name = "code"

    def __init__(self, tools: ToolSet, policy: ApprovalPolicy | None = None) -> None:
        self.tools, self.policy = tools, policy

    def describe_tools(self) -> list[str]:
        return [signature(t) for t in self.tools]

    def parse(self, reply: str) -> Act | Answer:
        return parse_reply(reply, self._code)

    @staticmethod
    def _code(body: str) -> str:
        code = _strip_fence(body)
        if not code:
            raise FormatError("empty code action",
                              message_for_model="The action has no code. Put Python code between `Action:` and "
                              "`End Action`.")
        return code

    async def perform(self, ctx: Context, act: Act, executor: CodeExecutor | None) -> Outcome:
        if executor is None:
            raise RuntimeError("code mode needs a CodeExecutor")
        result = await executor.execute(ctx, act.payload)
        if result.answered:  # what it printed on the way is kept in the history; "(no output)" is not
            shown = observation(result)
            return Outcome("" if shown == NO_OUTPUT else shown, answer=answer_text(result.answer))
        text = observation(result)
        return Outcome(f"{text}\n{act.note}" if act.note else text)


def observation(result: ExecResult) -> str:
    """A sandbox result as the text the model reads next."""
    parts = []
    for label, text, dropped in (("", result.stdout, result.stdout_dropped), ("stderr:\n", result.stderr,
                                                                                result.stderr_dropped)):
        if text or dropped:
            shown = truncate(text.rstrip("\n"), OUTPUT_CHARS)
            if dropped:
                shown += f"\n[… {dropped:,} more bytes were not captured]"
            parts.append(label + shown)
    if result.error:
        error = result.error
        trace = (error.get("traceback") or "").strip()
        parts.append(truncate(trace or f"{error.get('type', 'Error')}: {error.get('message', '')}", OUTPUT_CHARS))
    notes = list(result.notes)
    if result.state_lost and not any("lost" in text for text in notes + parts):
        notes.append(STATE_LOST)
    parts.extend(truncate(f"Note: {note}", OUTPUT_CHARS) for note in notes)
    return "\n".join(parts) or NO_OUTPUT


def answer_text(value: Any) -> str:
    """The answer given to `final_answer`: a string as it is, a number as `str()`, anything else
    (a list, a dict, a bool, None) as JSON text."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return _json.dumps_str(value)


MODES: dict[str, type[TextMode] | type[JsonMode] | type[CodeMode]] = {"text": TextMode, "json": JsonMode,
                                                                        "code": CodeMode}


# --- the answer check (the harness's job, not the agent's) ---------------------------------


def answers_match(expected: Any, got: Any) -> bool:
    """M3ToolEval's answer check (upstream `Task.check_answer`), as it was meant to work.

    Equal as they are, or after each is made an int, else a float, else left alone; else `got`
    read as a Python literal (`ast.literal_eval`) and compared the same ways, a list element by
    element; else equal as strings.

    Upstream's literal branch is missing an `or` (`answer == expected (isinstance(...) ...)`),
    so it always raises and falls through to the string comparison; and a list `expected`
    makes the int conversion raise TypeError, which skips the literal branch too. Here both
    branches work as written, so this check accepts a little more than upstream's (e.g.
    `"[1,2]"` for `[1, 2]`), and a little less where upstream truncates floats (see `_convert`).
    """
    if got == expected or _convert(got) == _convert(expected):
        return True
    try:
        parsed = ast.literal_eval(got) if isinstance(got, str) else got
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        parsed = got
    if parsed == expected or _convert(parsed) == _convert(expected):
        return True
    if isinstance(expected, list) and isinstance(parsed, (list, tuple)) and _lists_match(list(parsed), expected):
        return True
    return str(parsed) == str(expected)


def _lists_match(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(x == y or _convert(x) == _convert(y) for x, y in zip(a, b))


def _convert(value: Any) -> Any:
    """Upstream's `_try_to_convert_to_correct_type` (int, then float, then as it is), for text only.

    Upstream also applies it to numbers, so `int(5.7)` makes an expected 5.7 match "5"; a
    number is compared as it is here (5 == 5.0 still holds).
    """
    if not isinstance(value, str):
        return value
    for kind in (int, float):
        try:
            return kind(value)
        except (TypeError, ValueError, OverflowError):
            pass
    return value
