"""Reports of an eval folder (placeholder until the full report lands): per-sample rows as JSONL."""

from __future__ import annotations

from pathlib import Path

from .. import _json
from .store import ResultStore


def write_reports(out: Path) -> list[Path]:
    store = ResultStore(out / "results.db")
    try:
        rows = list(store.rows())
    finally:
        store.close()
    path = out / "samples.jsonl"
    path.write_text("".join(_json.dumps_str(r) + "\n" for r in rows), encoding="utf-8")
    return [path]
