"""tau-bench's data hash and reward, by upstream's rules (tau_bench/envs/base.py at commit 59a200c).

- The data hash is the SHA-256 hex digest of `str(to_hashable(data))`, where `to_hashable` turns
  a dict into a tuple of (key, value) pairs sorted by key, a list into a tuple, a set into a
  sorted tuple, and leaves anything else alone.
- The reward is 1.0 when (a) the data hash after the episode equals the hash after replaying the
  task's gold actions (all but the terminating tools) on fresh data, and (b) each of the task's
  required outputs occurs in some message the agent sent to the user, compared as
  `output.lower() in message.lower().replace(",", "")`; otherwise 0.0.
"""

from __future__ import annotations

import functools
import hashlib
import json
import marshal
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .domain import Task, call_tool, fresh_data, terminate_tools
from .tools import Data

Hashable = Any


def to_hashable(item: Any) -> Hashable:
    """Upstream's canonical form of a JSON value: nested tuples, dict pairs sorted by key."""
    if isinstance(item, dict):
        return tuple((key, to_hashable(value)) for key, value in sorted(item.items()))
    if isinstance(item, list):
        return tuple(to_hashable(element) for element in item)
    if isinstance(item, set):
        return tuple(sorted(to_hashable(element) for element in item))
    return item


def data_hash_reference(data: Any) -> str:
    """The data hash computed literally as upstream does (slow on a whole database)."""
    return hashlib.sha256(str(to_hashable(data)).encode("utf-8")).hexdigest()


def data_hash(data: Any) -> str:
    """The data hash, equal to `data_hash_reference(data)`, in milliseconds rather than 0.2-0.4 s.

    The text to hash is assembled from the texts of runs of consecutive records (orders, users,
    flights: the values two levels down, in sorted key order), each remembered under the
    `marshal` bytes of the run. Equal bytes mean equal values of the same types (1, 1.0 and True
    differ), hence the same text; a run marshal cannot write (objects, subclasses) is converted
    directly. After an episode most runs are unchanged, so a hash costs one serialisation of the
    data and the SHA-256 itself.
    """
    text = _text(data, 0) if type(data) is dict else str(to_hashable(data))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_RUN = 16
_RUNS: dict[bytes, str] = {}
_RUNS_BUDGET = 64_000_000  # characters of keys and texts kept, then the memo starts over
_runs_size = 0


def _text(value: Any, depth: int) -> str:
    """`repr(to_hashable(value))` (== its str for the tuple a dict becomes)."""
    if type(value) is not dict:
        return repr(to_hashable(value))
    items = sorted(value.items())
    if depth == 0:
        body = ", ".join([f"({key!r}, {_text(item, 1)})" for key, item in items])
    else:
        body = ", ".join([_run_text(tuple(items[i:i + _RUN])) for i in range(0, len(items), _RUN)])
    return f"({body},)" if len(items) == 1 else f"({body})"


def _run_text(run: tuple[tuple[Any, Any], ...]) -> str:
    """The texts of the (key, record) pairs of `run`, joined by ", "."""
    global _runs_size
    try:
        key = marshal.dumps(run)
    except ValueError:  # not plain data (an object, a subclass): no memo
        return ", ".join([repr((k, to_hashable(v))) for k, v in run])
    text = _RUNS.get(key)
    if text is None:
        text = ", ".join([repr((k, to_hashable(v))) for k, v in run])
        if _runs_size > _RUNS_BUDGET:
            _RUNS.clear()
            _runs_size = 0
        _RUNS[key] = text
        _runs_size += len(key) + len(text)
    return text


def gold_data_hash(task: Task) -> str:
    """The hash of fresh data after the task's gold actions (terminating tools skipped); cached."""
    actions = json.dumps([[a.name, a.kwargs] for a in task.actions], sort_keys=True)
    return _gold_data_hash(task.domain, actions)


@functools.lru_cache(maxsize=4096)
def _gold_data_hash(domain: str, actions: str) -> str:
    data = fresh_data(domain)
    skip = terminate_tools(domain)
    for name, kwargs in json.loads(actions):
        if name not in skip:
            call_tool(domain, data, name, kwargs)
    return data_hash(data)


def output_found(output: str, messages: Iterable[str]) -> bool:
    """Whether `output` occurs in one of `messages` as upstream matches it."""
    wanted = output.lower()
    return any(wanted in message.lower().replace(",", "") for message in messages)


@dataclass(frozen=True, slots=True)
class RewardInfo:
    """The reward and why."""

    reward: float
    data_hash: str
    gold_data_hash: str
    outputs: dict[str, bool] = field(default_factory=dict)
    """Each required output: whether the agent said it to the user."""

    @property
    def data_matches(self) -> bool:
        return self.data_hash == self.gold_data_hash


def reward_info(task: Task, data: Data, outputs_sent_to_user: Iterable[str], *,
                gold_hash: str | None = None) -> RewardInfo:
    """`reward(...)` with its parts: both hashes and which outputs were found."""
    messages = [outputs_sent_to_user] if isinstance(outputs_sent_to_user, str) else list(outputs_sent_to_user)
    found = {output: output_found(output, messages) for output in task.outputs}
    final = data_hash(data)
    gold = gold_data_hash(task) if gold_hash is None else gold_hash
    ok = final == gold and all(found.values())
    return RewardInfo(reward=1.0 if ok else 0.0, data_hash=final, gold_data_hash=gold, outputs=found)


def reward(task: Task, data: Data, outputs_sent_to_user: Iterable[str], *, gold_hash: str | None = None) -> float:
    """1.0 iff the data equals the gold actions' data (by hash) and every required output was said.

    `outputs_sent_to_user`: the texts of the agent's messages to the user (not its tool calls).
    `gold_hash`: the hash of the gold actions' data if known already (golden_replay_*.jsonl
    records it as `gt_data_hash`); by default it is computed by replaying them (`gold_data_hash`).
    """
    return reward_info(task, data, outputs_sent_to_user, gold_hash=gold_hash).reward
