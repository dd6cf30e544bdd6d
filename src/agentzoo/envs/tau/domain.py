"""Loading a tau-bench domain: its database, policy, tool schemas and tasks.

The files live in `agentzoo/envs/data/tau_bench/<domain>/` (see SOURCE.txt there); a file may be
stored gzipped (`name.gz`) and is read either way. The database is read once per process and
handed out as a fresh deep copy per episode (`Domain.fresh_data()`).
"""

from __future__ import annotations

import copy
import functools
import gc
import gzip
import json
import marshal
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from importlib.abc import Traversable
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from ...tools import ToolSet
from . import airline, retail
from .tools import Data, TauTool, make_tools

DomainName = Literal["retail", "airline"]

_MODULES: dict[str, ModuleType] = {"retail": retail, "airline": airline}
_DATABASES = {"retail": ("orders", "products", "users"), "airline": ("flights", "reservations", "users")}

UNKNOWN_ACTION = "Unknown action {name}"
"""Upstream's observation for an action that names no tool."""


@dataclass(frozen=True, slots=True)
class Action:
    """One tool call of a gold solution."""

    name: str
    kwargs: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "kwargs": self.kwargs}


@dataclass(frozen=True, slots=True)
class Task:
    """One tau-bench task: what the simulated user wants, and what a correct agent does and says."""

    id: str
    """`<domain>/<split>/<index>`, e.g. "retail/test/0"."""
    domain: str
    split: str
    """The task file's split ("test", "dev"), or its file name without suffix for a custom file."""
    index: int
    """`task_index` in the file."""
    user_id: str
    instruction: str
    """The user simulator's instruction: who the user is, what they want, how they behave."""
    actions: tuple[Action, ...]
    """The gold tool calls; the data they leave behind is the target of the episode."""
    outputs: tuple[str, ...]
    """Texts the agent must say to the user (matched case-insensitively, commas ignored)."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Any other fields of the task's line."""


def _files(domain: str) -> Traversable:
    return resources.files("agentzoo.envs").joinpath("data", "tau_bench", domain)


def _read_bytes(folder: Traversable | Path, name: str) -> bytes:
    """`folder/name`, or `folder/name.gz` decompressed."""
    plain = folder / name
    if plain.is_file():
        return plain.read_bytes()
    packed = folder / (name + ".gz")
    if packed.is_file():
        return gzip.decompress(packed.read_bytes())
    raise FileNotFoundError(f"no {name} (nor {name}.gz) in {folder}")


def _read_jsonl(raw: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in raw.decode("utf-8").splitlines() if line.strip()]


def _check_domain(name: str) -> None:
    if name not in _MODULES:
        raise ValueError(f"unknown tau-bench domain {name!r}; there are {sorted(_MODULES)}")


@functools.cache
def _pristine(domain: str) -> bytes:
    """The domain's database, parsed once, kept as a compact snapshot to copy from."""
    folder = _files(domain)
    data = {part: json.loads(_read_bytes(folder, f"{part}.json")) for part in _DATABASES[domain]}
    # marshal: a faithful copy of plain JSON values (types, key order), and the fastest to load.
    return marshal.dumps(data)


def fresh_data(domain: str) -> Data:
    """A new, independent copy of the domain's initial database."""
    _check_domain(domain)
    snapshot = _pristine(domain)
    # Hundreds of thousands of new containers at once set off the cyclic collector again and
    # again (it finds nothing here): loading takes about half as long with it paused.
    collecting = gc.isenabled()
    gc.disable()
    try:
        data: Data = marshal.loads(snapshot)
    finally:
        if collecting:
            gc.enable()
    return data


def tool_functions(domain: str) -> dict[str, Callable[..., str]]:
    """The domain's tools as plain functions `fn(data, **arguments) -> str`, by name."""
    _check_domain(domain)
    return dict(_MODULES[domain].TOOLS.functions)


def write_tools(domain: str) -> frozenset[str]:
    """Names of the domain's tools that may change the data."""
    _check_domain(domain)
    return frozenset(_MODULES[domain].TOOLS.writes)


def call_tool(domain: str, data: Data, name: str, kwargs: Mapping[str, Any]) -> str:
    """Run one action on `data` as upstream's `Env.step` does, and return the observation.

    The arguments are not validated (gold actions are trusted); they are copied, so the data
    never shares objects with the caller's `kwargs`.
    """
    _check_domain(domain)
    fn = _MODULES[domain].TOOLS.functions.get(name)
    if fn is None:
        return UNKNOWN_ACTION.format(name=name)
    return fn(data, **copy.deepcopy(dict(kwargs)))


def _task(domain: str, split: str, row: Mapping[str, Any], position: int) -> Task:
    known = {"task_index", "user_id", "instruction", "actions", "outputs"}
    index = row.get("task_index", position)
    return Task(id=f"{domain}/{split}/{index}", domain=domain, split=split, index=index,
                user_id=row.get("user_id", ""), instruction=row["instruction"],
                actions=tuple(Action(a["name"], dict(a.get("kwargs", {}))) for a in row.get("actions", [])),
                outputs=tuple(row.get("outputs", [])),
                extra={k: v for k, v in row.items() if k not in known})


