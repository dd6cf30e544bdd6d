"""What the oracle knows about one task, and how it tells a recipe's roles apart.

`Gold.of(env, task)` gathers a task's gold solution in every form a role may have to write: the
final answer as the environment scores it (`reply`), the replies a tool-calling agent would give
to follow the gold path (`steps`), and by answer kind the gold code and asserts it passes (code),
or the repository before and after the gold patch and its hidden tests (patch). Everything comes
from the environment's own oracle methods, so the oracle players never know a benchmark's format.

`Marker` recognises a prompt by a line of its template: the first line that every rendering
contains word for word (outside `{% if %}`/`{% for %}` blocks, with no `{{ }}` in it). A player
asks "is this the request of template X?" rather than matching wording of its own, so rewording a
prompt in its template file does not break the oracle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...prompts import render
from ...types import ModelRequest

MIN_LINE = 12       # a marker line is at least this long (shorter lines, like "The task:", are too common)
MIN_FRAGMENT = 20   # a marker fragment (part of a line between template tags) at least this long
_TAG = re.compile(r"\{[{%#]|[}%#]\}")
_OPENS = re.compile(r"\{%-?\s*(?:if|for)\b")
_CLOSES = re.compile(r"\{%-?\s*end(?:if|for)\b")
_COMMENT = re.compile(r"\{#.*?#\}", re.S)


class OracleError(ConfigError):
    """The oracle cannot answer a request: no role of the recipe asks it, or the task lacks gold it needs."""


@dataclass(frozen=True)
class Gold:
    """One task's gold solution, in the forms the roles of a recipe need."""

    env: str
    kind: str | None
    """The environment's `answer_kind` (`agentzoo.envs.base.ANSWER_KINDS`)."""
    reply: str
    """The final answer, in the form the environment scores (the gold code fenced, a worked solution, a diff)."""
    steps: tuple[Any, ...]
    """The replies of a tool-calling agent that follows the gold path (`env.oracle(task, "tool-calling")`)."""
    code: str = ""
    """code: the gold function (with the imports and helpers it needs)."""
    tests: tuple[str, ...] = ()
    """code: one-line asserts the gold code passes (`env.oracle_tests`)."""
    repo: Mapping[str, str] = field(default_factory=dict)
    """patch: the repository before the fix, path -> text."""
    fixed: Mapping[str, str] = field(default_factory=dict)
    """patch: the repository with the gold patch applied."""
    hidden: Mapping[str, str] = field(default_factory=dict)
    """patch: the tests that show the issue (fail before the fix, pass after)."""
    stepper: tuple[str, ...] = ()
    """A step environment's gold as the text loop (`stepper`) replies it, one `Action: …` reply per step: what a
    search's policy plays."""
    play: Callable[[ModelRequest], Any] | None = None
    """An interactive environment whose oracle is a function of a tool-calling agent's request (it reads each
    observation as it comes: webworld): that function; `steps` and `reply` are then empty."""

    @classmethod
    def of(cls, env: Any, task: Any) -> Gold:
        kind = getattr(env, "answer_kind", None)
        oracle = env.oracle(task, "tool-calling")
        if callable(oracle):
            return cls(env.name, kind, "", (), play=oracle)
        steps = tuple(oracle)
        texts = [s for s in steps if isinstance(s, str)]
        reply = texts[-1] if texts else ""
        stepper = _stepper_replies(env, task)
        if kind == "code":
            from ...envs.code import extract_code

            tests = getattr(env, "oracle_tests", None)
            return cls(env.name, kind, reply, steps, code=extract_code(reply).strip("\n"),
                       tests=tuple(tests(task)) if tests else ())
        if kind == "patch":
            from ...envs.seeded_bugs import apply_patch

            if not (hasattr(env, "repository") and hasattr(env, "hidden_tests")):
                raise OracleError(f"the oracle plays recipes on {env.name!r} (patch answers) from the repository and "
                                  "its hidden tests: the environment needs repository(task) and hidden_tests(task)")
            repo = env.repository(task)
            return cls(env.name, kind, reply, steps, repo=repo, fixed=apply_patch(repo, task.gold),
                       hidden=env.hidden_tests(task), stepper=stepper)
        return cls(env.name, kind, reply, steps, stepper=stepper)

    def tests_reply(self) -> str:
        """A test writer's reply: the gold's asserts in a ```python block (an empty block when there are none)."""
        return "Each assert follows from the task's description.\n\n```python\n" + "\n".join(self.tests) + "\n```"


