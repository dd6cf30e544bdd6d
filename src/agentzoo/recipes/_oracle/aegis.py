"""The oracle player for AEGIS, from the task's gold patch and hidden tests.

The extractor names the files the gold patch changes as its identifiers; the code agent follows the FSM the
note of each request names: in `explore` it runs a reproduction script made of the hidden tests (each called in
turn, so the first failing assert fails the script), in `reproduced` it checks the gold patch, in `verified` it
replies with that patch.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any

from ...envs.seeded_bugs import make_patch
from ...types import ModelRequest
from .. import aegis as _aegis
from ..aegis.fsm import CHECK, EXPLORE, REPRODUCED, RUN, VERIFIED
from .gold import Gold, Marker, OracleError, last_user, not_recognised, system_of

Player = Callable[[ModelRequest], Any]
_STATE = re.compile(r"^State: (\w+)\.", re.MULTILINE)


def reproduction_script(gold: Gold) -> str:
    sources = [text for path, text in sorted(gold.hidden.items()) if path.endswith(".py")]
    names = [node.name for text in sources for node in ast.parse(text).body
             if isinstance(node, ast.FunctionDef) and node.name.startswith("test")]
    if not names:
        raise OracleError("aegis: the task has no hidden tests to make a reproduction script of")
    return "\n\n".join(sources) + "\n\n" + "".join(f"{name}()\n" for name in names)


def aegis(gold: Gold) -> Player:
    extract = Marker.of(_aegis.PROMPTS / "extract.j2")
    coder = Marker.of(_aegis.PROMPTS / "system.j2")
    patch = make_patch(gold.repo, gold.fixed)
    changed = sorted(p for p in gold.fixed if gold.fixed.get(p) != gold.repo.get(p))

    def play(request: ModelRequest) -> Any:
        if gold.kind != "patch":
            raise OracleError(f"aegis plays patch tasks only, not {gold.env!r} ({gold.kind})")
        if extract.found_in(last_user(request)):
            modules = [p.rsplit("/", 1)[-1].removesuffix(".py") for p in changed]
            return {"content": '{"summary": "the reported behaviour is wrong", "expected": "as the issue says", '
                               '"actual": "otherwise", "keywords": ' + str(modules).replace("'", '"') + "}"}
        if coder.found_in(system_of(request)):
            state = _STATE.search(last_user(request))
            if state is None:
                raise not_recognised("aegis", request)
            if state.group(1) == EXPLORE:
                return {"tool_calls": [{"name": RUN, "arguments": {"script": reproduction_script(gold)}}]}
            if state.group(1) == REPRODUCED:
                return {"tool_calls": [{"name": CHECK, "arguments": {"patch": patch}}]}
            if state.group(1) == VERIFIED:
                return f"The patch passes the reproduction's F→P check.\n\n```diff\n{patch}```"
        raise not_recognised("aegis", request)

    return play
