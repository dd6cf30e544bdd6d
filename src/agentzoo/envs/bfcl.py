"""BFCL (Berkeley Function Calling Leaderboard) single-turn categories: tasks, tools and the AST scorer.

A task is one user request and a few function docs; the model answers with function calls, which are
scored without running anything, by matching each call and its arguments against the possible answers
(`{"func": {"param": [acceptable values...]}}`). Shipped categories: simple_python, multiple, parallel,
parallel_multiple and irrelevance (`categories()`, `load_category(name)`); `load_tasks(path)` reads any
file of the same format, with the answers to `X.json` in `possible_answer/X.json` beside it.

    tasks = load_category("parallel")
    tools = openai_tools(tasks[0])              # OpenAI tool specs ("math.factorial" -> "math_factorial")
    result = check(tasks[0], [{"name": "spotify_play", "arguments": {"artist": "Taylor Swift", "duration": 20}}, ...])
    result.valid, result.reason

This is a rewrite, not a copy. The rules were read (as facts) from ShishirPatil/gorilla at commit
6ea57973c7a6097fd7c5915698c54c17c5b1b6c8 (the commit the data comes from), under
berkeley-function-call-leaderboard/bfcl_eval/:
  eval_checker/ast_eval/ast_checker.py  ast_checker, simple_function_checker, type_checker, string_checker,
                                        standardize_string, list_checker, dict_checker, list_dict_checker,
                                        parallel_function_checker_no_order, multiple_function_checker
  eval_checker/eval_runner.py           _evaluate_single_relevance_entry (irrelevance: success = no call)
  utils.py                              extract_test_category_from_id, is_empty_output,
                                        _func_doc_language_specific_pre_processing (the Python 3 hint)
  model_handler/utils.py                convert_to_tool, _cast_to_openai_type (OpenAI tool specs)
  constants/type_mappings.py            GORILLA_TO_OPENAPI (BFCL type -> JSON Schema type)

The rules, as implemented here:
  - category = the task id without its last "_<n>" ("parallel_multiple_7" -> "parallel_multiple").
    "irrelevance" in it: valid iff no call. "parallel" in it: the calls are matched to the expected ones
    in any order, greedily (each expected call, in answer order, takes the first unused call that
    matches it; upstream does not search for a perfect matching). Otherwise (simple, multiple): the
    number of calls must equal the number of expected calls and the first call must match the first
    expected one; in `multiple` that is how a wrong choice of function fails.
  - a call matches an expected one when: the function name is the expected one (dotted, or with "."
    replaced by "_" as the model saw it); every parameter the schema marks required is present; every
    given parameter is both in the schema and in the answer; each value passes the type check and the
    value check below; every answer parameter not given has "" among its values.
  - type check (Python types of the BFCL type: string/any -> str, integer -> int, float -> float,
    boolean -> bool, array/tuple -> list, dict -> dict; exact type, so a bool is not an int):
    an int given for a float is turned into a float first (not inside lists); a float for an int
    fails. For array/tuple the items are checked one level deep against `items.type` (again exact,
    no int -> float there), passing if they fit any list among the possible values - or if any
    possible value is not a list (e.g. ""). A value whose type is that of the first non-"" possible
    value is accepted too ("variable": the answer holds a different type than the schema, e.g. a
    string naming a variable); variables, and values whose answer type differs from the schema type,
    are then compared with plain equality.
  - value check: strings are normalised - the characters space , . / - _ * ^ removed, lowercased,
    ' turned into " - and must equal a normalised string possible value; lists are compared
    element-wise after normalising their string elements (one level; "" among the possible values
    stands for the empty list); a dict must match one possible dict: no key outside it, each value
    (normalised if a string) among that key's possible values, each key not given having "" among
    its values; a list of dicts must have as many dicts as a possible list, each matching its
    counterpart in order; anything else by equality (so 5.0 == 5).
OpenAI tool specs (convert_to_tool for OpenAI-style models): "." in names becomes "_"; parameter types
are mapped by GORILLA_TO_OPENAPI (dict -> object, float -> number, tuple -> array, any -> string, ...,
unknown or missing -> string), a float parameter also gets "format": "float" and " This is a float
type value." on its description; nested properties and items are converted too (upstream goes two
levels of items deep, this goes all the way down); function descriptions get the upstream Python hint
" Note that the provided function is in Python 3 syntax." unless `language_hint=False`.

Deviations: a malformed call (not {"name": str, "arguments": dict or JSON object text}) is invalid
with a reason instead of crashing; possible values of odd shapes that upstream would crash on or
iterate character by character (a non-list among list answers, a non-dict among dict answers, a
non-dict item where a dict is expected) simply do not match. Java/JavaScript categories are refused.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _json
from ..errors import ConfigError

__all__ = [
    "BfclTask",
    "CheckResult",
    "DATA_DIR",
    "categories",
    "check",
    "example_arguments",
    "gold_calls",
    "load_category",
    "load_tasks",
    "normalize_string",
    "openai_tool",
    "openai_tools",
    "tool_name_map",
]

DATA_DIR = Path(__file__).parent / "data" / "bfcl"
"""Where the shipped category files live (answers in `possible_answer/` beside them)."""

_FILE_PREFIX = "BFCL_v4_"
_SHIPPED = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance",
            "live_simple", "live_multiple", "live_parallel", "live_parallel_multiple", "live_irrelevance",
            "live_relevance")

UNSOLVABLE: dict[str, str] = {
    "live_simple_106-63-0": "required array parameter 'auto_loan_payment_start' has no possible value ([])",
    "live_simple_112-68-0": "required array parameter 'acc_routing_start' has no possible value ([])",
    "live_multiple_862-181-3": "the answer needs 'journey_start_time', which the function's schema does not have",
    "live_multiple_964-207-0": "the answer gives 'question' for a function whose schema requires 'statement'",
}
"""Tasks no call can pass by BFCL's own checker (upstream fails every model on them, as
`tests/envs/test_bfcl_live.py` shows against the answers as shipped), left out when loading."""

PYTHON_HINT = " Note that the provided function is in Python 3 syntax."

# BFCL type name -> the Python type a value of it must have (ast_checker.PYTHON_TYPE_MAPPING).
_PY_TYPE: dict[str, type] = {
    "string": str, "integer": int, "float": float, "boolean": bool,
    "array": list, "tuple": list, "dict": dict, "any": str,
}
# BFCL type name -> JSON Schema type (type_mappings.GORILLA_TO_OPENAPI).
_JSON_TYPE: dict[str, str] = {
    "integer": "integer", "number": "number", "float": "number", "string": "string",
    "boolean": "boolean", "bool": "boolean", "array": "array", "list": "array", "dict": "object",
    "object": "object", "tuple": "array", "any": "string", "byte": "integer", "short": "integer",
    "long": "integer", "double": "number", "char": "string", "ArrayList": "array", "Array": "array",
    "HashMap": "object", "Hashtable": "object", "Queue": "array", "Stack": "array", "Any": "string",
    "String": "string", "Bigint": "integer",
}
_OPENAI_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")


# --- tasks ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=True)
class BfclTask:
    """One single-turn BFCL task."""

    id: str
    category: str
    """The id without its last "_<n>"; decides how calls are matched (see the module docstring)."""
    question: list[dict[str, Any]]
    """The chat messages of the (single) turn, e.g. [{"role": "user", "content": "..."}]."""
    functions: list[dict[str, Any]]
    """The function docs as BFCL writes them (BFCL types such as "dict", "float", "tuple")."""
    possible_answer: list[dict[str, dict[str, list[Any]]]] | None
    """[{func_name: {param: [acceptable values...]}}] per expected call; None when no call is expected."""

    @property
    def expects_no_call(self) -> bool:
        return _is_irrelevance(self.category)


def categories() -> list[str]:
    """The shipped category names, for `load_category`."""
    return list(_SHIPPED)


def load_category(name: str) -> list[BfclTask]:
    """The tasks of one shipped category (see `categories()`)."""
    if name not in _SHIPPED:
        raise ConfigError(f"unknown BFCL category {name!r}; shipped: {', '.join(_SHIPPED)}")
    return load_tasks(DATA_DIR / f"{_FILE_PREFIX}{name}.json")


def load_tasks(path: str | Path, *, skip: dict[str, str] | None = None) -> list[BfclTask]:
    """Read a BFCL tasks file (JSON Lines); the answers come from `possible_answer/<same name>` beside it.

    Tasks whose id is in `skip` are left out (default: `UNSOLVABLE`; `skip={}` keeps every task).

    The answers file may be missing only when every task is of an irrelevance-style category
    (no call expected, or any call expected); otherwise `ConfigError` names the missing path.
    """
    path = Path(path)
    rows = read_jsonl(path)
    if not rows:
        raise ConfigError(f"{path}: no tasks in the file")
    answers_path = path.parent / "possible_answer" / path.name
    answers: dict[str, list[dict[str, Any]]] | None = None
    if answers_path.is_file():
        answers = {}
        for lineno, row in enumerate(read_jsonl(answers_path), 1):
            if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("ground_truth"), list):
                raise ConfigError(f"{answers_path}:{lineno}: not an answer row {{'id', 'ground_truth': [...]}}")
            answers[str(row["id"])] = row["ground_truth"]
    tasks = []
    skip = UNSOLVABLE if skip is None else skip
    for lineno, row in enumerate(rows, 1):
        where = f"{path}:{lineno}"
        if not isinstance(row, dict) or "id" not in row or "question" not in row:
            raise ConfigError(f"{where}: not a BFCL task row {{'id', 'question', 'function'}}")
        task_id = str(row["id"])
        if task_id in skip:
            continue
        category = _category_of(task_id)
        if "java" in category:  # java and javascript
            raise ConfigError(f"{where}: {category!r} tasks are not supported (Python categories only)")
        turns = row["question"]
        if not isinstance(turns, list) or len(turns) != 1 or not isinstance(turns[0], list):
            raise ConfigError(f"{where}: task {task_id!r} is not single-turn (multi-turn files are read by "
                              "agentzoo.envs.bfcl_multi_turn.load_multi_turn)")
        functions = row.get("function")
        if not isinstance(functions, list) or not all(isinstance(f, dict) and "name" in f for f in functions):
            raise ConfigError(f"{where}: task {task_id!r} has no 'function' list of function docs")
        possible: list[dict[str, Any]] | None = None
        if _is_relevance_style(category):
            pass  # scored by whether a call is made at all; any answers are not used
        elif answers is None:
            raise ConfigError(
                f"{path}: no answers file {answers_path} (the answers to a BFCL tasks file X.json live in "
                f"possible_answer/X.json beside it; only irrelevance-style categories do without)"
            )
        elif task_id not in answers:
            raise ConfigError(f"{answers_path}: no answer for task {task_id!r} of {path}")
        else:
            possible = answers[task_id]
            _validate_answer(possible, functions, f"{answers_path} (task {task_id!r})")
        tasks.append(BfclTask(id=task_id, category=category, question=turns[0], functions=functions,
                              possible_answer=possible))
    return tasks


def read_jsonl(path: Path) -> list[Any]:
    """A BFCL file's rows (JSON Lines, blank lines skipped); a missing file or a bad line is a `ConfigError`."""
    return [row for _, row in _json.read_lines(path, "BFCL file")]


