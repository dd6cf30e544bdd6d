"""The structural defect checks: one function per defect type over a parsed `AgentSource`.

Each check is a pattern over Python's own `ast` (Agentable matches patterns over a Code Property Graph; the
patterns here are ours, intra-procedural, with a file-level pass for helpers that return a model reply).
A check says what it saw in `evidence` and never runs the code it reads.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from .defects import Finding
from .guards import always_returns, ancestors, enclosing_function, handled, parents
from .source import AgentSource, carries_reply, const_str, dotted, is_model_call, keyword, own_nodes, tainted_names

Check = Callable[[AgentSource, dict[int, ast.AST]], list[Finding]]

# --- model-selection ----------------------------------------------------------------------------

# OpenAI's deprecations page: the GPT-3 completion models were shut down on 2024-01-04 and the 0301/0314
# snapshots on 2024-06-13 [docs, unverified here]; Anthropic retired the Claude 1/2/instant models [docs].
RETIRED_MODELS = frozenset({
    "text-davinci-003", "text-davinci-002", "text-davinci-001", "code-davinci-002", "text-curie-001",
    "text-babbage-001", "text-ada-001", "davinci", "curie", "babbage", "ada",
    "gpt-3.5-turbo-0301", "gpt-4-0314", "gpt-4-32k-0314", "gpt-4-vision-preview",
    "claude-instant-1", "claude-instant-1.2", "claude-1", "claude-2", "claude-2.0", "claude-2.1",
})
COMPLETION_ONLY = ("gpt-3.5-turbo-instruct", "davinci-002", "babbage-002")
EMBEDDING = re.compile(r"(text-embedding|embed)", re.IGNORECASE)
CHAT_ONLY = re.compile(r"^(gpt-4|gpt-3\.5-turbo(?!-instruct)|gpt-4o|o1|o3|claude-3)")
_CHAT_CALLS = ("chat.completions.create", "ChatCompletion.create", "ChatOpenAI", "messages.create")
_LEGACY_COMPLETION = ("Completion.create", "completions.create")


def _model_name(call: ast.Call) -> tuple[str, ast.AST] | None:
    for key in ("model", "model_name", "engine"):
        value = keyword(call, key)
        if const_str(value):
            return const_str(value).rsplit(":", 1)[-1].rsplit("/", 1)[-1], value  # "openai:gpt-4" -> "gpt-4"
    return None


def check_model_selection(source: AgentSource, up: dict[int, ast.AST]) -> list[Finding]:
    found = []
    for node in ast.walk(source.tree):
        if not isinstance(node, ast.Call):
            continue
        named = _model_name(node)
        if named is None:
            continue
        model, where = named
        call = dotted(node.func)
        why = None
        chat = call.endswith(_CHAT_CALLS)
        legacy = not chat and call.endswith(_LEGACY_COMPLETION)
        if model in RETIRED_MODELS:
            why = f"model {model!r} is retired by its provider"
        elif chat and model.startswith(COMPLETION_ONLY):
            why = f"{model!r} is a completion-only model, called through the chat API ({call})"
        elif chat and EMBEDDING.search(model):
            why = f"{model!r} is an embedding model, asked to chat ({call})"
        elif legacy and CHAT_ONLY.match(model):
            why = f"{model!r} is a chat model, called through the legacy completions API ({call})"
        if why:
            found.append(Finding(source.path, where.lineno, "model-selection", why))
    return found


# --- tool-metadata -------------------------------------------------------------------------------


def check_tool_metadata(source: AgentSource, up: dict[int, ast.AST]) -> list[Finding]:
    found = []
    for tool in source.tools:
        if tool.description is None or not tool.description.strip():
            what = "no description" if tool.description is None else "an empty description"
            found.append(Finding(source.path, tool.line, "tool-metadata",
                                 f"tool {tool.name!r} has {what}: the model chooses tools by their descriptions"))
        elif tool.undocumented:
            found.append(Finding(source.path, tool.line, "tool-metadata",
                                 f"tool {tool.name!r}: parameter(s) {', '.join(tool.undocumented)} not described"))
    return found


# --- output-parsing ------------------------------------------------------------------------------

_PARSERS = {"json.loads", "loads", "ast.literal_eval", "literal_eval", "yaml.safe_load", "safe_load", "yaml.load",
            "int", "float", "json.load"}
_MATCHERS = {"search", "match", "fullmatch"}


def _is_group_of_match(node: ast.AST) -> bool:
    """`m.group(1)` / `m[1]`: a regex group, whose pattern already fixed the text's shape."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"group",
            "groups"}) or (isinstance(node, ast.Subscript) and dotted(node.value).split(".")[-1] in {"m", "match"})


