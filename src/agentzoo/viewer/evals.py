"""An eval results folder as the viewer shows it: the summary's tables and plots, the samples
(filtered by agent, environment, model, seed and outcome, each linked to its run), and a paired
comparison of each agent against a baseline on the same tasks and seeds.

The summary is computed by `eval.report` from `results.db` (or read from `summary.json` when only
the reports were kept), exactly as `agentzoo eval` wrote it; it is cached until results.db changes.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from .. import _json
from ..errors import ConfigError, CorruptResultsError

OUTCOMES = ("success", "failure", "infra_error")
SAMPLES_PER_PAGE = 100


@dataclass
class SampleFilter:
    agent: str = ""
    env: str = ""
    model: str = ""
    seed: str = ""
    outcome: str = ""
    """`success`, `failure` (scored, not a success) or `infra_error`."""

    def keeps(self, row: dict[str, Any]) -> bool:
        if self.agent and row.get("agent") != self.agent:
            return False
        if self.env and row.get("env") != self.env:
            return False
        if self.model and row.get("model") != self.model:
            return False
        if self.seed and str(row.get("seed")) != self.seed:
            return False
        return not self.outcome or outcome_of(row) == self.outcome


def outcome_of(row: dict[str, Any]) -> str:
    if row.get("status") == "infra_error":
        return "infra_error"
    return "success" if row.get("success") else "failure"


class EvalFolder:
    """One results folder (the `--out` of `agentzoo eval`)."""

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.path = Path(path)
        self.name = name or str(self.path)
        """What pages call it: its path, or the bundle it was unpacked from."""
        if not ((self.path / "results.db").is_file() or (self.path / "summary.json").is_file()):
            raise ConfigError(f"{self.path}: neither results.db nor summary.json; is it the --out folder of an "
                              "`agentzoo eval`?")
        self._lock = threading.Lock()
        self._cache: tuple[Any, dict[str, Any], list[dict[str, Any]]] | None = None

    @property
    def journal_path(self) -> Path:
        """Its runs' journal: the folder's own, or the file `eval --journal` wrote them to. Runs in a PostgreSQL
        journal are a `ConfigError` that says how to see them."""
        from ..eval.store import runs_journal

        try:
            return Path(runs_journal(self.path))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (the viewer reads files: `agentzoo bundle {self.path} -o runs.azb --journal "
                              "URL`, then `agentzoo view runs.azb`)") from None

    def plots(self) -> list[str]:
        """The plot files the report wrote (`plot_<env>.png`), by name."""
        return sorted(p.name for p in self.path.glob("plot_*.png") if p.is_file())

    def load(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """(summary, rows), computed again only when results.db (or the reports) changed."""
        stamp = self._stamp()
        with self._lock:
            if self._cache is None or self._cache[0] != stamp:
                self._cache = (stamp, *self._read())
            return self._cache[1], self._cache[2]

    def _stamp(self) -> tuple[Any, ...]:
        out = []
        for name in ("results.db", "results.db-wal", "summary.json", "samples.jsonl"):
            try:
                st = (self.path / name).stat()
                out.append((name, st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((name, None, None))
        return tuple(out)

    def _read(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        from ..eval.report import load_rows, load_summary, summarize

        if (self.path / "results.db").is_file():
            rows, meta = load_rows(self.path)
            return summarize(rows, meta), rows
        summary = load_summary(self.path)
        return summary, _jsonl_rows(self.path / "samples.jsonl")


def _jsonl_rows(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    rows = []
    for number, line in enumerate(path.read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = _json.loads(line)
        except orjson.JSONDecodeError as exc:
            raise CorruptResultsError(f"{path}: line {number} is not JSON ({exc})") from None
        if isinstance(row, dict):
            rows.append(row)
    return rows


def choices(rows: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The values each filter can take, in order of appearance."""
    out: dict[str, list[str]] = {"agent": [], "env": [], "model": [], "seed": []}
    for row in rows:
        for key, values in out.items():
            value = row.get(key)
            if value is not None and str(value) not in values:
                values.append(str(value))
    return out


# --- paired comparison -------------------------------------------------------------------------

def paired(rows: list[dict[str, Any]], baseline: str) -> list[dict[str, Any]]:
    """Each agent against `baseline` on the samples both ran (same env, model, task and seed), both scored.

    Per pair of agents: how many samples both solved, only one solved, neither solved; the
    difference in success rate on those samples; and an exact two-sided sign test on the samples
    where they disagree (McNemar's exact test): the chance of a split at least this uneven if
    neither agent were better.
    """
    scored = [r for r in rows if r.get("status") != "infra_error"]
    base = {(r["env"], r["model"], r["task"], r.get("seed")): bool(r.get("success"))
            for r in scored if r.get("agent") == baseline}
    groups: dict[tuple[str, str, str], list[tuple[bool, bool]]] = {}
    for r in scored:
        if r.get("agent") == baseline:
            continue
        key = (r["env"], r["model"], r["task"], r.get("seed"))
        if key in base:
            groups.setdefault((r["agent"], r["env"], r["model"]), []).append((bool(r.get("success")), base[key]))
    out = []
    for (agent, env, model), pairs in groups.items():
        both = sum(1 for a, b in pairs if a and b)
        only_agent = sum(1 for a, b in pairs if a and not b)
        only_base = sum(1 for a, b in pairs if b and not a)
        n = len(pairs)
        out.append({"agent": agent, "env": env, "model": model, "pairs": n, "both": both,
                    "only_agent": only_agent, "only_baseline": only_base,
                    "neither": n - both - only_agent - only_base,
                    "difference": (only_agent - only_base) / n if n else None,
                    "p_value": sign_test(only_agent, only_base)})
    return sorted(out, key=lambda g: (g["env"], g["model"], g["agent"]))


def sign_test(wins: int, losses: int) -> float | None:
    """Exact two-sided binomial test of `wins` against `losses` at p = 1/2 (None with no disagreement)."""
    n = wins + losses
    if n == 0:
        return None
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)
