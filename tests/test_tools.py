"""Tools: schemas from typed functions, validation, the ToolSet's outcomes, approval."""

import asyncio
import functools
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Optional

import pytest
from pydantic import BaseModel, Field

from agentzoo.errors import BudgetExceeded, ConfigError, ToolArgumentsError, ToolDefinitionError, UnknownToolError
from agentzoo.protocols import Tool
from agentzoo.tools import ApprovalPolicy, FunctionTool, ToolOutcome, ToolSet, tool
from agentzoo.tools.function_tool import parse_docstring
from agentzoo.types import ToolCall


class Address(BaseModel):
    """A postal address."""

    street: str
    city: str
    zip: Optional[str] = None


class Order(BaseModel):
    item: str
    quantity: int = 1
    ship_to: Address


@tool
def get_weather(city: str, days: int = 1, unit: Literal["c", "f"] = "c", hours: Optional[list[int]] = None) -> dict:
    """Get the weather forecast
    for a city.

    Longer explanation that is not part of the description.

    Args:
        city: The city name, e.g. "Paris".
        days (int): How many days
            to forecast.
        unit: Temperature unit.

    Returns:
        The forecast.
    """
    return {"city": city, "days": days, "unit": unit, "hours": hours}


@tool(touches={"write", "money"})
def place_order(order: Order, note: str = "") -> str:
    """Place an order.

    :param order: What to order and where to send it.
    :param str note: A note
        for the courier.
    :returns: the order id
    """
    return f"ordered {order.quantity} x {order.item} to {order.ship_to.city}"


def call(name: str, arguments: str, id: str = "call_1") -> ToolCall:
    return ToolCall(id=id, name=name, arguments=arguments)


def error(content: str, error_type: str) -> ToolOutcome:
    return ToolOutcome(content, is_error=True, error_type=error_type)


# --- schemas ---------------------------------------------------------------------------------


def test_schema_from_hints_defaults_and_google_docstring() -> None:
    assert get_weather.spec() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Get the weather forecast for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": 'The city name, e.g. "Paris".'},
                    "days": {"type": "integer", "default": 1, "description": "How many days to forecast."},
                    "unit": {"enum": ["c", "f"], "type": "string", "default": "c",
                             "description": "Temperature unit."},
                    "hours": {"anyOf": [{"type": "array", "items": {"type": "integer"}}, {"type": "null"}],
                              "default": None},
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
    assert get_weather.name == "get_weather"
    assert get_weather.touches == frozenset({"read"})
    assert get_weather.parameters is get_weather.spec()["function"]["parameters"]


