"""What the tau-bench tools of both domains share: argument types, the registry, binding, common tools.

A tau tool is a plain function `fn(data, **arguments) -> str` over the explicit data dict of one
episode. It returns the observation text the agent reads; a failure is an observation too
("Error: ..."), never an exception, as in upstream tau-bench, whose `Env.step` turns anything a
tool raises into `f"Error: {e}"` (tau_bench/envs/base.py, checked at commit 59a200c).

`TauTool` makes agentzoo `FunctionTool`s of them, bound to one episode's data, whose
model-visible name, description and parameter schema are exactly those of the domain's
`tool_schemas.json`; the arguments are validated by a pydantic model built from the function's
type hints, written to accept what that schema accepts (strict JSON types, enums, required fields).
"""

from __future__ import annotations

import ast
import copy
import functools
import json
import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, PlainValidator, Strict

from ...tools import FunctionTool

Data = dict[str, Any]
"""One episode's database: for retail {"orders", "products", "users"}, for airline
{"flights", "reservations", "users"}, as loaded from the JSON files."""

ToolFunction = Callable[..., str]

# --- argument types (JSON Schema types, strictly) ---------------------------------------------


def _number(value: Any) -> int | float:
    # JSON Schema "number": an int or a float, never a bool or a numeric string. The type is kept
    # as given (250 stays an int): it shows in observations and in the data hash.
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    raise ValueError("Input should be a number")


Str = Annotated[str, Strict()]
Int = Annotated[int, Strict()]
Number = Annotated[int | float, PlainValidator(_number)]


def json_object(**fields: Any) -> Any:
    """The type of a JSON object argument with these required fields (`str` or `Number`).

    The object arrives as the caller sent it (same key order, other keys kept), as upstream
    stores it, only checked.
    """

    def check(value: dict[str, Any]) -> dict[str, Any]:
        for key, kind in fields.items():
            if key not in value:
                raise ValueError(f"missing field {key!r}")
            if kind is str and not isinstance(value[key], str):
                raise ValueError(f"field {key!r} should be a string")
            if kind is Number and (isinstance(value[key], bool) or not isinstance(value[key], (int, float))):
                raise ValueError(f"field {key!r} should be a number")
        return value

    return Annotated[dict[str, Any], AfterValidator(check)]


# --- observations -----------------------------------------------------------------------------


def dumps(value: Any) -> str:
    """An observation of a JSON value, spelled as upstream spells it (`json.dumps` defaults)."""
    return json.dumps(value)


def observation(fn: ToolFunction) -> ToolFunction:
    """Make `fn` return `"Error: <exception>"` rather than raise, as upstream's `Env.step` does."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> str:
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure is an observation
            return f"Error: {exc}"

    return run


class Registry:
    """The tools of one domain, by name, each marked read or write.

        TOOLS = Registry()

        @TOOLS.write
        def cancel_pending_order(data: Data, order_id: Str, reason: Reason) -> str: ...
    """

    def __init__(self) -> None:
        self.functions: dict[str, ToolFunction] = {}
        self.writes: set[str] = set()

    def read(self, fn: ToolFunction) -> ToolFunction:
        """Register a tool that does not change the data."""
        return self._add(fn, write=False)

    def write(self, fn: ToolFunction) -> ToolFunction:
        """Register a tool that may change the data."""
        return self._add(fn, write=True)

    def include(self, *fns: ToolFunction) -> None:
        """Register shared read-only tools (think, calculate, transfer_to_human_agents)."""
        for fn in fns:
            self.functions[fn.__name__] = fn

    def _add(self, fn: ToolFunction, *, write: bool) -> ToolFunction:
        wrapped = observation(fn)
        self.functions[fn.__name__] = wrapped
        if write:
            self.writes.add(fn.__name__)
        return wrapped


# --- binding to one episode's data --------------------------------------------------------------


class TauTool(FunctionTool):
    """A tau tool bound to one episode's data; its spec is the one in tool_schemas.json.

    Building the argument validator is the costly part, so it is done once per tool
    (`TauTool(fn, schema, write=...)`, not bound) and `bind(data)` makes cheap bound copies.
    """

    def __init__(self, fn: ToolFunction, schema: Mapping[str, Any], *, write: bool) -> None:
        function = schema["function"]
        unbound = functools.partial(fn, None)  # the signature without `data`
        # FunctionTool names what it wraps in messages; without these it would use repr(partial).
        unbound.__name__ = unbound.__qualname__ = function["name"]  # type: ignore[attr-defined]
        super().__init__(unbound, name=function["name"], description=function.get("description", ""),
                         touches={"write"} if write else {"read"})
        self.function = fn
        """The plain tool function, `fn(data, **arguments) -> str`."""
        self.data: Data | None = None
        """The data the tool works on (None until bound)."""
        self.parameters = function["parameters"]
        self._schema = dict(schema)

    def bind(self, data: Data, *, max_result_chars: int | None = None) -> TauTool:
        """A copy of this tool working on `data`."""
        if max_result_chars is not None and (isinstance(max_result_chars, bool)
                                             or not isinstance(max_result_chars, int) or max_result_chars < 1):
            raise ValueError(f"max_result_chars must be a positive int, got {max_result_chars!r}")
        bound = copy.copy(self)
        bound.data = data
        bound.fn = bound.__wrapped__ = functools.partial(self.function, data)
        bound.max_result_chars = max_result_chars
        return bound

    def spec(self) -> dict[str, Any]:
        """The OpenAI tools entry: the domain's tool_schemas.json entry (shared: do not mutate)."""
        return self._schema


