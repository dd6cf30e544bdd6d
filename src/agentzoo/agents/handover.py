"""Handing over a function the run's code defined, when the final answer names it.

In CodeAct's code mode a model often writes the function a task asks for as an action: it runs,
the function now exists in the sandbox, and the model answers by naming it (`Answer: f`, or
`final_answer(f)`, which hands over the function object: its text is `<function f at 0x…>`).
The scorer sees only the answer text, and the sandbox's interpreter keeps no source of code it
was given, so the agent hands over what its own history holds: the code of the actions it ran,
and the blocks it showed beside its answer. Nothing here runs or imports that code; it is read
with `ast` and cut into its top-level pieces.

Only an answer that is the name and nothing else counts (backticks, `()` and a final period
aside): an answer that mentions a function in a sentence is left as it is, since in a task whose
answer is text or a number such a sentence is the answer.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable

_NAMED = re.compile(r"\s*`?([A-Za-z_]\w*)(?:\(\s*\))?`?\s*\.?\s*")
_FUNCTION_OBJECT = re.compile(r"\s*<function ([A-Za-z_]\w*) at 0x[0-9a-fA-F]+>\s*")
_DEFINITION = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def named_function(answer: str) -> str | None:
    """The function name `answer` consists of (`f`, `` `f` ``, `f()`, `<function f at 0x…>`), else None."""
    found = _FUNCTION_OBJECT.fullmatch(answer) or _NAMED.fullmatch(answer)
    return found.group(1) if found else None


def definitions(sources: Iterable[str], name: str) -> str | None:
    """The code that defines `name` as the sources, run in order, left it; None if none defines it.

    That is every top-level import, then every top-level assignment whose value calls nothing (a
    constant the function may read; test calls like `print(f(1))` are left out), then the last
    definition of each function and class, in the order of those last definitions. A source that
    does not parse is skipped (it defined nothing when it ran either).
    """
    imports: dict[str, None] = {}
    constants: dict[str, None] = {}
    defined: dict[str, str] = {}
    for source in sources:
        tree = _parse(source)
        if tree is None:
            continue
        for node in tree.body:
            text = _segment(source, node)
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                imports[text] = None
            elif isinstance(node, _DEFINITION):
                defined.pop(node.name, None)  # a later definition replaces the earlier one, and moves
                defined[node.name] = text
            elif (isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None
                  and not any(isinstance(n, ast.Call) for n in ast.walk(node.value))):
                constants[text] = None
    if name not in defined:
        return None
    return "\n\n".join(p for p in ("\n".join(imports), "\n".join(constants), "\n\n".join(defined.values())) if p)


def handed_over(answer: str, sources: Iterable[str]) -> str:
    """`answer`, or, when it names a function the sources define, that code in a ```python block."""
    name = named_function(answer)
    code = definitions(sources, name) if name else None
    return answer if code is None else f"```python\n{code}\n```"


def _segment(source: str, node: ast.stmt) -> str:
    """A top-level statement's text; a decorated one from its first decorator's line."""
    decorators = getattr(node, "decorator_list", ())
    if not decorators:
        return (ast.get_source_segment(source, node) or "").rstrip()
    first = min(d.lineno for d in decorators)
    return "\n".join(source.split("\n")[first - 1:node.end_lineno]).rstrip()


def _parse(source: str) -> ast.Module | None:
    with warnings.catch_warnings():  # invalid escapes in a model's strings are its business
        warnings.simplefilter("ignore")
        try:
            return ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