def _validate_answer(possible: Any, functions: list[dict[str, Any]], where: str) -> None:
    names = {f["name"] for f in functions}
    for entry in possible:
        if not isinstance(entry, dict) or len(entry) != 1:
            raise ConfigError(f"{where}: each expected call must be {{func_name: {{param: [values]}}}}")
        ((name, params),) = entry.items()
        if name not in names:
            raise ConfigError(f"{where}: expected function {name!r} is not among the task's functions")
        if not isinstance(params, dict) or not all(isinstance(v, list) for v in params.values()):
            raise ConfigError(f"{where}: the parameters of {name!r} must map to lists of possible values")


def _category_of(task_id: str) -> str:
    # utils.extract_test_category_from_id
    return task_id.split(":")[0].rsplit("_", 1)[0]


def _is_relevance_style(category: str) -> bool:
    return "relevance" in category  # covers irrelevance


def _is_irrelevance(category: str) -> bool:
    return "irrelevance" in category


# --- tools ----------------------------------------------------------------------------------


def _openai_name(name: str) -> str:
    return name.replace(".", "_")


def tool_name_map(task: BfclTask) -> dict[str, str]:
    """{name as the model sees it in `openai_tools`: the BFCL function name}."""
    return {_openai_name(f["name"]): f["name"] for f in task.functions}


