"""Fine-tuning data from an eval: the trajectories of the samples that scored well enough.

AgentGym and AgentTuning keep only successful trajectories; `min_reward=1.0` (the default of
`agentzoo export RESULTS_DIR`) does the same. Each record is `agentzoo.export.export_run`'s,
read from the folder's `journal.db`, with the sample (key, env, task, agent, model, seed,
reward, success) added to its `metadata`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, JournalError, RunNotFoundError
from ..export import FORMATS, export_run
from ..runtime.journal import Journal, journal_missing
from .report import INFRA, load_rows
from .store import journal_in

SAMPLE_FIELDS = ("key", "env", "task", "agent", "model", "seed", "reward", "success")


@dataclass
class ExportCounts:
    exported: int = 0
    below_min_reward: int = 0
    infra_errors: int = 0
    no_trajectory: list[str] = field(default_factory=list)  # keys of samples with no model call in the scope


def is_results_dir(path: str | Path) -> bool:
    return Path(path).is_dir() and (Path(path) / "results.db").is_file()


def export_eval(folder: Path, fmt: str, min_reward: float = 1.0, scope: str = "",
                journal_path: str | Path | None = None, counts: ExportCounts | None = None) -> Iterator[dict[str, Any]]:
    """Records of every sample of `folder` with reward ≥ `min_reward`, in key order.

    Samples that failed on infrastructure have no trajectory of their own and are skipped; so is a
    sample whose run has no successful model call in `scope` (its key goes to `counts.no_trajectory`).
    """
    if fmt not in FORMATS:
        raise ConfigError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    counts = counts if counts is not None else ExportCounts()
    rows, meta = load_rows(folder)
    journal_path = journal_in(folder, meta, journal_path)
    if journal_missing(journal_path):
        raise ConfigError(f"{folder}: no journal at {journal_path} to read the trajectories from")
    with Journal(journal_path) as journal:
        for row in sorted(rows, key=lambda r: r["key"]):
            if row.get("status") == INFRA or not row.get("run_id"):
                counts.infra_errors += 1
                continue
            if float(row.get("reward") or 0.0) < min_reward:
                counts.below_min_reward += 1
                continue
            try:
                record = export_run(journal, row["run_id"], fmt, scope)
            except RunNotFoundError:
                raise
            except JournalError:  # no successful model call in that scope: nothing to learn from
                counts.no_trajectory.append(row["key"])
                continue
            record["metadata"].update({k: row.get(k) for k in SAMPLE_FIELDS})
            counts.exported += 1
            yield record
