"""Every agent kind by name, with its presets and options: what `--agent`, experiment files and
`agentzoo recipes` address.

A kind is one of the two built-in agents (`tool-calling`, `codeact`), a recipe
(`agentzoo.recipes.RECIPES`), or a user's builder named `module:build` / `file.py:build`. A recipe's
options are read from its `build(model, tools=(), *, system=None, sampling=None, **options)`
signature: the type hints and defaults make the schema that `--agent-opt key=value` is validated
against, and the module's `PRESETS`, `DEFAULT_PRESET`, `OPTION_SOURCES` and `DEVIATIONS` say where the
defaults come from. One source of truth: the code that builds the agent.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from .errors import ConfigError, did_you_mean

# Parameters of `build` that the spec fills, not `--agent-opt`.
SPEC_PARAMETERS = frozenset({"model", "tools", "system", "sampling", "preset", "tier", "allow_unsafe", "limits",
                             "task_kind", "episode"})
SANDBOX_PARAMETERS = frozenset({"tier", "allow_unsafe", "limits"})

# The option each recipe's own step, turn or round limit lives in, for `--max-steps`.
MAX_STEPS_OPTION: dict[str, str] = {
    "magentic-one": "max_turns",
    "magentic-one-legacy": "max_rounds",
    "metagpt": "n_round",
    "mallm": "max_turns",
    "self-refine": "max_iterations",
    "reflexion": "max_trials",
    "dylan": "rounds",
    "llm-debate": "rounds",
    "agentcoder": "iterations",
    "ioa": "max_turns",
    "tree-search": "max_iterations",
    "swe-search": "max_iterations",
}


@dataclass(frozen=True)
class OptionInfo:
    """One option of an agent kind."""

    name: str
    type_text: str
    default: Any
    """`inspect.Parameter.empty` when the option is required."""
    source: str | None = None
    """Where the default comes from (the paper's section, the code's constant)."""
    adapter: TypeAdapter | None = None
    """Validates a value; None when only Python can give this option (a callable, an object)."""

    @property
    def python_only(self) -> bool:
        return self.adapter is None

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def default_text(self) -> str:
        if self.required:
            return "(required)"
        try:
            return orjson.dumps(self.default, default=_jsonable).decode()
        except TypeError:
            return repr(self.default)


@dataclass(frozen=True)
class AgentKind:
    """What a name on `--agent` builds, and how it may be configured."""

    name: str
    summary: str
    builder: Callable[..., Any] | None = None
    """A recipe's (or a user's) `build`; None for the built-in agents."""
    options: dict[str, OptionInfo] = field(default_factory=dict)
    presets: dict[str, dict[str, Any]] = field(default_factory=dict)
    default_preset: str | None = None
    deviations: tuple[str, ...] = ()
    runs_code: bool = False
    """Whether it runs model-written code (takes the sandbox settings)."""
    accepts: frozenset[str] = frozenset()
    """The parameter names of `build`: which of the spec's values (sandbox, task kind, preset, episode) it takes."""
    open_options: bool = False
    """`build` takes `**options`: names beyond the schema are passed on unchecked."""
    description: str = ""
    source: str = ""
    """Where it is defined: the recipe module, or the user's import string."""

    @property
    def takes_task_kind(self) -> bool:
        return "task_kind" in self.accepts

    @property
    def takes_preset(self) -> bool:
        return "preset" in self.accepts

    @property
    def takes_episode(self) -> bool:
        """`build` takes `episode=`: the environment episode (task, state) it acts in, when there is one."""
        return "episode" in self.accepts

    def options_for(self, preset: str | None, options: Mapping[str, Any]) -> dict[str, Any]:
        """The preset's values under the given options, every one validated; normalised to JSON."""
        chosen = preset or self.default_preset
        if chosen is not None and chosen not in self.presets:
            known = ", ".join(self.presets) or "(this agent has no presets)"
            raise ConfigError(f"{self.name}@{chosen}: unknown preset; presets: {known}")
        merged = {**(self.presets.get(chosen, {}) if chosen else {}), **options}
        return self.validate(merged)

    def validate(self, options: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in options.items():
            info = self.options.get(key)
            if info is None:
                if self.open_options:
                    out[key] = value
                    continue
                raise ConfigError(f"{self.name}: unknown option {key!r}; valid options: {self.valid_list()}")
            if info.python_only:
                if isinstance(value, (str, int, float, bool, list, dict)) or value is None:
                    raise ConfigError(f"{self.name}: option {key!r} ({info.type_text}) can only be given from Python")
                out[key] = value
                continue
            try:
                checked = info.adapter.validate_python(value)  # type: ignore[union-attr]
            except ValidationError as exc:
                problems = "; ".join(e["msg"] for e in exc.errors()[:3])
                raise ConfigError(f"{self.name}: option {key}={_show(value)} is not a valid {info.type_text}: "
                                  f"{problems}; valid options: {self.valid_list()}") from None
            out[key] = info.adapter.dump_python(checked, mode="json")  # type: ignore[union-attr]
        return out

    def valid_list(self) -> str:
        names = [f"{o.name} ({o.type_text}, default {o.default_text()})" for o in self.options.values()
                 if not o.python_only]
        return ", ".join(names) or "(none)"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    raise TypeError


# --- the kinds --------------------------------------------------------------------------------


@cache  # a kind is frozen; making its option's TypeAdapter was a third of building an oracle sample's agent
def _builtin(name: str) -> AgentKind:
    int_adapter = TypeAdapter(int)
    if name == "tool-calling":
        return AgentKind(name, "an LLM that calls tools until it gives a final answer (native tool calls or ReAct "
                         "text)", options={"repeat_limit": OptionInfo("repeat_limit", "int", 3,
                                                                      "agentzoo: the same call 3 times in a row is "
                                                                      "not run again", int_adapter)},
                         source="agentzoo.agents.tool_calling")
    return AgentKind(name, "CodeAct (Wang et al., ICML 2024): acts by writing Python that runs in the sandbox; "
                     "M3ToolEval's text and JSON formats too", runs_code=True, source="agentzoo.agents.codeact")


BUILTIN = ("tool-calling", "codeact")
REGISTERED: dict[str, Callable[..., Any]] = {}
"""Builders registered from Python (`register_agent`), by name."""


def register_agent(name: str, builder: Callable[..., Any]) -> None:
    """Make `name` buildable (`--agent NAME`, experiment files, `AgentSpec(agent=NAME)`) with
    `builder(model, tools, *, system=None, sampling=None, **options) -> agent`, options read from its signature."""
    if name in BUILTIN:
        raise ConfigError(f"{name!r} is a built-in agent; register yours under another name")
    REGISTERED[name] = builder


def names() -> list[str]:
    from .recipes import RECIPES

    return [*BUILTIN, *RECIPES, *REGISTERED]


def get_kind(name: str, *, load_user_code: Callable[[str, str], Any] | None = None) -> AgentKind:
    """The kind `name` (without `@preset`) builds; a user's `module:build` is loaded with `load_user_code`."""
    from .recipes import RECIPES

    if name in BUILTIN:
        return _builtin(name)
    if name in REGISTERED:
        return kind_from_builder(name, REGISTERED[name], source="registered from Python")
    if name in RECIPES:
        return _recipe_kind(name, RECIPES[name])
    if name == "adas" or name.startswith("adas:"):  # an ADAS agent: its code runs only in the sandbox
        from .search.adas import agent as adas

        builder = adas.build if name == "adas" else adas.entry_builder(name)
        return kind_from_builder(name, builder, module=adas, source=name if name != "adas" else adas.__name__)
    if ":" in name:
        if load_user_code is None:
            raise ConfigError(f"agent {name!r} is user code, and nothing here may load it")
        builder = load_user_code(name, "agent builder")
        if not callable(builder):
            raise ConfigError(f"agent {name!r} is not callable; it must be build(model, tools, *, system, sampling, "
                              "**options) -> an agent")
        return kind_from_builder(name, builder, source=name)
    raise ConfigError(f"unknown agent {name!r}{did_you_mean(name, names(), cutoff=0.75)} (known: {', '.join(names())}, or a builder of your own as "
                      "module:build or file.py:build, or an ADAS archive's agent as adas:ARCHIVE.json#N)")


def split_agent(text: str) -> tuple[str, str | None]:
    """`agentcoder@code` → ("agentcoder", "code"); a path with `@` before `:` is left alone."""
    name, at, preset = text.rpartition("@")
    if not at or ":" in preset or "/" in preset:
        return text, None
    if not name or not preset:
        raise ConfigError(f"--agent {text!r}: expected NAME or NAME@PRESET")
    return name, preset


def _recipe_kind(name: str, module_name: str) -> AgentKind:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ConfigError(f"recipe {name!r} is not built yet in this version") from None
    return kind_from_builder(name, module.build, module=module, source=module_name)


def kind_from_builder(name: str, builder: Callable[..., Any], *, module: Any = None, source: str = "") -> AgentKind:
    """Read a `build` function's options from its signature (and its module's catalogue constants)."""
    module = module if module is not None else inspect.getmodule(builder)
    sources: dict[str, str] = dict(getattr(module, "OPTION_SOURCES", {}) or {})
    try:
        hints = typing.get_type_hints(inspect.unwrap(builder))
    except Exception:  # a hint that names something only imported for type checkers
        hints = {}
    signature = inspect.signature(builder)
    params = list(signature.parameters.values())
    options: dict[str, OptionInfo] = {}
    open_options = False
    for param in params[2:] if len(params) >= 2 else []:
        if param.kind is inspect.Parameter.VAR_KEYWORD:
            open_options = True
            continue
        if param.kind is inspect.Parameter.VAR_POSITIONAL or param.name in SPEC_PARAMETERS:
            continue
        annotation = hints.get(param.name) or _resolve(param.annotation, builder)
        options[param.name] = OptionInfo(param.name, _type_text(annotation), param.default,
                                         sources.get(param.name), _adapter(annotation, param.default))
    accepted = {p.name for p in params}
    doc = inspect.getdoc(module) if module is not None else inspect.getdoc(builder)
    summary = (doc or "").strip().split("\n\n")[0].replace("\n", " ")
    return AgentKind(
        name=name, summary=summary, builder=builder, options=options,
        presets=dict(getattr(module, "PRESETS", {}) or {}), default_preset=getattr(module, "DEFAULT_PRESET", None),
        deviations=tuple(getattr(module, "DEVIATIONS", ()) or ()), runs_code=bool(accepted & SANDBOX_PARAMETERS),
        accepts=frozenset(accepted), open_options=open_options,
        description=doc or "", source=source)


def _resolve(annotation: Any, builder: Callable[..., Any]) -> Any:
    """A string annotation (`from __future__ import annotations`) evaluated in the builder's module, one
    at a time, so that one hint naming a type-checking-only import does not hide the others."""
    if not isinstance(annotation, str):
        return annotation
    namespace = {**vars(typing), **getattr(inspect.unwrap(builder), "__globals__", {})}
    try:
        return eval(annotation, namespace)  # noqa: S307 - an annotation in agentzoo's or the user's own code
    except Exception:
        return annotation


def _adapter(annotation: Any, default: Any) -> TypeAdapter | None:
    """A validator for a JSON-expressible option; None for what only Python can give."""
    if annotation is inspect.Parameter.empty:
        if default is inspect.Parameter.empty or default is None:
            return TypeAdapter(Any)
        annotation = type(default)
    try:
        adapter = TypeAdapter(annotation)
        adapter.json_schema()
    except Exception:  # callables, arbitrary classes: no JSON form
        return None
    return adapter


def _type_text(annotation: Any) -> str:
    if annotation is inspect.Parameter.empty:
        return "any"
    if isinstance(annotation, type):
        return annotation.__name__
    return str(annotation).replace("typing.", "").replace("collections.abc.", "")