def openai_tools(task: BfclTask, *, language_hint: bool = True) -> list[dict[str, Any]]:
    """The task's function docs as OpenAI chat-completions tool specs, converted as upstream does.

    Names get "." replaced by "_" (`tool_name_map` maps them back; `check` accepts either form);
    BFCL types become JSON Schema types.
    """
    return [openai_tool(function, language_hint=language_hint, where=f"task {task.id!r}") for function in task.functions]


def openai_tool(function: dict[str, Any], *, language_hint: bool = True, where: str = "BFCL") -> dict[str, Any]:
    """One BFCL function doc as an OpenAI chat-completions tool spec (see `openai_tools`).

    A doc's `response` (the return value's schema, which multi-turn docs give) is not a field of
    a tool spec: it is said at the end of the description, as upstream does for the providers
    that take no such field.
    """
    spec = copy.deepcopy(function)
    spec["name"] = _openai_name(spec["name"])
    if not _OPENAI_NAME.match(spec["name"]):
        raise ConfigError(f"{where}: function name {function['name']!r} cannot be an OpenAI tool name")
    if language_hint:
        spec["description"] = spec.get("description", "") + PYTHON_HINT
    if "response" in spec:
        spec["description"] = (spec.get("description", "") + " The response field has the following schema: "
                               + json.dumps(spec.pop("response")))
    parameters = spec.setdefault("parameters", {})
    parameters["type"] = "object"
    parameters["properties"] = {k: _property_schema(v) for k, v in parameters.get("properties", {}).items()}
    return {"type": "function", "function": spec}