def test_schema_of_nested_models_and_sphinx_docstring() -> None:
    assert place_order.description == "Place an order."
    assert place_order.touches == frozenset({"write", "money"})
    assert place_order.parameters == {
        "type": "object",
        "$defs": {
            "Address": {
                "title": "Address", "description": "A postal address.", "type": "object",
                "properties": {
                    "street": {"title": "Street", "type": "string"},
                    "city": {"title": "City", "type": "string"},
                    "zip": {"title": "Zip", "anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                },
                "required": ["street", "city"],
            },
            "Order": {
                "title": "Order", "type": "object",
                "properties": {
                    "item": {"title": "Item", "type": "string"},
                    "quantity": {"title": "Quantity", "type": "integer", "default": 1},
                    "ship_to": {"$ref": "#/$defs/Address"},
                },
                "required": ["item", "ship_to"],
            },
        },
        "properties": {
            "order": {"$ref": "#/$defs/Order", "description": "What to order and where to send it."},
            "note": {"type": "string", "default": "", "description": "A note for the courier."},
        },
        "required": ["order"],
        "additionalProperties": False,
    }


def test_numpy_docstring() -> None:
    def scale(x: float, y: float, factor: float = 2.0) -> float:
        """Scale a point.

        Parameters
        ----------
        x, y : float
            The point.
        factor : float
            How much
            to scale.

        Returns
        -------
        float
        """
        return x * factor

    t = tool(scale)
    assert t.description == "Scale a point."
    assert {k: v.get("description") for k, v in t.parameters["properties"].items()} == {
        "x": "The point.", "y": "The point.", "factor": "How much to scale."}


def test_docstring_parser_edge_cases() -> None:
    assert parse_docstring("") == ("", {})
    assert parse_docstring("One line.") == ("One line.", {})
    # A summary ends at a section header even without a blank line before it.
    assert parse_docstring("Do it.\nArgs:\n    a: the a\n    b (int, optional): the b\nNote:\n    a: no") == (
        "Do it.", {"a": "the a", "b": "the b"})
    # A colon inside a description line is not a section header.
    assert parse_docstring("Search for the following:\n  things.") == ("Search for the following: things.", {})


def test_description_in_annotation_or_field_wins_over_docstring_and_overrides() -> None:
    @tool(name="lookup-v2", description="Look something up.")
    def lookup(key: Annotated[str, Field(description="from the hint", max_length=5)],
               limit: int = Field(10, ge=1, description="from Field"), *, exact: bool = False) -> str:
        """Ignored summary.

        Args:
            key: from the docstring
            limit: from the docstring
            exact: match exactly
        """
        return key

    assert lookup.name == "lookup-v2"
    assert lookup.description == "Look something up."
    assert lookup.parameters["properties"] == {
        "key": {"type": "string", "maxLength": 5, "description": "from the hint"},
        "limit": {"type": "integer", "minimum": 1, "default": 10, "description": "from Field"},
        "exact": {"type": "boolean", "default": False, "description": "match exactly"},
    }


def test_function_without_docstring_or_parameters() -> None:
    @tool
    def ping() -> str:
        return "pong"

    assert ping.spec()["function"] == {"name": "ping", "description": "",
                                       "parameters": {"type": "object", "properties": {},
                                                      "additionalProperties": False}}
    assert ping() == "pong"  # still a plain function to ordinary code


def test_awkward_parameter_names_are_kept() -> None:
    @tool
    def f(_private: int, json: str, model_config: int = 0) -> str:
        return f"{_private}{json}{model_config}"

    assert list(f.parameters["properties"]) == ["_private", "json", "model_config"]
    assert f.validate({"_private": "1", "json": "x"}) == {"_private": 1, "json": "x", "model_config": 0}


def test_function_tool_is_a_tool() -> None:
    assert isinstance(get_weather, Tool)
    assert isinstance(get_weather, FunctionTool)


# --- definition errors -----------------------------------------------------------------------


def _no_hint(a, b: int) -> int:  # type: ignore[no-untyped-def]
    return b


def _star_args(*parts: str) -> str:
    return "".join(parts)


def _star_kwargs(a: int, **rest: int) -> int:
    return a


async def _async_fn(a: int) -> int:
    return a


class _Opaque:
    pass


def _opaque(thing: _Opaque) -> str:
    return ""


def _unresolved(thing: "NoSuchType") -> str:  # type: ignore[name-defined]  # noqa: F821
    return ""


_anonymous = lambda x: x  # noqa: E731


class _Service:
    def method(self, a: int) -> int:
        return a


@pytest.mark.parametrize(("make", "message"), [
    (lambda: tool(_no_hint), "cannot make a tool of _no_hint: parameter 'a' has no type hint"),
    (lambda: tool(_star_args), "cannot make a tool of _star_args: *parts is not allowed; "
                               "a tool takes named, typed parameters"),
    (lambda: tool(_star_kwargs), "cannot make a tool of _star_kwargs: **rest is not allowed; "
                                 "a tool takes named, typed parameters"),
    (lambda: tool(_anonymous), "cannot make a tool of <lambda>: name '<lambda>' is not a valid "
                                "tool name (1-64 letters, digits, '_' or '-'); pass name=..."),
    (lambda: tool(_async_fn, name="has space"), "cannot make a tool of _async_fn: name 'has space' is not a "
                                                "valid tool name (1-64 letters, digits, '_' or '-'); pass name=..."),
    (lambda: tool(_async_fn, name="x" * 65), None),
    (lambda: tool(_async_fn, touches={"read", "delete"}), "cannot make a tool of _async_fn: unknown touches "
                                                          "['delete']; use a subset of "
                                                          "['money', 'network', 'read', 'write']"),
    (lambda: tool(_async_fn, touches="wirte"), None),
    (lambda: tool(_async_fn, blocking=True), "cannot make a tool of _async_fn: blocking=True is for sync "
                                             "functions; an async function must not block the event loop itself"),
    (lambda: tool(_async_fn, max_result_chars=0), "cannot make a tool of _async_fn: max_result_chars must be a "
                                                  "positive int, got 0"),
    (lambda: tool(_Service.method), "cannot make a tool of _Service.method: parameter 'self' has no type hint "
                                    "(make a tool of the bound method instead)"),
    (lambda: tool(_opaque), None),
    (lambda: tool(_unresolved), None),
])
def test_definition_errors(make: Any, message: str | None) -> None:
    with pytest.raises(ToolDefinitionError) as info:
        make()
    if message is not None:
        assert str(info.value) == message


def test_definition_errors_name_the_function_and_the_problem() -> None:
    with pytest.raises(ToolDefinitionError, match=r"^cannot make a tool of _opaque: .*_Opaque"):
        tool(_opaque)
    with pytest.raises(ToolDefinitionError, match=r"^cannot make a tool of _unresolved: its type hints do not "
                                                  r"resolve \(name 'NoSuchType' is not defined\)"):
        tool(_unresolved)


def test_touches_may_be_declared_and_a_bound_method_works() -> None:
    assert tool(_async_fn, touches=set()).touches == frozenset()
    assert tool(_async_fn, touches="network").touches == frozenset({"network"})
    assert tool(_Service().method).parameters["properties"] == {"a": {"type": "integer"}}


# --- validation ------------------------------------------------------------------------------


def test_validate_coerces_and_fills_defaults() -> None:
    assert get_weather.validate({"city": "Oslo", "days": "3", "hours": [1, "2"]}) == {
        "city": "Oslo", "days": 3, "unit": "c", "hours": [1, 2]}
    args = place_order.validate({"order": {"item": "tea", "ship_to": {"street": "1 Main", "city": "Rome"}}})
    assert args == {"order": Order(item="tea", ship_to=Address(street="1 Main", city="Rome")), "note": ""}


def test_validate_reports_every_bad_field() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        get_weather.validate({"days": "three", "unit": "kelvin", "hours": [1, "x"], "country": "NO"})
    assert str(info.value) == (
        "invalid arguments for get_weather:\n"
        "- city: Field required\n"
        '- days: Input should be a valid integer, unable to parse string as an integer (got "three")\n'
        "- unit: Input should be 'c' or 'f' (got \"kelvin\")\n"
        '- hours[1]: Input should be a valid integer, unable to parse string as an integer (got "x")\n'
        "- country: Extra inputs are not permitted"
    )


def test_validate_nested_paths_and_long_inputs_are_cut() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        place_order.validate({"order": {"item": "x" * 1000, "quantity": 1.5, "ship_to": {"street": 5}}})
    assert str(info.value) == (
        "invalid arguments for place_order:\n"
        "- order.quantity: Input should be a valid integer, got a number with a fractional part (got 1.5)\n"
        "- order.ship_to.street: Input should be a valid string (got 5)\n"
        "- order.ship_to.city: Field required"
    )


def test_validation_error_lists_at_most_eight_problems() -> None:
    @tool
    def many(xs: list[int]) -> int:
        return sum(xs)

    with pytest.raises(ToolArgumentsError) as info:
        many.validate({"xs": ["a"] * 12})
    lines = str(info.value).splitlines()
    assert len(lines) == 10
    assert lines[-1] == "- … and 4 more"


async def test_invoke_validates() -> None:
    assert await get_weather.invoke({"city": "Oslo", "days": "2"}) == {
        "city": "Oslo", "days": 2, "unit": "c", "hours": None}
    with pytest.raises(ToolArgumentsError):
        await get_weather.invoke({"city": 3})


# --- ToolSet: outcomes the model sees --------------------------------------------------------


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
async def fetch_page(url: str) -> str:
    """Fetch a page."""
    await asyncio.sleep(0)
    return f"<html>{url}</html>"


@tool
def divide(a: float, b: float) -> float:
    """Divide a by b."""
    return a / b


@tool
def fail_loudly(reason: str) -> str:
    raise RuntimeError(reason)


@tool
def fail_quietly() -> str:
    raise KeyError


TOOLS = ToolSet([get_weather, place_order, add, fetch_page, divide, fail_loudly, fail_quietly])


def test_toolset_lookup_and_specs() -> None:
    assert TOOLS.names == ("get_weather", "place_order", "add", "fetch_page", "divide", "fail_loudly",
                           "fail_quietly")
    assert TOOLS.get("add") is add
    assert "add" in TOOLS and "sub" not in TOOLS
    assert len(TOOLS) == 7 and list(TOOLS)[0] is get_weather
    assert TOOLS.specs()[2] == {"type": "function", "function": {
        "name": "add", "description": "Add two integers.",
        "parameters": {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                       "required": ["a", "b"], "additionalProperties": False}}}
    with pytest.raises(UnknownToolError, match="there is no tool 'sub'"):
        TOOLS.get("sub")


async def test_results_strings_as_they_are_others_as_json() -> None:
    assert await TOOLS.execute(call("add", '{"a": 2, "b": "3"}')) == ToolOutcome("5")
    assert await TOOLS.execute(call("fetch_page", '{"url": "x.org"}')) == ToolOutcome("<html>x.org</html>")
    assert await TOOLS.execute(call("get_weather", '{"city": "Zürich"}')) == ToolOutcome(
        '{"city":"Zürich","days":1,"unit":"c","hours":null}')
    assert await TOOLS.execute(call("place_order", '{"order": {"item": "tea", "quantity": 2, '
                                                   '"ship_to": {"street": "1 Main", "city": "Rome"}}}')) == \
        ToolOutcome("ordered 2 x tea to Rome")


async def test_results_that_are_not_plain_json() -> None:
    @dataclass
    class Point:
        x: int
        y: int

    class Thing:
        def __str__(self) -> str:
            return "a thing"

    @tool
    def shapes(kind: str) -> Any:
        return {"model": Address(street="s", city="c"), "point": Point(1, 2), "tags": ("a",),
                "nan": float("nan"), "thing": Thing()}[kind]

    @tool
    def nothing() -> None:
        return None

    tools = ToolSet([shapes, nothing])
    assert (await tools.execute(call("shapes", '{"kind": "model"}'))).content == \
        '{"street":"s","city":"c","zip":null}'
    assert (await tools.execute(call("shapes", '{"kind": "point"}'))).content == '{"x":1,"y":2}'
    assert (await tools.execute(call("shapes", '{"kind": "tags"}'))).content == '["a"]'
    assert (await tools.execute(call("shapes", '{"kind": "nan"}'))).content == "null"
    assert (await tools.execute(call("shapes", '{"kind": "thing"}'))).content == '"a thing"'
    assert await tools.execute(call("nothing", "")) == ToolOutcome("null")


async def test_unknown_tool_lists_the_real_ones_and_a_close_match() -> None:
    assert await TOOLS.execute(call("get_wether", "{}")) == error(
        "there is no tool 'get_wether'. Did you mean 'get_weather'? Available tools: get_weather, place_order, "
        "add, fetch_page, divide, fail_loudly, fail_quietly", "UnknownToolError")
    assert await TOOLS.execute(call("launch_rockets", "{}")) == error(
        "there is no tool 'launch_rockets'. Available tools: get_weather, place_order, add, fetch_page, divide, "
        "fail_loudly, fail_quietly", "UnknownToolError")
    assert await ToolSet().execute(call("x" * 100, "{}")) == error(
        f"there is no tool '{'x' * 80}'…: no tools are available", "UnknownToolError")


async def test_huge_arguments_are_refused_without_being_echoed() -> None:
    huge = '{"a": "' + "x" * 10_000_000 + '", "b": 1}'
    outcome = await TOOLS.execute(call("add", huge))
    assert outcome == error("the arguments are 10,000,017 characters long, over the limit of 100,000; "
                            "send shorter arguments", "ToolArgumentsError")
    assert len(outcome.content) < 200


@pytest.mark.parametrize(("arguments", "content"), [
    ('{"a": 1, "b": ', "the arguments are not valid JSON: unexpected end of data at line 1 column 15 (char 14)"),
    ('{"a": NaN, "b": 1}', "the arguments are not valid JSON: unexpected character, expected a JSON value at "
                           "line 1 column 7 (char 6) (NaN and Infinity are not JSON)"),
    ('{"a": -Infinity, "b": 1}', "the arguments are not valid JSON: no digit after sign at line 1 column 8 (char 7) "
                                 "(NaN and Infinity are not JSON)"),
    ("{'a': 1}", "the arguments are not valid JSON: unexpected character, expected a string key at line 1 "
                 "column 2 (char 1)"),
    ('{"a": 1}\n{"b": 2}', "the arguments are not valid JSON: unexpected content after document at line 2 "
                           "column 1 (char 9)"),
    ("[1, 2]", "the arguments must be a JSON object, got array"),
    ('"{\\"a\\": 1}"', "the arguments must be a JSON object, got string"),
    ("null", "the arguments must be a JSON object, got null"),
    ('{"a": "two", "b": null}', 'invalid arguments for add:\n'
                                '- a: Input should be a valid integer, unable to parse string as an integer '
                                '(got "two")\n'
                                "- b: Input should be a valid integer (got null)"),
    ('{"a": 1}', "invalid arguments for add:\n- b: Field required"),
    ('{"a": 1, "b": 2, "c": 3}', "invalid arguments for add:\n- c: Extra inputs are not permitted"),
])
async def test_bad_arguments_become_short_errors(arguments: str, content: str) -> None:
    assert await TOOLS.execute(call("add", arguments)) == error(content, "ToolArgumentsError")


async def test_empty_arguments_mean_an_empty_object() -> None:
    assert await TOOLS.execute(call("fail_quietly", "")) == error("KeyError", "KeyError")
    assert await TOOLS.execute(call("fail_quietly", "  \n")) == error("KeyError", "KeyError")
    assert await TOOLS.execute(call("add", "")) == error(
        "invalid arguments for add:\n- a: Field required\n- b: Field required", "ToolArgumentsError")


async def test_exceptions_become_type_and_message_without_traceback() -> None:
    assert await TOOLS.execute(call("fail_loudly", '{"reason": "disk full"}')) == error(
        "RuntimeError: disk full", "RuntimeError")
    assert await TOOLS.execute(call("divide", '{"a": 1, "b": 0}')) == error(
        "ZeroDivisionError: float division by zero", "ZeroDivisionError")


async def test_run_ending_errors_raised_by_a_tool_propagate() -> None:
    @tool
    def spend() -> str:
        raise BudgetExceeded(budget="cost_usd", limit=1.0, used=1.2, budget_scope="", at_scope="agent")

    with pytest.raises(BudgetExceeded):
        await ToolSet([spend]).execute(call("spend", "{}"))


async def test_cancellation_propagates() -> None:
    @tool
    async def slow() -> str:
        await asyncio.sleep(10)
        return "done"

    task = asyncio.ensure_future(ToolSet([slow]).execute(call("slow", "{}")))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_long_results_are_cut_with_a_marker() -> None:
    @tool
    def dump(n: int) -> str:
        return "a" * (n // 2) + "z" * (n - n // 2)

    @tool(max_result_chars=10)
    def small(n: int) -> str:
        return "a" * (n // 2) + "z" * (n - n // 2)

    @tool(max_result_chars=1_000)
    def wants_more(n: int) -> str:
        return "x" * n

    tools = ToolSet([dump, small, wants_more], max_result_chars=20)
    assert await tools.execute(call("dump", '{"n": 20}')) == ToolOutcome("a" * 10 + "z" * 10)
    assert await tools.execute(call("dump", '{"n": 1000}')) == ToolOutcome(
        "a" * 10 + "\n[… 980 characters cut …]\n" + "z" * 10)
    assert await tools.execute(call("small", '{"n": 100}')) == ToolOutcome(
        "aaaaa\n[… 90 characters cut …]\nzzzzz")
    # The smaller of the tool's and the set's caps applies.
    assert (await tools.execute(call("wants_more", '{"n": 100}'))).content == \
        "x" * 10 + "\n[… 80 characters cut …]\n" + "x" * 10


async def test_long_exception_messages_are_cut_too() -> None:
    outcome = await ToolSet([fail_loudly], max_result_chars=30).execute(
        call("fail_loudly", '{"reason": "' + "e" * 5000 + '"}'))
    assert outcome == error("RuntimeError: e\n[… 4,984 characters cut …]\n" + "e" * 15, "RuntimeError")


async def test_sync_tools_run_inline_unless_blocking() -> None:
    def where() -> int:
        return threading.get_ident()

    inline = tool(where, name="inline")
    threaded = tool(where, name="threaded", blocking=True)
    tools = ToolSet([inline, threaded])
    assert (await tools.execute(call("inline", ""))).content == str(threading.get_ident())
    assert (await tools.execute(call("threaded", ""))).content != str(threading.get_ident())


async def test_positional_only_parameters_and_plain_functions() -> None:
    def power(base: int, exp: int = 2, /) -> int:
        """Raise base to exp."""
        return base ** exp

    tools = ToolSet([power])
    assert isinstance(tools.get("power"), FunctionTool)
    assert await tools.execute(call("power", '{"base": 3}')) == ToolOutcome("9")
    assert await tools.execute(call("power", '{"base": 2, "exp": 10}')) == ToolOutcome("1024")


async def test_callable_objects_and_partials() -> None:
    class Greeter:
        """Greet someone."""

        async def __call__(self, who: str) -> str:
            return f"hello {who}"

    def scaled(x: int, factor: int) -> int:
        return x * factor

    tools = ToolSet([tool(Greeter()), tool(functools.partial(scaled, factor=3), name="triple")])
    assert tools.get("Greeter").description == "Greet someone."
    assert await tools.execute(call("Greeter", '{"who": "you"}')) == ToolOutcome("hello you")
    assert await tools.execute(call("triple", '{"x": 2}')) == ToolOutcome("6")


async def test_prepare_then_run_lets_a_gateway_check_in_between() -> None:
    t, arguments = TOOLS.prepare(call("add", '{"a": "1", "b": 2}'))
    assert t is add and arguments == {"a": 1, "b": 2}
    assert await TOOLS.run(t, arguments) == ToolOutcome("3")
    with pytest.raises(ToolArgumentsError):
        TOOLS.prepare(call("add", "[]"))


async def test_other_tool_implementations_are_accepted() -> None:
    class Echo:
        name = "echo"
        description = "Echo the arguments."
        parameters = {"type": "object", "properties": {"text": {"type": "string"}}}
        touches = frozenset({"read"})

        async def invoke(self, arguments: dict[str, Any]) -> Any:
            return arguments

    tools = ToolSet([Echo()])
    assert tools.specs() == [{"type": "function", "function": {
        "name": "echo", "description": "Echo the arguments.", "parameters": Echo.parameters}}]
    assert await tools.execute(call("echo", '{"text": "hi"}')) == ToolOutcome('{"text":"hi"}')


def test_toolset_definition_errors() -> None:
    with pytest.raises(ToolDefinitionError, match="two tools are named 'add'; tool names must be unique"):
        ToolSet([add, add])
    with pytest.raises(ToolDefinitionError, match="is neither a tool nor a function"):
        ToolSet([42])  # type: ignore[list-item]
    with pytest.raises(ToolDefinitionError, match=r"ToolSet\(max_result_chars=...\) must be a positive int"):
        ToolSet([], max_result_chars=0)


def test_outcome_round_trips_through_json() -> None:
    for outcome in (ToolOutcome("5"), error("RuntimeError: x", "RuntimeError")):
        assert ToolOutcome.from_json(outcome.to_json()) == outcome
    assert error("x", "ValueError").to_json() == {"content": "x", "is_error": True, "error_type": "ValueError"}


# --- approval --------------------------------------------------------------------------------


async def test_read_only_tools_need_no_approval() -> None:
    policy = ApprovalPolicy()
    assert await policy.check(get_weather, {"city": "Oslo"}) == (True, None)
    assert not policy.needs_approval(get_weather)
    assert policy.needs_approval(place_order)


async def test_approval_is_denied_by_default_without_an_approver() -> None:
    assert await ApprovalPolicy().check(place_order, {}) == (
        False, "this call needs approval and no approver is configured")


async def test_sync_and_async_approvers() -> None:
    asked: list[tuple[str, dict[str, Any], frozenset[str]]] = []

    def approve_small(name: str, arguments: dict[str, Any], touches: frozenset[str]) -> bool:
        asked.append((name, arguments, touches))
        return arguments.get("amount", 0) < 100

    async def refuse(name: str, arguments: dict[str, Any], touches: frozenset[str]) -> bool:
        await asyncio.sleep(0)
        return False

    policy = ApprovalPolicy(approver=approve_small)
    assert await policy.check(place_order, {"amount": 5}) == (True, None)
    assert await policy.check(place_order, {"amount": 500}) == (False, "the user denied this call")
    assert asked[0] == ("place_order", {"amount": 5}, frozenset({"write", "money"}))
    assert await ApprovalPolicy(approver=refuse).check(place_order, {}) == (False, "the user denied this call")
    # Only what is listed needs approval.
    assert await ApprovalPolicy({"network"}, approver=refuse).check(place_order, {}) == (True, None)
    assert await ApprovalPolicy({"read"}, approver=refuse).check(get_weather, {}) == (
        False, "the user denied this call")


async def test_an_approver_must_answer_a_bool() -> None:
    policy = ApprovalPolicy(approver=lambda name, arguments, touches: "no")  # type: ignore[arg-type,return-value]
    with pytest.raises(ConfigError, match="the approver returned str, expected bool"):
        await policy.check(place_order, {})


def test_policy_rejects_unknown_touches() -> None:
    with pytest.raises(ConfigError, match=r"unknown touches \['wirte'\]"):
        ApprovalPolicy({"wirte"})  # type: ignore[arg-type]


# --- packaging -------------------------------------------------------------------------------


def test_import_agentzoo_does_not_import_pydantic() -> None:
    code = "import sys, agentzoo; assert 'pydantic' not in sys.modules, 'pydantic imported'"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
