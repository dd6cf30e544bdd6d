"""One agent source file, parsed once: its tree, the tools it defines, and where model replies flow.

Tools are found in the idioms agent code uses: agentzoo's and LangChain's `@tool` decorators, `tool(fn, ...)` /
`FunctionTool(fn, ...)`, LangChain's `Tool(name=, func=, description=)` and `StructuredTool.from_function(...)`,
and OpenAI tool schemas written as dict literals (`{"type": "function", "function": {...}}` or the legacy
`{"name", "description", "parameters"}` shape).

Model calls: agentzoo's `ctx.model(...)` / `model.complete(...)`, the OpenAI client (`*.chat.completions.create`,
`*.completions.create`, the legacy `openai.ChatCompletion.create`), Anthropic's `*.messages.create`, and
`invoke`/`predict`/`generate` on a receiver whose name says it is a model (`llm`, `chat`, `model`, `chain`).
Functions of the file that return a model reply count as model calls too (a `_ask` helper).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

from .defects import AgentSourceError

_MODEL_RECEIVER = re.compile(r"llm|chat|model|chain|client|agent", re.IGNORECASE)
_MODEL_METHODS = {"invoke", "ainvoke", "predict", "apredict", "generate", "agenerate", "complete", "acomplete",
                  "generate_content", "chat"}
_PARAM_SKIP = {"self", "cls", "ctx", "context", "run_manager", "callbacks"}


@dataclass(frozen=True)
class ToolDef:
    """A tool the model may call, as the file defines it."""

    name: str
    line: int
    description: str | None
    """None: no description given at all; "" : given empty."""
    params: tuple[str, ...]
    undocumented: tuple[str, ...]
    func: ast.FunctionDef | ast.AsyncFunctionDef | None = None
    style: str = "decorator"
    """decorator | call | schema"""


@dataclass
class AgentSource:
    path: str
    text: str
    tree: ast.Module
    tools: list[ToolDef] = field(default_factory=list)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    reply_functions: set[str] = field(default_factory=set)
    """Names of this file's functions that return a model reply."""

    def line_text(self, line: int) -> str:
        lines = self.text.splitlines()
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def parse_source(text: str, path: str = "<agent>") -> AgentSource:
    try:
        tree = ast.parse(text, filename=path)
    except SyntaxError as exc:
        raise AgentSourceError(f"{path}:{exc.lineno or 0}: not Python that parses ({exc.msg})") from None
    except ValueError as exc:  # null bytes
        raise AgentSourceError(f"{path}: not Python that parses ({exc})") from None
    source = AgentSource(path, text, tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            source.functions.setdefault(node.name, node)
    source.tools = find_tools(source)
    # Two rounds: a helper that returns another helper's reply is found on the second.
    for _ in range(2):
        for name, fn in source.functions.items():
            if name not in source.reply_functions and _returns_reply(source, fn):
                source.reply_functions.add(name)
    return source


def read_source(path: str | Path) -> AgentSource:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgentSourceError(f"{p}: no such file") from None
    except UnicodeDecodeError as exc:
        raise AgentSourceError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise AgentSourceError(f"{p}: cannot read it ({exc.strerror or exc})") from None
    return parse_source(text, str(p))


# --- names and calls ---------------------------------------------------------------------------


def dotted(node: ast.AST) -> str:
    """`a.b.c` for a Name/Attribute chain (calls and subscripts inside read as `()` and `[]`), else ''."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else f"?.{node.attr}"
    if isinstance(node, ast.Call):
        base = dotted(node.func)
        return f"{base}()" if base else ""
    if isinstance(node, ast.Subscript):
        base = dotted(node.value)
        return f"{base}[]" if base else ""
    if isinstance(node, ast.Await):
        return dotted(node.value)
    return ""


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # an f-string: its literal parts
        return "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
    return None


def is_model_call(call: ast.Call, source: AgentSource | None = None) -> bool:
    name = dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    if name.endswith(("chat.completions.create", "ChatCompletion.create", "Completion.create",
                      "completions.create", "messages.create", "responses.create")):
        return True
    if last == "model" and "." in name:          # ctx.model(model, request), scope.model(...)
        return True
    if last in _MODEL_METHODS and "." in name:
        receiver = name.rsplit(".", 1)[0]
        return bool(_MODEL_RECEIVER.search(receiver.rsplit(".", 1)[-1]))
    if source is not None and last in source.reply_functions and (name == last or name.startswith("self.")):
        return True
    return False


# --- where replies flow ------------------------------------------------------------------------


def own_nodes(scope: ast.AST):
    """The nodes of `scope`; for a module, those outside its functions and classes' methods (each function is its
    own scope)."""
    if not isinstance(scope, ast.Module):
        yield from ast.walk(scope)
        return
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


_TEXT_FUNCTIONS = {"str", "dedent", "textwrap.dedent", "strip"}


def tainted_names(source: AgentSource, fn: ast.AST) -> set[str]:
    """Names in `fn` that hold a model reply or text derived from one (assignments in source order, twice so that
    loops converge)."""
    tainted: set[str] = set()
    nodes = list(own_nodes(fn))
    for _ in range(2):
        for node in nodes:
            if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                if carries_reply(source, node.value, tainted):
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    for target in targets:
                        tainted.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
            elif isinstance(node, (ast.For, ast.AsyncFor, ast.comprehension)) and carries_reply(
                    source, node.iter, tainted):
                tainted.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
            elif isinstance(node, ast.NamedExpr) and carries_reply(source, node.value, tainted):
                tainted.add(node.target.id)
    return tainted


def carries_reply(source: AgentSource, expr: ast.AST, tainted: set[str]) -> bool:
    """`expr`'s value is a model reply or text taken from one: the reply itself, an attribute, item or slice of it,
    a string method's result on it, or text built around it. A call to any other function with the reply as an
    argument gives a new value (that function parsed it; its own parsing is checked where it is defined)."""
    if isinstance(expr, ast.Name):
        return expr.id in tainted
    if isinstance(expr, (ast.Attribute, ast.Subscript, ast.Await, ast.Starred, ast.FormattedValue)):
        return carries_reply(source, expr.value, tainted)
    if isinstance(expr, ast.Call):
        if is_model_call(expr, source):
            return True
        if isinstance(expr.func, ast.Attribute):
            return carries_reply(source, expr.func.value, tainted)
        if dotted(expr.func) in _TEXT_FUNCTIONS:
            return any(carries_reply(source, a, tainted) for a in expr.args)
        return False
    if isinstance(expr, (ast.BinOp, ast.BoolOp, ast.IfExp, ast.JoinedStr, ast.Tuple, ast.List)):
        return any(carries_reply(source, c, tainted) for c in ast.iter_child_nodes(expr))
    return False


def _returns_reply(source: AgentSource, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    tainted = tainted_names(source, fn)
    return any(isinstance(n, ast.Return) and n.value is not None and carries_reply(source, n.value, tainted)
               for n in ast.walk(fn))


# --- tools -------------------------------------------------------------------------------------


def _is_tool_decorator(dec: ast.expr) -> bool:
    target = dec.func if isinstance(dec, ast.Call) else dec
    return dotted(target).rsplit(".", 1)[-1] in {"tool", "function_tool"}


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    args = [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]
    return tuple(a.arg for a in args if a.arg not in _PARAM_SKIP)


def documented(doc: str, param: str) -> bool:
    """A parameter is documented when the docstring gives it a line of its own: `name: ...`, `name (type): ...`,
    `:param name:` or `- name ...`."""
    pattern = rf"^\s*(?:[-*]\s*)?(?::param\s+(?:\w+\s+)?)?`?{re.escape(param)}`?\s*(?:\([^)]*\))?\s*[:\-–]"
    return re.search(pattern, doc, re.MULTILINE) is not None


def _summary(doc: str | None) -> str | None:
    if doc is None:
        return None
    return doc.strip().split("\n\n", 1)[0].strip()


def _from_function(fn: ast.FunctionDef | ast.AsyncFunctionDef, name: str | None, description: str | None,
                   style: str, line: int | None = None) -> ToolDef:
    doc = ast.get_docstring(fn) or ""
    params = _params(fn)
    desc = description if description is not None else _summary(ast.get_docstring(fn))
    # A parameter the description names (a one-parameter tool described in one sentence) counts as described.
    undocumented = tuple(p for p in params if not documented(doc, p)
                         and not re.search(rf"\b{re.escape(p)}\b", desc or "", re.IGNORECASE))
    if desc == "(computed)":
        undocumented = ()  # a description made at run time may well describe them: nothing to hold them against
    return ToolDef(name or fn.name, line or fn.lineno, desc, params, undocumented, fn, style)


def find_tools(source: AgentSource) -> list[ToolDef]:
    tools: list[ToolDef] = []
    seen: set[int] = set()
    for node in ast.walk(source.tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in node.decorator_list:
                if _is_tool_decorator(dec):
                    name = description = None
                    if isinstance(dec, ast.Call):
                        name = const_str(keyword(dec, "name")) or (const_str(dec.args[0]) if dec.args else None)
                        description = const_str(keyword(dec, "description"))
                    tools.append(_from_function(node, name, description, "decorator"))
                    seen.add(id(node))
        elif isinstance(node, ast.Call):
            tool = _tool_from_call(source, node)
            if tool is not None and (tool.func is None or id(tool.func) not in seen):
                tools.append(tool)
        elif isinstance(node, ast.Dict) and id(node) not in seen:
            inner = _dict_get(node, "function")
            if isinstance(inner, ast.Dict):
                seen.add(id(inner))  # the OpenAI wrapper's inner dict is the same tool
            tool = _tool_from_schema(node)
            if tool is not None:
                tools.append(tool)
    return sorted(tools, key=lambda t: t.line)


def _tool_from_call(source: AgentSource, call: ast.Call) -> ToolDef | None:
    name = dotted(call.func)
    last = name.rsplit(".", 1)[-1]
    if last in {"tool", "FunctionTool"} and call.args:
        fn_node = call.args[0]
    elif last == "Tool" or name.endswith("StructuredTool.from_function") or last == "from_function":
        fn_node = keyword(call, "func") or keyword(call, "coroutine") or (call.args[1] if len(call.args) > 1 else None)
    else:
        return None
    fn = source.functions.get(fn_node.id) if isinstance(fn_node, ast.Name) else None
    tool_name = const_str(keyword(call, "name")) or (const_str(call.args[0]) if last == "Tool" and call.args else None)
    desc_node = keyword(call, "description") or (call.args[2] if last == "Tool" and len(call.args) > 2 else None)
    description = const_str(desc_node)
    if fn is None:
        if last in {"tool", "FunctionTool"} and desc_node is None:
            return None  # a function we cannot see: its docstring is not in this file
        if desc_node is not None and description is None:
            return None  # a description computed at run time
        return ToolDef(tool_name or (fn_node.id if isinstance(fn_node, ast.Name) else "?"), call.lineno,
                       description, (), (), None, "call")
    if desc_node is not None and description is None:
        description = "(computed)"
    return _from_function(fn, tool_name, description, "call", call.lineno)


def _dict_get(node: ast.Dict, key: str) -> ast.expr | None:
    for k, v in zip(node.keys, node.values):
        if isinstance(k, ast.Constant) and k.value == key:
            return v
    return None


def _tool_from_schema(node: ast.Dict) -> ToolDef | None:
    if const_str(_dict_get(node, "type")) == "function" and isinstance(_dict_get(node, "function"), ast.Dict):
        node = _dict_get(node, "function")  # type: ignore[assignment]
    name = const_str(_dict_get(node, "name"))
    parameters = _dict_get(node, "parameters")
    if name is None or not isinstance(parameters, ast.Dict):
        return None
    desc_node = _dict_get(node, "description")
    description = None if desc_node is None else (const_str(desc_node) if const_str(desc_node) is not None
                                                   else "(computed)")
    props = _dict_get(parameters, "properties")
    params: list[str] = []
    undocumented: list[str] = []
    if isinstance(props, ast.Dict):
        for k, v in zip(props.keys, props.values):
            if isinstance(k, ast.Constant) and isinstance(k.value, str):
                params.append(k.value)
                text = const_str(_dict_get(v, "description")) if isinstance(v, ast.Dict) else None
                if isinstance(v, ast.Dict) and (text is None or not text.strip()):
                    undocumented.append(k.value)
    return ToolDef(name, node.lineno, description, tuple(params), tuple(undocumented), None, "schema")