def _json_type(bfcl_type: Any) -> str:
    return _JSON_TYPE.get(bfcl_type, "string") if isinstance(bfcl_type, str) else "string"


def _property_schema(prop: dict[str, Any]) -> dict[str, Any]:
    out = dict(prop)
    if prop.get("type") == "float":
        out["format"] = "float"
        out["description"] = (prop.get("description", "") + " This is a float type value.").lstrip()
    out["type"] = _json_type(prop.get("type"))
    if out["type"] in ("array", "object"):
        if isinstance(prop.get("properties"), dict):
            out["properties"] = {k: _property_schema(v) for k, v in prop["properties"].items()}
        elif isinstance(prop.get("items"), dict):
            out["items"] = _items_schema(prop["items"])
    return out


def _items_schema(items: dict[str, Any]) -> dict[str, Any]:
    out = dict(items)
    out["type"] = _json_type(items.get("type"))
    if out["type"] == "array" and isinstance(items.get("items"), dict):
        out["items"] = _items_schema(items["items"])
    elif out["type"] == "object" and isinstance(items.get("properties"), dict):
        out["properties"] = {k: _property_schema(v) for k, v in items["properties"].items()}
    return out


# --- gold -----------------------------------------------------------------------------------


def gold_calls(task: BfclTask) -> list[dict[str, Any]]:
    """One correct answer: the first possible value of each parameter, omittable ones left out.

    A parameter is omittable when "" is among its possible values, wherever it is listed (live
    answers often list it first); the schema's required parameters are given all the same, with
    their first value that is not "" - or, when "" is their only one, the empty list for an array
    (the checker reads "" as [] there). Names are the BFCL (dotted) ones. Irrelevance tasks: []
    (no call). Relevance tasks (any call passes): one call of the first function with example values
    for its required parameters (`example_arguments`).
    """
    if task.possible_answer is None:
        if _is_irrelevance(task.category):
            return []
        if _is_relevance_style(task.category):
            function = task.functions[0]
            return [{"name": function["name"], "arguments": example_arguments(function)}]
        raise ConfigError(f"task {task.id!r} ({task.category}) has no possible answer to build gold calls from")
    calls = []
    for entry in task.possible_answer:
        ((name, params),) = entry.items()
        doc = _find_function(task, name) or {}
        schema = doc.get("parameters", {})
        required = set(schema.get("required", []))
        props = schema.get("properties", {})
        arguments = {}
        for param, values in params.items():
            if "" in values and param not in required:
                continue
            prop = props.get(param, {})
            if values and all(_is_blank(v) for v in values):
                arguments[param] = [] if prop.get("type") in ("array", "tuple") else ""
                continue
            arguments[param] = _concrete(_first_value(values), prop)
        calls.append({"name": name, "arguments": arguments})
    return calls


_EXAMPLES: dict[str, Any] = {"string": "example", "any": "example", "integer": 1, "float": 1.0, "number": 1.0,
                             "boolean": True, "array": [], "tuple": [], "dict": {}}


