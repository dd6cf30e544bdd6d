"""Where a node sits: the `try` blocks, retry decorators and `if` tests around it."""

from __future__ import annotations

import ast

from .source import dotted

# Handlers that catch these only do not cover a parse or network failure.
_UNRELATED = {"OSError", "IOError", "FileNotFoundError", "PermissionError", "ImportError", "ModuleNotFoundError",
              "KeyboardInterrupt", "CancelledError", "StopIteration", "StopAsyncIteration", "GeneratorExit",
              "NotImplementedError", "RecursionError", "UnicodeDecodeError"}
_RETRY_DECORATORS = {"retry", "on_exception", "retry_with_backoff", "with_retries", "backoff"}


def parents(tree: ast.AST) -> dict[int, ast.AST]:
    out: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out


def ancestors(node: ast.AST, up: dict[int, ast.AST]):
    while id(node) in up:
        node = up[id(node)]
        yield node


def _handler_names(handler: ast.ExceptHandler) -> list[str]:
    if handler.type is None:
        return ["BaseException"]
    types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return [dotted(t).rsplit(".", 1)[-1] for t in types]


def handled(node: ast.AST, up: dict[int, ast.AST]) -> bool:
    """Inside the body of a `try` with a handler that may catch the failure (anything but the unrelated kinds), or
    inside a function wrapped in a retry decorator."""
    child = node
    for parent in ancestors(node, up):
        if isinstance(parent, ast.Try) and any(child is s for s in parent.body):
            if any(any(n not in _UNRELATED for n in _handler_names(h)) for h in parent.handlers):
                return True
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for dec in parent.decorator_list:
                target = dec.func if isinstance(dec, ast.Call) else dec
                if dotted(target).rsplit(".", 1)[-1] in _RETRY_DECORATORS:
                    return True
        child = parent
    return False


def enclosing_function(node: ast.AST, up: dict[int, ast.AST]) -> ast.AST | None:
    return next((p for p in ancestors(node, up) if isinstance(p, (ast.FunctionDef, ast.AsyncFunctionDef))), None)


def always_returns(body: list[ast.stmt]) -> bool:
    """Every path through `body` ends in `return` or `raise`."""
    if not body:
        return False
    last = body[-1]
    if isinstance(last, (ast.Return, ast.Raise)):
        return True
    if isinstance(last, ast.If):
        return always_returns(last.body) and always_returns(last.orelse)
    if isinstance(last, (ast.With, ast.AsyncWith)):
        return always_returns(last.body)
    if isinstance(last, ast.Try):
        if last.finalbody and always_returns(last.finalbody):
            return True
        main = always_returns(last.orelse) if last.orelse else always_returns(last.body)
        return main and all(always_returns(h.body) for h in last.handlers)
    if isinstance(last, ast.While) and isinstance(last.test, ast.Constant) and last.test.value is True:
        return not any(isinstance(n, ast.Break) for n in ast.walk(last))
    if isinstance(last, ast.Match):
        return all(always_returns(c.body) for c in last.cases)
    return False
