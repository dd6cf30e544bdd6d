"""Plain typed Python functions as tools.

`tool(fn)` reads the signature and docstring once, builds a pydantic model of the arguments
(the JSON Schema the model sees and the validator its arguments go through), and returns a
`FunctionTool`. Everything costly happens at definition time; a call is one pydantic
validation and one function call.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Callable, Iterable
from typing import Any, overload

import pydantic
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo

from .._json import dumps_str
from ..errors import ToolArgumentsError, ToolDefinitionError
from .policy import TOUCHES, Touches, unknown_touches

_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_MAX_ERRORS_SHOWN = 8
_MAX_INPUT_SHOWN = 40
_PLAIN = frozenset({str, int, float, bool, type(None), dict, list, tuple})
"""Results a tool function returns that cannot be awaitable (checked before asking `inspect`, which costs more)."""


class FunctionTool:
    """A typed Python function the model may call (implements the `Tool` protocol).

    Calling the object calls the function unchanged, so a decorated function stays usable
    from ordinary code and tests.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    """JSON Schema of the arguments object."""
    touches: frozenset[str]
    max_result_chars: int | None
    """Cap on the result text this tool's calls return to the model (None: the ToolSet's cap)."""
    blocking: bool
    """A sync function that blocks (I/O, heavy CPU): run it in a worker thread."""

    def __init__(self, fn: Callable[..., Any], *, name: str | None = None, description: str | None = None,
                 touches: Iterable[Touches] | None = None, max_result_chars: int | None = None,
                 blocking: bool = False) -> None:
        label = _label(fn)
        self.fn = fn
        self.__wrapped__ = fn
        self.name = name if name is not None else getattr(fn, "__name__", type(fn).__name__)
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ToolDefinitionError(f"cannot make a tool of {label}: name {self.name!r} is not a valid tool "
                                      "name (1-64 letters, digits, '_' or '-'); pass name=...")
        self.touches = _check_touches(label, touches)
        if max_result_chars is not None and (isinstance(max_result_chars, bool)
                                             or not isinstance(max_result_chars, int) or max_result_chars < 1):
            raise ToolDefinitionError(f"cannot make a tool of {label}: max_result_chars must be a positive int, "
                                      f"got {max_result_chars!r}")
        self.max_result_chars = max_result_chars
        self._is_async = _is_async(fn)
        if blocking and self._is_async:
            raise ToolDefinitionError(f"cannot make a tool of {label}: blocking=True is for sync functions; "
                                      "an async function must not block the event loop itself")
        self.blocking = blocking
        summary, param_docs = parse_docstring(inspect.getdoc(fn) or "")
        self.description = description if description is not None else summary
        model, schema, self._fields, self._positional = _arguments_model(fn, label, self.name, param_docs)
        self._validator = model.__pydantic_validator__
        self.parameters = _clean_schema(schema)
        self._spec = {"type": "function",
                      "function": {"name": self.name, "description": self.description, "parameters": self.parameters}}

    @property
    def local(self) -> bool:
        """Declared pure (`touches=()`): the gateway may commit its calls in batches."""
        return not self.touches

    @property
    def returns(self) -> str | None:
        """The function's return annotation as text (`int`, `list[str]`), or None; shown in code-mode prompts."""
        try:
            annotation = inspect.signature(self.fn, eval_str=True).return_annotation
        except (TypeError, ValueError, NameError, SyntaxError):
            return None
        if annotation is inspect.Signature.empty:
            return None
        return inspect.formatannotation(annotation)

    def spec(self) -> dict[str, Any]:
        """The OpenAI tools entry. Shared, not copied (it is sent every step): do not mutate it."""
        return self._spec

    def validate(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The arguments, validated and coerced, as keyword arguments for the function.

        Defaults are filled in; nested pydantic models arrive as instances. Raises
        `ToolArgumentsError` with one line per bad field.
        """
        try:
            values = self._validator.validate_python(arguments).__dict__
        except ValidationError as exc:
            raise ToolArgumentsError(format_validation_error(self.name, exc)) from None
        return {param: values[field] for param, field in self._fields}

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        """Validate `arguments` and run the function (validating twice is harmless)."""
        return await self.call_validated(self.validate(arguments))

    async def call_validated(self, kwargs: dict[str, Any]) -> Any:
        """Run the function with arguments `validate` returned, skipping validation."""
        fn = self.fn
        if self._positional:
            kwargs = dict(kwargs)
            args = [kwargs.pop(p) for p in self._positional]
        else:
            args = []
        if self._is_async:
            return await fn(*args, **kwargs)
        # Most tools are fast: a thread hop per call would cost more CPU than the call itself.
        result = await asyncio.to_thread(fn, *args, **kwargs) if self.blocking else fn(*args, **kwargs)
        if type(result) not in _PLAIN and inspect.isawaitable(result):  # a sync wrapper around a coroutine function
            result = await result
        return result

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"FunctionTool(name={self.name!r}, touches={sorted(self.touches)})"


@overload
def tool(fn: Callable[..., Any], /, *, name: str | None = None, description: str | None = None,
         touches: Iterable[Touches] | None = None, max_result_chars: int | None = None,
         blocking: bool = False) -> FunctionTool: ...
@overload
def tool(fn: None = None, /, *, name: str | None = None, description: str | None = None,
         touches: Iterable[Touches] | None = None, max_result_chars: int | None = None,
         blocking: bool = False) -> Callable[[Callable[..., Any]], FunctionTool]: ...
def tool(fn: Callable[..., Any] | None = None, /, *, name: str | None = None, description: str | None = None,
         touches: Iterable[Touches] | None = None, max_result_chars: int | None = None,
         blocking: bool = False) -> FunctionTool | Callable[[Callable[..., Any]], FunctionTool]:
    """Make a tool of a typed function: `tool(fn)`, `@tool`, or `@tool(name=..., touches={"write"})`.

    `touches` defaults to {"read"}; `touches=()` declares a pure function (it reads and changes
    nothing outside its arguments), whose calls the journal may commit in batches.
    `blocking=True` runs a sync function in a worker thread.
    """
    def make(f: Callable[..., Any]) -> FunctionTool:
        return FunctionTool(f, name=name, description=description, touches=touches,
                            max_result_chars=max_result_chars, blocking=blocking)

    return make if fn is None else make(fn)


# --- definition-time helpers -----------------------------------------------------------------


def _label(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def _is_async(fn: Callable[..., Any]) -> bool:
    # An object whose `__call__` is async counts too.
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(type(fn).__call__)


def _check_touches(label: str, touches: Iterable[str] | None) -> frozenset[str]:
    if touches is None:
        return frozenset({"read"})
    found = frozenset({touches} if isinstance(touches, str) else touches)
    bad = unknown_touches(found)
    if bad:
        raise ToolDefinitionError(f"cannot make a tool of {label}: unknown touches {bad}; "
                                  f"use a subset of {sorted(TOUCHES)}")
    return found


def _arguments_model(fn: Callable[..., Any], label: str, name: str, docs: dict[str, str],
                     ) -> tuple[type[BaseModel], dict[str, Any], list[tuple[str, str]], tuple[str, ...]]:
    """`fn`'s arguments model, its JSON schema, (parameter, field) pairs, positional-only names."""
    try:
        sig = inspect.signature(fn, eval_str=True)
    except (NameError, AttributeError, SyntaxError, TypeError) as exc:
        raise ToolDefinitionError(f"cannot make a tool of {label}: its type hints do not resolve ({exc}); "
                                  "types used in hints must be importable from the function's module") from None
    except ValueError as exc:
        raise ToolDefinitionError(f"cannot make a tool of {label}: no signature ({exc})") from None
    fields: dict[str, Any] = {}
    pairs: list[tuple[str, str]] = []
    positional: list[str] = []
    for i, param in enumerate(sig.parameters.values()):
        where = f"cannot make a tool of {label}: parameter {param.name!r}"
        if param.kind is param.VAR_POSITIONAL:
            raise ToolDefinitionError(f"cannot make a tool of {label}: *{param.name} is not allowed; "
                                      "a tool takes named, typed parameters")
        if param.kind is param.VAR_KEYWORD:
            raise ToolDefinitionError(f"cannot make a tool of {label}: **{param.name} is not allowed; "
                                      "a tool takes named, typed parameters")
        if param.annotation is param.empty:
            hint = " (make a tool of the bound method instead)" if param.name in ("self", "cls") else ""
            raise ToolDefinitionError(f"{where} has no type hint{hint}")
        if param.kind is param.POSITIONAL_ONLY:
            positional.append(param.name)
        # Fields get private names with the parameter as alias: any parameter name then works,
        # even ones pydantic reserves (leading underscore, `model_*`, `json`).
        field = f"p{i}_"
        pairs.append((param.name, field))
        fields[field] = (param.annotation, _field_info(param, docs.get(param.name)))
    try:
        model = pydantic.create_model(f"{name}_arguments", __config__=ConfigDict(extra="forbid"), **fields)
        schema = model.model_json_schema()  # unsupported types fail here, at definition time
    except (pydantic.PydanticUserError, pydantic.PydanticSchemaGenerationError, TypeError, NameError) as exc:
        raise ToolDefinitionError(f"cannot make a tool of {label}: {exc}".split("\n\nFor further")[0]) from None
    return model, schema, pairs, tuple(positional)


def _field_info(param: inspect.Parameter, doc: str | None) -> FieldInfo:
    default = param.default
    given = default if isinstance(default, FieldInfo) else None  # `x: int = Field(3, ge=0)`
    ours: dict[str, Any] = {"alias": param.name}
    if given is None and default is not param.empty:
        ours["default"] = default
    # A description written in the hint (`Annotated[int, Field(description=...)]`) or in a
    # `Field` default wins over the docstring: it is the more deliberate of the two.
    if doc and not (given is not None and given.description) and not _annotated_description(param.annotation):
        ours["description"] = doc
    info = pydantic.Field(**ours)
    return info if given is None else FieldInfo.merge_field_infos(given, info)


def _annotated_description(annotation: Any) -> bool:
    return any(isinstance(m, FieldInfo) and m.description for m in getattr(annotation, "__metadata__", ()))


def _clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop the generated titles of the object and its properties: tokens the model does not need."""
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)
    return schema


# --- validation errors, as the model sees them ----------------------------------------------


def format_validation_error(tool_name: str, exc: ValidationError) -> str:
    """One line per bad field: `- path: problem (got value)`, at most a few lines."""
    errors = exc.errors(include_url=False, include_context=False)
    lines = [f"invalid arguments for {tool_name}:"]
    for err in errors[:_MAX_ERRORS_SHOWN]:
        line = f"- {_path(err['loc']) or '(arguments)'}: {err['msg']}"
        if err["type"] not in ("missing", "extra_forbidden"):
            line += f" (got {_short(err.get('input'))})"
        lines.append(line)
    if len(errors) > _MAX_ERRORS_SHOWN:
        lines.append(f"- … and {len(errors) - _MAX_ERRORS_SHOWN} more")
    return "\n".join(lines)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value: Any) -> str:
    try:
        text = dumps_str(value)
    except Exception:  # an instance or other non-JSON input: its repr will do
        text = repr(value)
    return text if len(text) <= _MAX_INPUT_SHOWN else text[:_MAX_INPUT_SHOWN] + "…"


# --- docstrings ------------------------------------------------------------------------------

_PARAM_SECTIONS = {"args", "arguments", "parameters", "params", "keyword args", "keyword arguments",
                   "other parameters"}
_OTHER_SECTIONS = {"returns", "return", "yields", "yield", "raises", "examples", "example", "note", "notes",
                   "attributes", "see also", "warning", "warnings", "todo", "references"}
_GOOGLE_ENTRY = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_ENTRY = re.compile(r"^(\w+(?:\s*,\s*\w+)*)\s*(?::.*)?$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+)\s*:\s*(.*)$")
_RULE = re.compile(r"^\s*-{3,}\s*$")


def parse_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """`(summary, {parameter: description})` from a Google, numpy or Sphinx style docstring.

    The summary is the first paragraph, its lines joined by spaces.
    """
    lines = inspect.cleandoc(doc).splitlines() if doc else []
    summary: list[str] = []
    for i, line in enumerate(lines):
        if not line.strip() or _section_start(lines, i):
            break
        summary.append(line.strip())
    params: dict[str, str] = {}
    mode, base, entry_indent = None, 0, 0
    current: list[str] = []  # the parameters whose description the next indented line continues
    i = 0
    while i < len(lines):
        line, stripped = lines[i], lines[i].strip()
        indent = len(line) - len(line.lstrip())
        if not stripped:
            i += 1
            continue
        if i + 1 < len(lines) and _RULE.match(lines[i + 1]):  # numpy section header
            mode, base, current = ("numpy" if stripped.lower() in _PARAM_SECTIONS else None), indent, []
            i += 2
            continue
        header = stripped[:-1].lower() if stripped.endswith(":") else None
        if header in _PARAM_SECTIONS or header in _OTHER_SECTIONS:
            mode, base, current = ("google" if header in _PARAM_SECTIONS else None), indent, []
            i += 1
            continue
        sphinx = _SPHINX_PARAM.match(stripped)
        if sphinx:
            mode, base, current = "sphinx", indent, [sphinx.group(1)]
            params[sphinx.group(1)] = sphinx.group(2).strip()
        elif stripped.startswith(":"):  # another Sphinx field (:returns:, :raises X:)
            mode, current = None, []
        elif mode == "google" and indent > base and (entry := _GOOGLE_ENTRY.match(stripped)) and (
                not current or indent <= entry_indent):
            entry_indent, current = indent, [entry.group(1)]
            params[entry.group(1)] = entry.group(2).strip()
        elif mode == "numpy" and indent == base and (entry := _NUMPY_ENTRY.match(stripped)):
            current = [n.strip() for n in entry.group(1).split(",")]
            for n in current:
                params[n] = ""
        elif mode is not None and indent > base and current:  # a continuation line
            for n in current:
                params[n] = f"{params[n]} {stripped}".strip()
        elif indent <= base:
            mode, current = None, []
        i += 1
    return " ".join(summary), {k: v for k, v in params.items() if v}


def _section_start(lines: list[str], i: int) -> bool:
    stripped = lines[i].strip()
    if i + 1 < len(lines) and _RULE.match(lines[i + 1]):
        return True
    if stripped.endswith(":") and stripped[:-1].lower() in (_PARAM_SECTIONS | _OTHER_SECTIONS):
        return True
    return stripped.startswith(":") and bool(re.match(r"^:\w+", stripped))