def _guarded_by_test(node: ast.AST, up: dict[int, ast.AST]) -> bool:
    """Inside an `if` whose test checks the text's shape (`.isdigit()`, `.startswith("{")`, a regex match)."""
    for parent in ancestors(node, up):
        if isinstance(parent, (ast.If, ast.IfExp)):
            text = ast.unparse(parent.test)
            if re.search(r"isdigit|isdecimal|isnumeric|startswith|fullmatch|\.match\(|\.search\(", text):
                return True
            if any(isinstance(n, ast.Compare) and any(isinstance(o, ast.In) for o in n.ops)
                   for n in ast.walk(parent.test)):
                return True  # `x.split(sep)[1] if sep in x`
    return False


def check_output_parsing(source: AgentSource, up: dict[int, ast.AST]) -> list[Finding]:
    found = []
    scopes = [n for n in ast.walk(source.tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    scopes.append(source.tree)
    for scope in scopes:
        tainted = tainted_names(source, scope)
        # Names holding regex results (`found = PATTERN.findall(reply)`): their pieces have the pattern's shape.
        shaped = {t.id for n in ast.walk(scope) if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
                  and isinstance(n.value.func, ast.Attribute) and n.value.func.attr in _MATCHERS | {"findall"}
                  for t in n.targets if isinstance(t, ast.Name)}

        def reply(expr: ast.AST) -> bool:
            return carries_reply(source, expr, tainted)

        for node in own_nodes(scope):
            if scope is not source.tree and enclosing_function(node, up) is not scope:
                continue  # a nested function is its own scope
            if not isinstance(node, (ast.Call, ast.Subscript)):
                continue
            why = None
            if isinstance(node, ast.Call):
                name = dotted(node.func)
                numeric = name in {"int", "float"} and node.args and (_is_group_of_match(node.args[0]) or any(
                    isinstance(n, ast.Name) and n.id in shaped for n in ast.walk(node.args[0])))
                if name in _PARSERS and node.args and reply(node.args[0]) and not numeric:
                    why = f"{name}() of a model reply"
                elif isinstance(node.func, ast.Attribute) and node.func.attr in {"group", "groups"} and \
                        isinstance(node.func.value, ast.Call) and isinstance(node.func.value.func, ast.Attribute) \
                        and node.func.value.func.attr in _MATCHERS and any(reply(a) for a in node.func.value.args):
                    why = "a regex match of a model reply used without checking it matched (None has no .group)"
            elif isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Attribute) and \
                    node.value.func.attr in {"split", "rsplit", "splitlines"} and reply(node.value.func.value) \
                    and isinstance(node.slice, (ast.Constant, ast.UnaryOp)) and not \
                    (node.value.func.attr in {"split", "rsplit"} and node.value.args
                     and isinstance(node.slice, ast.Constant) and node.slice.value == 0):
                why = "an index into a split model reply (a reply without the separator has fewer parts)"
            if why and not handled(node, up) and not _guarded_by_test(node, up):
                found.append(Finding(source.path, node.lineno, "output-parsing",
                                     f"{why}, with no exception handling: {source.line_text(node.lineno)}"))
    return found


# --- tool-return ---------------------------------------------------------------------------------

_TOOL_RUNNERS = {"execute", "invoke", "ainvoke", "run", "arun", "call_tool", "call"}
_TOOL_RECEIVER = re.compile(r"tool", re.IGNORECASE)


def _stub(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A signature-only function (docstring, `pass`, `...`): a schema for arguments, not the tool's work."""
    body = fn.body[1:] if fn.body and isinstance(fn.body[0], ast.Expr) and const_str(fn.body[0].value) else fn.body
    return all(isinstance(s, ast.Pass) or (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
               for s in body)


def check_tool_return(source: AgentSource, up: dict[int, ast.AST]) -> list[Finding]:
    found = []
    tool_names = {t.func.name for t in source.tools if t.func is not None}
    for tool in source.tools:
        fn = tool.func
        if fn is None or any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in ast.walk(fn)) or _stub(fn):
            continue
        own = [n for n in ast.walk(fn) if isinstance(n, ast.Return) and enclosing_function(n, up) is fn]
        valued = [r for r in own if r.value is not None and not (isinstance(r.value, ast.Constant)
                                                                   and r.value.value is None)]
        if not valued:
            found.append(Finding(source.path, tool.line, "tool-return",
                                 f"tool {tool.name!r} returns nothing: the model reads None as its result"))
        elif len(valued) < len(own) or not always_returns(fn.body):
            found.append(Finding(source.path, tool.line, "tool-return",
                                 f"tool {tool.name!r} returns nothing on some paths (the model reads None there)"))
    for node in ast.walk(source.tree):
        if not isinstance(node, ast.Expr):
            continue
        call = node.value.value if isinstance(node.value, ast.Await) else node.value
        if not isinstance(call, ast.Call):
            continue
        name = dotted(call.func)
        last, receiver = name.rsplit(".", 1)[-1], name.rsplit(".", 1)[0] if "." in name else ""
        if (last in _TOOL_RUNNERS and _TOOL_RECEIVER.search(receiver)) or name in tool_names:
            found.append(Finding(source.path, node.lineno, "tool-return",
                                 f"the result of a tool call is dropped: {source.line_text(node.lineno)}"))
    return found


# --- tool-trigger --------------------------------------------------------------------------------

MIN_TRIGGER = 4  # shorter control strings ("no", ":") are too common to mean anything in a description


def control_words(source: AgentSource) -> set[str]:
    """Strings the agent's control flow matches model replies against, and stop sequences."""
    words: set[str] = set()
    for fn in [source.tree, *source.functions.values()]:
        tainted = tainted_names(source, fn)

        def reply(expr: ast.AST) -> bool:
            return carries_reply(source, expr, tainted)

        for node in own_nodes(fn):
            if isinstance(node, ast.Compare) and len(node.ops) == 1:
                left, right = node.left, node.comparators[0]
                if isinstance(node.ops[0], (ast.In, ast.NotIn, ast.Eq, ast.NotEq)):
                    for word, other in ((left, right), (right, left)):
                        if const_str(word) and reply(other):
                            words.add(const_str(word))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                    node.func.attr in {"startswith", "endswith"} and reply(node.func.value) and node.args:
                arg = node.args[0]
                items = arg.elts if isinstance(arg, ast.Tuple) else [arg]
                words.update(const_str(i) for i in items if const_str(i))
            elif isinstance(node, ast.Call):
                stop = keyword(node, "stop")
                if isinstance(stop, (ast.List, ast.Tuple)):
                    words.update(const_str(i) for i in stop.elts if const_str(i))
    return {w.strip() for w in words if len(w.strip()) >= MIN_TRIGGER}


def check_tool_trigger(source: AgentSource, up: dict[int, ast.AST]) -> list[Finding]:
    found = []
    first: dict[str, int] = {}
    for tool in source.tools:
        if tool.name in first:
            found.append(Finding(source.path, tool.line, "tool-trigger",
                                 f"tool name {tool.name!r} is also the name of the tool at line {first[tool.name]}"))
        first.setdefault(tool.name, tool.line)
    words = control_words(source)
    for tool in source.tools:
        text = f"{tool.name.replace('_', ' ')}\n{tool.description or ''}".lower()
        hit = next((w for w in sorted(words) if w.lower().rstrip(":") in text), None)
        if hit:
            found.append(Finding(source.path, tool.line, "tool-trigger",
                                 f"tool {tool.name!r} mentions {hit!r}, which the agent loop reacts to in replies"))
    return found


# --- fault-tolerance -----------------------------------------------------------------------------

_HTTP = {"requests.get", "requests.post", "requests.put", "requests.delete", "requests.request", "requests.patch",
         "urlopen", "urllib.request.urlopen", "request.urlopen"}
_LEGACY_OPENAI = ("openai.ChatCompletion.create", "openai.Completion.create", "openai.Embedding.create")
_CLIENTS = {"OpenAI", "AsyncOpenAI", "AzureOpenAI", "Anthropic", "AsyncAnthropic", "ChatOpenAI"}


def _no_retry_clients(source: AgentSource) -> dict[str, int]:
    """Client variables built with `max_retries=0` (the OpenAI/Anthropic SDKs retry twice by default)."""
    out = {}
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and \
                dotted(node.value.func).rsplit(".", 1)[-1] in _CLIENTS:
            retries = keyword(node.value, "max_retries")
            if isinstance(retries, ast.Constant) and retries.value == 0:
                out.update({dotted(t): node.lineno for t in node.targets if dotted(t)})
    return out


def check_fault_tolerance(source: AgentSource, up: dict[int, ast.AST]) -> list[Finding]:
    found = []
    bare = _no_retry_clients(source)
    for node in ast.walk(source.tree):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        why = None
        if name in _HTTP and keyword(node, "timeout") is None:
            why = f"{name}() with no timeout (it waits forever on a stalled server)"
        elif name in _LEGACY_OPENAI and keyword(node, "request_timeout") is None:
            why = f"{name}() (the legacy module call has no retry) with no timeout"
        elif is_model_call(node) and any(name.startswith(client + ".") for client in bare) and \
                keyword(node, "timeout") is None:
            why = f"{name}() on a client built with max_retries=0"
        if why and not handled(node, up):
            found.append(Finding(source.path, node.lineno, "fault-tolerance",
                                 f"{why}, and no exception handling around it"))
    return found


# --- api-misuse ----------------------------------------------------------------------------------

# openai-python v1 (Nov 2023) removed the module-level resources (`openai.ChatCompletion` ...) [docs: v1 migration
# guide]; `functions`/`function_call` are deprecated in favour of `tools`/`tool_choice` [docs: API reference];
# LangChain 0.1 deprecated `initialize_agent` and `LLMChain` [docs].
_REMOVED_CALLS = {"openai.ChatCompletion.create": "removed in openai>=1.0 (use client.chat.completions.create)",
                  "openai.Completion.create": "removed in openai>=1.0 (use client.completions.create)",
                  "openai.Embedding.create": "removed in openai>=1.0 (use client.embeddings.create)",
                  "initialize_agent": "deprecated in LangChain 0.1 (use a create_*_agent constructor)",
                  "LLMChain": "deprecated in LangChain 0.1 (use prompt | llm)"}
_DEPRECATED_KWARGS = {"functions": "deprecated: use tools=", "function_call": "deprecated: use tool_choice=",
                      "engine": "removed in openai>=1.0: use model="}
_RANGES = {"temperature": (0.0, 2.0), "top_p": (0.0, 1.0)}
_REQUEST_FIELDS = {"messages", "tools", "tool_choice", "response_format", "temperature", "top_p", "max_tokens",
                   "stop", "seed", "extra"}  # agentzoo.types.ModelRequest


def _number(node: ast.AST | None) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        value = _number(node.operand)
        return None if value is None else -value
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return float(node.value)
    return None


def check_api_misuse(source: AgentSource, up: dict[int, ast.AST]) -> list[Finding]:
    found = []
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            short = name.rsplit(".", 1)[-1]
            if name in _REMOVED_CALLS or (short in {"initialize_agent", "LLMChain"} and short in _REMOVED_CALLS):
                found.append(Finding(source.path, node.lineno, "api-misuse",
                                     f"{name}: {_REMOVED_CALLS.get(name) or _REMOVED_CALLS[short]}"))
            if is_model_call(node):
                for k in node.keywords:
                    if k.arg in _DEPRECATED_KWARGS:
                        found.append(Finding(source.path, k.value.lineno, "api-misuse",
                                             f"{name}({k.arg}=...): {_DEPRECATED_KWARGS[k.arg]}"))
            if short == "ModelRequest":
                for k in node.keywords:
                    if k.arg is not None and k.arg not in _REQUEST_FIELDS:
                        found.append(Finding(source.path, k.value.lineno, "api-misuse",
                                             f"ModelRequest has no field {k.arg!r} (a TypeError when it runs)"))
            pairs = [(k.arg, k.value) for k in node.keywords if k.arg]
        elif isinstance(node, ast.Dict):
            pairs = [(const_str(k), v) for k, v in zip(node.keys, node.values) if k is not None]
        else:
            continue
        for key, value in pairs:
            if key in _RANGES and (number := _number(value)) is not None:
                low, high = _RANGES[key]
                if not low <= number <= high:
                    found.append(Finding(source.path, value.lineno, "api-misuse",
                                         f"{key}={number:g} is outside {low:g}..{high:g}"))
    return found


STRUCTURAL: dict[str, Check] = {
    "model-selection": check_model_selection,
    "tool-metadata": check_tool_metadata,
    "output-parsing": check_output_parsing,
    "tool-return": check_tool_return,
    "tool-trigger": check_tool_trigger,
    "fault-tolerance": check_fault_tolerance,
    "api-misuse": check_api_misuse,
}


def run_checks(source: AgentSource) -> list[Finding]:
    up = parents(source.tree)
    out = {f for check in STRUCTURAL.values() for f in check(source, up)}
    return sorted(out)