def make_tools(registry: Registry, schemas: Iterable[Mapping[str, Any]]) -> list[TauTool]:
    """One unbound `TauTool` per schema (in the schemas' order); `bind` them to an episode's data."""
    tools = []
    for schema in schemas:
        name = schema["function"]["name"]
        fn = registry.functions.get(name)
        if fn is None:
            raise KeyError(f"tool_schemas.json names a tool {name!r} that has no implementation")
        tools.append(TauTool(fn, schema, write=name in registry.writes))
    return tools


# --- tools both domains have ----------------------------------------------------------------------

_CALC_CHARS = frozenset("0123456789+-*/(). ")
_BINARY = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
           ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow}
_UNARY = {ast.UAdd: operator.pos, ast.USub: operator.neg}
_MAX_INT_EXPONENT = 10_000


def calculate(data: Data, expression: Str) -> str:
    """Calculate the result of a mathematical expression.

    Upstream evaluates the expression with Python's `eval` once it has checked that it holds only
    digits, `+-*/().` and spaces, and answers `str(round(float(result), 2))`, or "Error: <exception>".
    This evaluates the same syntax tree with the same operators (so results and messages agree)
    without `eval`, and refuses integer powers with huge exponents, which would hang upstream.
    """
    if not all(char in _CALC_CHARS for char in expression):
        return "Error: invalid characters in expression"
    try:
        tree = ast.parse(expression, "<string>", mode="eval")
        return str(round(float(_evaluate(tree.body)), 2))
    except Exception as exc:  # noqa: BLE001 - as upstream: the error is the observation
        return f"Error: {exc}"


def _evaluate(node: ast.AST) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if (isinstance(node.op, ast.Pow) and type(left) is int and type(right) is int
                and abs(right) > _MAX_INT_EXPONENT and abs(left) > 1):
            raise ValueError("exponent too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_evaluate(node.operand))
    if isinstance(node, ast.Tuple):  # "()": float() then refuses it, as upstream
        return tuple(_evaluate(e) for e in node.elts)
    if isinstance(node, ast.Call):  # "(1)(2)": Python evaluates, then fails to call
        func = _evaluate(node.func)
        for arg in node.args:
            _evaluate(arg.value if isinstance(arg, ast.Starred) else arg)
        raise TypeError(f"{type(func).__name__!r} object is not callable")
    raise ValueError("unsupported expression")


def think(data: Data, thought: Str) -> str:
    """Record a thought: changes nothing and answers the empty string (as upstream)."""
    return ""


def transfer_to_human_agents(data: Data, summary: Str) -> str:
    """Hand the conversation to a human agent (ends the episode: env_meta.json's terminate_tools)."""
    return "Transfer successful"


SHARED = (observation(calculate), observation(think), observation(transfer_to_human_agents))
