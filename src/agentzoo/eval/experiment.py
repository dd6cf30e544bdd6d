"""Experiment files: an eval matrix written down — agents (specs with labels), environments (with
task filters and slices), models, seeds, concurrency, budgets and the baseline for paired comparison.

    agentzoo eval experiments/reflexion-judge-vs-tests.yaml

The command-line flags (`--env`, `--agent`, `--agent-opt`, `--model`, ...) make the same
`Experiment`, so a matrix given as flags and the same matrix in a file give the same samples, keys
and rows. Errors name the file, the line and the key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..catalog import split_agent
from ..errors import ConfigError
from ..runtime.spec import (AgentSpec, BudgetSpec, McpServerSpec, ModelOptions, SandboxSpec, first_error,
                            unknown_key)
from .agents import UNSET_MODEL


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EnvEntry(_Data):
    """One environment of the matrix and which of its tasks to run."""

    name: str
    """A registered environment (`agentzoo eval --help` lists them) or a user's `module:Class`."""
    tasks_file: str | None = None
    """Another tasks file of the environment's format."""
    tasks: list[str] | None = None
    """Only these task ids, in this order."""
    match: str | None = None
    """Only tasks whose id contains this text."""
    offset: int = Field(0, ge=0)
    """Skip this many tasks first (after `tasks`/`match`)."""
    limit: int | None = Field(None, ge=1)
    """Then take at most this many."""
    options: dict[str, Any] = Field(default_factory=dict)
    """Keyword options of the environment (e.g. `user_model` for tau-*)."""

    def select(self, tasks: list[Any]) -> list[Any]:
        if self.tasks is not None:
            by_id = {t.id: t for t in tasks}
            missing = [i for i in self.tasks if i not in by_id]
            if missing:
                raise ConfigError(f"environment {self.name!r} has no task(s) {', '.join(missing[:5])}")
            tasks = [by_id[i] for i in self.tasks]
        if self.match is not None:
            tasks = [t for t in tasks if self.match in t.id]
        tasks = tasks[self.offset:]
        return tasks[:self.limit] if self.limit is not None else tasks


class Experiment(_Data):
    """A whole eval: the matrix and how to run it."""

    name: str | None = None
    agents: list[Any] = Field(min_length=1)
    """Each an agent text (`cot`, `agentcoder@code`) or a spec mapping with an optional `label`."""
    envs: list[EnvEntry | str] = Field(min_length=1)
    models: list[str] = Field(min_length=1)
    seeds: int = Field(1, ge=1)
    concurrency: int = Field(4, ge=1)
    workers: int | None = Field(None, ge=1)
    """Processes of this machine that run the samples, each its share of `concurrency`; 1 runs them in
    the eval's own process. Default: the number of cores (`eval.workers.default_workers`)."""
    retries: int = Field(2, ge=0)
    max_infra_errors: int = Field(20, ge=0)
    budgets: BudgetSpec | None = None
    """Limits of each sample's run."""
    model_options: ModelOptions = Field(default_factory=dict)
    """Settings of the models' clients (`AgentSpec.model_options`, `--model-opt`), for every agent that
    gives none of its own: e.g. `stream: false` to read each reply whole, `max_concurrency: 256`."""
    mcp: list[McpServerSpec] = Field(default_factory=list)
    """MCP servers whose tools every agent gets (an agent's own `mcp:` replaces them); each sample's run starts
    its own and stops them when it ends, as an environment's episode is its own."""
    baseline: str | None = None
    """The label of the agent the others are compared with, pair by pair."""
    anchor: bool = True
    """Add a matched single-agent anchor (same model and budget) when every agent is a multi-agent
    recipe (`eval.anchor`); it is the baseline unless one is named. False leaves it out."""
    scoring: SandboxSpec = Field(default_factory=SandboxSpec)
    """The sandbox the benchmarks' own tests run in."""
    backend: Literal["local", "ray"] = "local"
    out: str | None = None

    @field_validator("envs")
    @classmethod
    def _entries(cls, value: list[EnvEntry | str]) -> list[EnvEntry | str]:
        return [EnvEntry(name=v) if isinstance(v, str) else v for v in value]

    @field_validator("models")
    @classmethod
    def _models(cls, value: list[str]) -> list[str]:
        if any(not m.strip() for m in value):
            raise ValueError("a model string is empty")
        return value


@dataclass
class Plan:
    """An experiment resolved: spec templates by label, environment entries, and the rest."""

    experiment: Experiment
    agents: dict[str, AgentSpec] = field(default_factory=dict)
    env_entries: list[EnvEntry] = field(default_factory=list)
    anchor: dict[str, Any] | None = None
    """The matched single-agent anchor the plan added (label, agent, the teams it anchors), or None."""

    @property
    def labels(self) -> list[str]:
        return list(self.agents)