def _stepper_replies(env: Any, task: Any) -> tuple[str, ...]:
    """A step environment's oracle for the text loop (`Action: …` replies); none for an environment that does
    not step or whose oracle reads each page."""
    if not callable(getattr(env, "step_episode", None)):
        return ()
    replies = env.oracle(task, "stepper")
    return () if callable(replies) else tuple(r for r in replies if isinstance(r, str))


@dataclass(frozen=True)
class Marker:
    """A piece of a template's text that every request rendered from it contains."""

    text: str
    whole_line: bool
    """True: a line of the request must equal `text`; False: `text` occurs anywhere in it."""

    @classmethod
    def of(cls, template: Path) -> Marker:
        """The template's first always-rendered literal line; failing that, its first literal fragment."""
        return _marker(str(template))

    @classmethod
    def rendered(cls, template: Path, **variables: Any) -> Marker:
        """The first line (of at least `MIN_LINE` characters) of the template rendered with `variables`:
        for templates whose opening depends on a variable (a ballot kind, a role)."""
        text = render(template, **variables)
        line = next((line.strip() for line in text.split("\n") if len(line.strip()) >= MIN_LINE), None)
        if line is None:
            raise OracleError(f"{template}: renders no line to recognise its requests by")
        return cls(line, True)

    def found_in(self, content: str | None) -> bool:
        if not content:
            return False
        if self.whole_line:
            return any(line.strip() == self.text for line in content.split("\n"))
        return self.text in content


@lru_cache(maxsize=None)
def _marker(path: str) -> Marker:
    source = _COMMENT.sub("", Path(path).read_text(encoding="utf-8"))
    depth, fragment = 0, None
    for line in source.split("\n"):
        if depth == 0:
            if not _TAG.search(line) and len(line.strip()) >= MIN_LINE:
                return Marker(line.strip(), True)
            if fragment is None:
                literal = [part.strip() for part in re.split(r"\{\{.*?\}\}|\{%.*?%\}", line)]
                fragment = next((part for part in literal if len(part) >= MIN_FRAGMENT and not _TAG.search(part)),
                                None)
        depth += len(_OPENS.findall(line)) - len(_CLOSES.findall(line))
    if fragment is None:
        raise OracleError(f"{path}: no literal text to recognise its requests by")
    return Marker(fragment, False)


# --- reading a request -------------------------------------------------------------------------


def system_of(request: ModelRequest) -> str:
    messages = request.messages
    return (messages[0].get("content") or "") if messages and messages[0].get("role") == "system" else ""


def user_texts(request: ModelRequest) -> list[str]:
    return [m.get("content") or "" for m in request.messages if m.get("role") == "user"]


def last_user(request: ModelRequest) -> str:
    users = user_texts(request)
    return users[-1] if users else ""


def turns_taken(request: ModelRequest) -> int:
    """How many replies the asking agent has already given in this conversation."""
    return sum(1 for m in request.messages if m.get("role") == "assistant")


def not_recognised(recipe: str, request: ModelRequest) -> OracleError:
    system, last = system_of(request), last_user(request)
    return OracleError(f"the oracle for recipe {recipe!r} does not recognise this request as any of the recipe's "
                       f"roles (system prompt {system[:120]!r}, last user message {last[:200]!r})")