def example_arguments(function: dict[str, Any]) -> dict[str, Any]:
    """Values for a function's required parameters that fit its schema: the first enum value, else
    the default, else an example of the type."""
    schema = function.get("parameters", {})
    props = schema.get("properties", {})
    arguments = {}
    for param in schema.get("required", []):
        prop = props.get(param, {})
        if prop.get("enum"):
            arguments[param] = prop["enum"][0]
        elif "default" in prop:
            arguments[param] = prop["default"]
        else:
            arguments[param] = copy.deepcopy(_EXAMPLES.get(prop.get("type", "string"), "example"))
    return arguments


def _first_value(values: list[Any]) -> Any:
    return next((v for v in values if not _is_blank(v)), "")


def _is_blank(value: Any) -> bool:
    return isinstance(value, str) and value == ""


def _concrete(value: Any, schema: dict[str, Any]) -> Any:
    """Answers write dict values as {key: [possible values]}; pick the first of each (omit optional keys)."""
    kind = _PY_TYPE.get(schema.get("type", ""))
    if kind is dict and isinstance(value, dict):
        return _concrete_dict(value)
    items = schema.get("items") or {}
    if kind is list and _PY_TYPE.get(items.get("type", "")) is dict and isinstance(value, list):
        return [_concrete_dict(v) if isinstance(v, dict) else v for v in value]
    return value


def _concrete_dict(possible: dict[str, Any]) -> dict[str, Any]:
    return {k: _first_value(v) for k, v in possible.items()
            if isinstance(v, list) and "" not in v}


# --- checking -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """Whether the calls are a correct answer; if not, `reason` explains the first mismatch."""

    valid: bool
    reason: str = ""
    error_type: str = ""
    """Short machine-readable kind, after upstream's: wrong_count, wrong_func_name, missing_required,
    unexpected_param, type_error, value_error, missing_optional, no_match, irrelevance, format."""