def default_label(agent_text: str, options: dict[str, Any] | None = None) -> str:
    """`reflexion@tests`, or `reflexion@tests[max_trials=2]` when options are given (sorted keys)."""
    if not options:
        return agent_text
    shown = ",".join(f"{k}={_short(v)}" for k, v in sorted(options.items()))
    return f"{agent_text}[{shown}]"


def _short(value: Any) -> str:
    import orjson

    return value if isinstance(value, str) else orjson.dumps(value).decode()


def plan(experiment: Experiment, *, where: str = "the experiment", lines: Any = None) -> Plan:
    """Resolve agents into spec templates (validated) and check the baseline names one of them."""
    result = Plan(experiment, env_entries=[e for e in experiment.envs if isinstance(e, EnvEntry)])
    for i, entry in enumerate(experiment.agents):
        data = {"agent": entry} if isinstance(entry, str) else dict(entry) if isinstance(entry, dict) else None
        if data is None:
            raise error_at(where, lines, ("agents", i), "an agent is a name (cot, agentcoder@code) or a mapping")
        label = data.pop("label", None)
        text = data.get("agent")
        if not isinstance(text, str):
            raise error_at(where, lines, ("agents", i, "agent"), "required: the agent or recipe name")
        name, preset = split_agent(text)
        data["agent"] = name
        if preset is not None:
            if data.get("preset") not in (None, preset):
                raise error_at(where, lines, ("agents", i, "preset"), f"differs from the preset in {text!r}")
            data["preset"] = preset
        if "model" in data:
            raise error_at(where, lines, ("agents", i, "model"), "models are the matrix's `models:`; per role use `models:`")
        data["model"] = UNSET_MODEL
        if experiment.mcp and "mcp" not in data:
            data["mcp"] = [server.model_dump(exclude_defaults=True) for server in experiment.mcp]
        if experiment.budgets is not None and "budgets" not in data:
            data["budgets"] = experiment.budgets.model_dump(exclude_none=True)
        if experiment.model_options and "model_options" not in data:
            data["model_options"] = dict(experiment.model_options)
        try:
            spec = AgentSpec.model_validate(data)
        except ValidationError as exc:
            err = first_error(exc)
            message = unknown_key(AgentSpec, err["loc"]) if err["type"] == "extra_forbidden" else err["msg"]
            raise error_at(where, lines, ("agents", i, *err["loc"]), message) from None
        label = label or default_label(text, spec.options or None)
        if label in result.agents:
            raise error_at(where, lines, ("agents", i), f"two agents are labelled {label!r}; give each a `label:`")
        result.agents[label] = spec
    if experiment.anchor:
        from .anchor import plan_anchor

        try:
            found = plan_anchor(result.agents, [e.name for e in result.env_entries])
        except ConfigError as exc:
            raise error_at(where, lines, ("anchor",), str(exc)) from None
        if found is not None:
            label, spec, result.anchor = found
            result.agents = {label: spec, **result.agents}
            if experiment.baseline is None:
                result.experiment = experiment.model_copy(update={"baseline": label})
    if experiment.baseline is not None and experiment.baseline not in result.agents:
        raise error_at(where, lines, ("baseline",), f"{experiment.baseline!r} is not one of the agents' labels "
                     f"({', '.join(result.agents)})")
    return result


# --- files ------------------------------------------------------------------------------------


def read_yaml(path: Path) -> tuple[Any, Any]:
    """The data of a YAML (or JSON) file and its node tree (for line numbers); typed errors naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it: {exc}") from None
    try:
        return yaml.safe_load(text), yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def load_experiment(path: Path, *, anchor: bool | None = None) -> Plan:
    """Read and validate an experiment file; every error names the file, line and key.
    `anchor=False` (`--no-anchor`) overrides the file's `anchor:`."""
    data, lines = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: an experiment is a mapping with agents, envs and models")
    if "pipeline" in data and "agents" not in data:
        raise ConfigError(f"{path} is a synthesis file (it names a pipeline): run it with `agentzoo synth {path}`")
    if anchor is not None:
        data = {**data, "anchor": anchor}
    try:
        experiment = Experiment.model_validate(data)
    except ValidationError as exc:
        err = first_error(exc)
        loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in ("EnvEntry", "str")))
        message = unknown_key(Experiment, err["loc"]) if err["type"] == "extra_forbidden" else err["msg"]
        raise error_at(str(path), lines, loc, message) from None
    return plan(experiment, where=str(path), lines=lines)


def error_at(where: str, lines: Any, loc: tuple[Any, ...], message: str) -> ConfigError:
    line = _line_of(lines, loc)
    key = ".".join(str(p) for p in loc) or "(top level)"
    return ConfigError(f"{where}{f':{line}' if line else ''}: {key}: {message}")


def _line_of(node: Any, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest node `loc` reaches in a composed YAML tree."""
    if node is None:
        return None
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == part), None)
            if found is None:
                break
            key_node, node = found
            line = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