@dataclass(frozen=True, slots=True)
class Domain:
    """A tau-bench domain: policy, tool schemas, tasks, and a fresh database per episode."""

    name: str
    split: str
    policy: str
    """wiki.md: the agent's policy, upstream's system prompt."""
    tool_schemas: tuple[dict[str, Any], ...]
    """tool_schemas.json: the OpenAI tools list the model sees."""
    tasks: tuple[Task, ...]
    terminate_tools: frozenset[str]
    """Tools that end the episode (env_meta.json: transfer_to_human_agents)."""
    rules: tuple[str, ...]
    """env_meta.json's rules (upstream's RULES; retail only)."""

    def fresh_data(self) -> Data:
        """A new, independent copy of the initial database: one per episode."""
        return fresh_data(self.name)

    def tools(self, data: Data, *, max_result_chars: int | None = None) -> list[TauTool]:
        """The domain's tools bound to `data`, as agentzoo tools, in tool_schemas.json order.

        Put them in a `ToolSet(..., max_result_chars=...)` large enough for the observations
        (a one-stop flight search can run to 25,000 characters), or use `toolset(data)`.
        """
        return [t.bind(data, max_result_chars=max_result_chars) for t in _unbound_tools(self.name)]

    def toolset(self, data: Data, *, max_result_chars: int = 100_000) -> ToolSet:
        """`ToolSet(self.tools(data), ...)` with a result cap above the largest observations
        (a one-stop flight search can exceed ToolSet's default of 20,000 characters)."""
        return ToolSet(self.tools(data), max_result_chars=max_result_chars)

    def call(self, data: Data, name: str, kwargs: Mapping[str, Any]) -> str:
        """Run one action on `data` (no argument validation) and return the observation."""
        return call_tool(self.name, data, name, kwargs)

    def replay(self, actions: Iterable[Action], data: Data | None = None) -> tuple[Data, list[str]]:
        """Run `actions` in order on `data` (a fresh copy if None): the data and each observation."""
        data = self.fresh_data() if data is None else data
        return data, [self.call(data, action.name, action.kwargs) for action in actions]

    def task(self, index: int) -> Task:
        """The task whose `task_index` is `index`."""
        for task in self.tasks:
            if task.index == index:
                return task
        raise KeyError(f"{self.name}/{self.split} has no task with index {index}")


@functools.cache
def _static(domain: str) -> tuple[str, tuple[dict[str, Any], ...], dict[str, Any]]:
    folder = _files(domain)
    policy = _read_bytes(folder, "wiki.md").decode("utf-8")
    schemas = tuple(json.loads(_read_bytes(folder, "tool_schemas.json")))
    meta = json.loads(_read_bytes(folder, "env_meta.json"))
    return policy, schemas, meta


@functools.cache
def _unbound_tools(domain: str) -> tuple[TauTool, ...]:
    return tuple(make_tools(_MODULES[domain].TOOLS, _static(domain)[1]))


def terminate_tools(name: str) -> frozenset[str]:
    """Tools that end an episode (env_meta.json); the gold replay of the reward skips them."""
    _check_domain(name)
    return frozenset(_static(name)[2].get("terminate_tools", ()))


def available_splits(name: str) -> list[str]:
    """The task splits packaged for a domain (retail: dev, test; airline: test)."""
    _check_domain(name)
    found = {entry.name.split(".")[0][len("tasks_"):] for entry in _files(name).iterdir()
             if entry.name.startswith("tasks_") and ".jsonl" in entry.name}
    return sorted(found)


def load_domain(name: DomainName, tasks_file: str | Path | None = None, split: str = "test") -> Domain:
    """Load a domain with the tasks of a packaged split, or of `tasks_file` (same JSONL format).

    With `tasks_file`, `split` is ignored and the tasks' split is the file's name without suffix.
    """
    _check_domain(name)
    policy, schemas, meta = _static(name)
    if tasks_file is None:
        if split not in available_splits(name):
            raise ValueError(f"tau-bench {name} has no split {split!r}; packaged: {available_splits(name)}")
        rows = _read_jsonl(_read_bytes(_files(name), f"tasks_{split}.jsonl"))
    else:
        path = Path(tasks_file)
        raw = path.read_bytes()
        rows = _read_jsonl(gzip.decompress(raw) if path.suffix == ".gz" else raw)
        split = path.name.split(".")[0]
    tasks = tuple(_task(name, split, row, i) for i, row in enumerate(rows))
    return Domain(name=name, split=split, policy=policy, tool_schemas=schemas, tasks=tasks,
                  terminate_tools=frozenset(meta.get("terminate_tools", ())), rules=tuple(meta.get("rules", ())))


def golden_replay(name: DomainName, split: str = "test") -> list[dict[str, Any]]:
    """golden_replay_<split>.jsonl: per task, each gold action's expected observation, and the
    expected final data hash (`gt_data_hash`). The conformance oracle of the tools."""
    _check_domain(name)
    return _read_jsonl(_read_bytes(_files(name), f"golden_replay_{split}.jsonl"))


__all__ = ["Action", "Domain", "DomainName", "Task", "available_splits", "call_tool", "fresh_data",
           "golden_replay", "load_domain", "terminate_tools", "tool_functions", "write_tools"]