class _Mismatch(Exception):
    def __init__(self, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.error_type, self.reason = error_type, reason


def check(task: BfclTask, calls: list[dict[str, Any]]) -> CheckResult:
    """Score a model's calls `[{"name": ..., "arguments": {...}}]` by BFCL's AST-matching rules.

    Names may be the BFCL ones or those of `openai_tools` ("." -> "_"); `arguments` may also be the
    JSON text of an object, as OpenAI returns it. Wrong calls give `valid=False` with a reason; only a
    task that cannot be scored (no answer, a parameter type the checker does not know) raises `ConfigError`.
    """
    try:
        parsed = _parse_calls(task, calls)
        if _is_irrelevance(task.category):
            if parsed:
                names = ", ".join(name for name, _ in parsed)
                raise _Mismatch("irrelevance", f"expected no function call (none of the functions fits the "
                                               f"request), got {len(parsed)}: {names}")
            return CheckResult(True)
        if task.possible_answer is None:
            if _is_relevance_style(task.category):  # relevance: any call will do
                if not parsed:
                    raise _Mismatch("relevance", "expected at least one function call, got none")
                return CheckResult(True)
            raise ConfigError(f"task {task.id!r} ({task.category}) has no possible answer to check against")
        expected = task.possible_answer
        if len(parsed) != len(expected):
            raise _Mismatch("wrong_count", f"expected {_n_calls(len(expected))}, got {len(parsed)}")
        if "parallel" in task.category:
            _match_any_order(task, parsed, expected)
        else:
            _match_call(task, parsed[0], expected[0])
    except _Mismatch as m:
        return CheckResult(False, m.reason, m.error_type)
    return CheckResult(True)


def _n_calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def _parse_calls(task: BfclTask, calls: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(calls, list):
        raise _Mismatch("format", f"calls must be a list of {{'name', 'arguments'}}, got {type(calls).__name__}")
    by_openai_name = tool_name_map(task)
    names = {f["name"] for f in task.functions}
    parsed = []
    for i, call in enumerate(calls, 1):
        if not isinstance(call, dict) or not isinstance(call.get("name"), str):
            raise _Mismatch("format", f"call {i} is not {{'name': str, 'arguments': {{...}}}}: {_show(call)}")
        arguments = call.get("arguments", {})
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                raise _Mismatch("format", f"call {i} ({call['name']}): arguments are not JSON: {_show(arguments)}") from None
        if not isinstance(arguments, dict):
            raise _Mismatch("format", f"call {i} ({call['name']}): arguments must be an object, got {_show(arguments)}")
        name = call["name"]
        if name not in names:
            name = by_openai_name.get(name, name)
        parsed.append((name, arguments))
    return parsed


def _find_function(task: BfclTask, name: str) -> dict[str, Any] | None:
    return next((f for f in task.functions if f["name"] == name), None)


def _match_any_order(task: BfclTask, parsed: list[tuple[str, dict[str, Any]]], expected: list[dict[str, Any]]) -> None:
    used: set[int] = set()
    for i, entry in enumerate(expected):
        failures = []
        for j, call in enumerate(parsed):
            if j in used:
                continue
            try:
                _match_call(task, call, entry)
            except _Mismatch as m:
                failures.append(f"call {j + 1} ({call[0]}): {m.reason}")
                continue
            used.add(j)
            break
        else:
            (name,) = entry
            shown = "; ".join(failures[:3]) + (f"; … {len(failures) - 3} more" if len(failures) > 3 else "")
            raise _Mismatch("no_match", f"no call matches expected call {i + 1} of {len(expected)} ({name}): {shown}")


def _match_call(task: BfclTask, call: tuple[str, dict[str, Any]], entry: dict[str, Any]) -> None:
    ((name, answer),) = entry.items()
    got_name, arguments = call
    if got_name != name:
        raise _Mismatch("wrong_func_name", f"wrong function: called {got_name!r}, expected {name!r}")
    doc = _find_function(task, name) or {}
    schema = doc.get("parameters", {})
    props: dict[str, Any] = schema.get("properties", {})
    for param in schema.get("required", []):
        if param not in arguments:
            raise _Mismatch("missing_required", f"missing required parameter {param!r}")
    for param, value in arguments.items():
        if param not in props:
            raise _Mismatch("unexpected_param", f"unexpected parameter {param!r} (not in the function's schema)")
        if param not in answer:
            raise _Mismatch("unexpected_param", f"unexpected parameter {param!r} (the answer does not use it)")
        _check_value(param, value, props[param], answer[param])
    for param, values in answer.items():
        if param not in arguments and "" not in values:
            raise _Mismatch("missing_optional", f"parameter {param!r} is missing; expected one of {_show(values)}")


def _check_value(param: str, value: Any, prop: dict[str, Any], possible: list[Any]) -> None:
    bfcl_type = prop.get("type")
    expected = _PY_TYPE.get(bfcl_type) if isinstance(bfcl_type, str) else None
    if expected is None:
        raise ConfigError(f"parameter {param!r} has type {bfcl_type!r}, which the BFCL Python checker does not know")
    item_type = None
    if bfcl_type in ("array", "tuple"):
        items = prop.get("items")
        if isinstance(items, dict) and items.get("type") in _PY_TYPE:
            item_type = _PY_TYPE[items["type"]]
    if bfcl_type == "tuple" and isinstance(value, tuple):
        value = list(value)
    if bfcl_type == "float" and type(value) is int:
        value = float(value)

    is_variable = _type_check(param, value, possible, bfcl_type, expected, item_type)
    if not is_variable:
        if expected is dict:
            return _check_dict(param, value, possible)
        if expected is list and item_type is dict:
            return _check_list_of_dicts(param, value, possible)
        if expected is str:
            return _check_string(param, value, possible)
        if expected is list:
            return _check_list(param, value, possible)
    if value not in possible:
        raise _Mismatch("value_error", f"parameter {param!r}: got {_show(value)}, expected one of {_show(possible)}")


def _answer_type(possible: Iterable[Any]) -> type | None:
    """The type of the first possible value that is not "" (None if all are "")."""
    return next((type(v) for v in possible if not _is_blank(v)), None)


def _type_check(param: str, value: Any, possible: list[Any], bfcl_type: str, expected: type,
                item_type: type | None) -> bool:
    """Raise on a type mismatch; return whether the value is to be compared as a "variable" (plainly)."""
    answer_type = _answer_type(possible)
    is_variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if item_type is None:
            return is_variable
        for alternative in possible:
            if not isinstance(alternative, list) or all(_item_type_ok(v, alternative, item_type) for v in value):
                return is_variable
        bad = next((v for v in value if not _item_type_ok(v, _first_list(possible), item_type)), None)
        raise _Mismatch("type_error", f"parameter {param!r}: expected a list of {_type_name(item_type)}, "
                                      f"got an item {_show(bad)} ({_type_name(type(bad))}) in {_show(value)}")
    if answer_type is not None and type(value) is answer_type:
        return True
    raise _Mismatch("type_error", f"parameter {param!r}: expected {bfcl_type}, "
                                  f"got {_type_name(type(value))} {_show(value)}")


def _first_list(possible: list[Any]) -> list[Any]:
    return next((v for v in possible if isinstance(v, list)), [])


def _item_type_ok(item: Any, alternative: list[Any], item_type: type) -> bool:
    if type(item) is item_type:
        return True
    answer_type = _answer_type(alternative)
    return answer_type is not None and type(item) is answer_type


_STRIP = str.maketrans("", "", " ,./-_*^")


def normalize_string(text: str) -> str:
    """Upstream's standardize_string: drop space , . / - _ * ^, lowercase, turn ' into "."""
    return text.translate(_STRIP).lower().replace("'", '"')


def _check_string(param: str, value: str, possible: list[Any]) -> None:
    if normalize_string(value) not in [normalize_string(v) for v in possible if isinstance(v, str)]:
        raise _Mismatch("value_error", f"parameter {param!r}: got {_show(value)}, expected one of {_show(possible)} "
                                       f"(compared ignoring case, spaces and , . / - _ * ^)")


def _normalize_list(values: list[Any]) -> list[Any]:
    return [normalize_string(v) if isinstance(v, str) else v for v in values]


def _check_list(param: str, value: list[Any], possible: list[Any]) -> None:
    got = _normalize_list(value)
    for alternative in possible:
        if _is_blank(alternative):
            alternative = []  # upstream normalises "" to an empty list here
        if isinstance(alternative, list) and got == _normalize_list(alternative):
            return
    raise _Mismatch("value_error", f"parameter {param!r}: got {_show(value)}, expected one of {_show(possible)} "
                                   f"(strings compared ignoring case, spaces and , . / - _ * ^)")


def _dict_mismatch(value: Any, alternative: dict[str, Any]) -> str | None:
    if not isinstance(value, dict):
        return f"expected a dict, got {_show(value)}"
    for key, item in value.items():
        if key not in alternative:
            return f"unexpected key {key!r}"
        allowed = alternative[key] if isinstance(alternative[key], list) else []
        got = normalize_string(item) if isinstance(item, str) else item
        if got not in _normalize_list(allowed):
            return f"key {key!r}: got {_show(item)}, expected one of {_show(allowed)}"
    for key, allowed in alternative.items():
        if key not in value and "" not in allowed:
            return f"missing key {key!r}"
    return None


def _check_dict(param: str, value: dict[str, Any], possible: list[Any]) -> None:
    alternatives = [a for a in possible if isinstance(a, dict)]
    problems = [_dict_mismatch(value, a) for a in alternatives]
    if not alternatives:
        raise _Mismatch("value_error", f"parameter {param!r}: got {_show(value)}, expected it to be left out")
    if None not in problems:
        prefix = "" if len(problems) == 1 else f"matches none of the {len(problems)} possible dicts; the first: "
        raise _Mismatch("value_error", f"parameter {param!r}: {prefix}{problems[0]}")


def _check_list_of_dicts(param: str, value: list[Any], possible: list[Any]) -> None:
    first_problem = None
    for alternative in possible:
        if _is_blank(alternative):
            alternative = []
        if not isinstance(alternative, list):
            continue
        if len(value) != len(alternative):
            problem = f"expected {len(alternative)} dicts in the list, got {len(value)}"
        else:
            problem = next((f"item {i}: {p}" for i, (v, a) in enumerate(zip(value, alternative))
                            if (p := _dict_mismatch(v, a) if isinstance(a, dict) else "unexpected item")), None)
            if problem is None:
                return
        first_problem = first_problem or problem
    raise _Mismatch("value_error", f"parameter {param!r}: {first_problem or 'expected it to be left out'}")


_TYPE_NAMES = {str: "str", int: "int", float: "float", bool: "bool", list: "list", dict: "dict", type(None): "null"}


def _type_name(kind: type) -> str:
    return _TYPE_NAMES.get(kind, kind.__name__)


def _show(value: Any, limit: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
