"""A damaged eval results folder: a typed error naming the file and the rows, the file untouched by
a failed open, the rows that are fine still read, and a rerun of the same eval that runs exactly
the unreadable samples again and repairs the folder."""

from __future__ import annotations

import sqlite3
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from agentzoo.envs.base import Task
from agentzoo.errors import CorruptResultsError
from agentzoo.eval.harness import EvalConfig, run_samples
from agentzoo.eval.matrix import Sample
from agentzoo.eval.report import load_rows, write_reports
from agentzoo.eval.store import ResultStore

SAMPLES = [Sample("toy", Task("toy", f"t{i}", f"say {i}", str(i)), "echo", "scripted:x", 0) for i in range(4)]


def row_of(sample: Sample) -> dict:
    return {"key": sample.key, "env": sample.env, "task": sample.task.id, "agent": sample.agent,
            "model": sample.model, "seed": sample.seed, "run_id": f"run-{sample.task.id}", "reward": 1.0,
            "success": True, "score": {}, "answer": sample.task.gold, "status": "finished", "error": None,
            "input_tokens": 3, "output_tokens": 2, "cost_usd": 0.0, "unpriced_calls": 1, "model_calls": 1,
            "tool_calls": 0, "wall_seconds": 0.01, "model_latencies": [0.01], "scopes": {}}


class Backend:
    """Runs a sample by writing its row; remembers which samples it ran."""

    def __init__(self):
        self.ran: list[str] = []

    @asynccontextmanager
    async def __call__(self, todo):
        async def attempt(sample):
            self.ran.append(sample.key)
            return row_of(sample)
        yield attempt


async def finished_eval(out: Path) -> list[dict]:
    backend = Backend()
    await run_samples(SAMPLES, EvalConfig(out=out), backend, meta={"envs": ["toy"]})
    assert len(backend.ran) == len(SAMPLES)
    rows, _ = load_rows(out)
    return rows


def damage(path: Path, sql: str, *params) -> None:
    db = sqlite3.connect(path)
    db.execute(sql, params)
    db.commit()
    db.close()


# --- files that are not results databases --------------------------------------------------


def _journal(path: Path) -> None:
    from agentzoo import Journal

    Journal(path).close()


NOT_RESULTS = [
    pytest.param(lambda p: p.write_bytes(b""), "is an empty file", id="empty-file"),
    pytest.param(lambda p: p.write_text("key,row\n"), "not a readable SQLite database", id="csv-file"),
    pytest.param(lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\x00" * 90), "not a readable SQLite database",
                 id="bad-header"),
    pytest.param(_journal, "not an agentzoo results database", id="a-journal"),
]


@pytest.mark.parametrize("make, why", NOT_RESULTS)
def test_a_results_db_that_is_not_one_is_a_typed_error_and_is_left_as_it_was(tmp_path, make, why):
    path = tmp_path / "results.db"
    make(path)
    before = path.read_bytes()
    with pytest.raises(CorruptResultsError, match=why) as caught:
        load_rows(tmp_path)
    assert str(path) in str(caught.value)
    with pytest.raises(CorruptResultsError, match=why):
        ResultStore(path)
    assert path.read_bytes() == before


async def test_a_results_db_without_its_samples_table_is_named_damaged(tmp_path):
    await finished_eval(tmp_path)
    damage(tmp_path / "results.db", "ALTER TABLE samples RENAME TO old_samples")
    with pytest.raises(CorruptResultsError, match="damaged: no table 'samples'"):
        load_rows(tmp_path)


async def test_a_truncated_results_db_is_a_typed_error(tmp_path):
    backend = Backend()
    many = [Sample("toy", Task("toy", f"t{i}", "x" * 2000, str(i)), "echo", "m", 0) for i in range(200)]
    await run_samples(many, EvalConfig(out=tmp_path), backend)
    path = tmp_path / "results.db"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptResultsError, match=r"results\.db") as caught:
        load_rows(tmp_path)
    assert ".recover" in str(caught.value)


# --- damaged rows among good ones ----------------------------------------------------------

BAD_ROWS = [
    ("'{\"key\": '", "is not JSON"),
    ("'[1, 2, 3]'", "is a JSON list, not an object"),
    ("json_remove(row, '$.agent')", "field 'agent' is null, not text"),
    ("json_set(row, '$.reward', 'lots')", "field 'reward' is \"lots\", not int or float"),
    ("json_set(row, '$.success', 'yes')", "field 'success' is \"yes\", not bool"),
    ("json_set(row, '$.error', 'boom')", "field 'error' is \"boom\", not dict"),
    ("json_set(row, '$.scopes', json('{\"\": 5}'))", "scope '' of field 'scopes' is 5"),
    ("json_set(row, '$.key', 'another')", "says its key is 'another'"),
    ("CAST(X'7B22FF' AS TEXT)", "is not JSON"),
    ("X'7B7D'", "it is bytes, not JSON text"),
]


@pytest.mark.parametrize("value, why", BAD_ROWS, ids=[w.split()[0] + str(i) for i, (_, w) in enumerate(BAD_ROWS)])
async def test_damaged_rows_are_named_the_others_read_and_a_rerun_repairs_them(tmp_path, value, why):
    rows = await finished_eval(tmp_path)
    bad = SAMPLES[1].key
    damage(tmp_path / "results.db", f"UPDATE samples SET row={value} WHERE key=?", bad)
    good = [r for r in rows if r["key"] != bad]

    with pytest.raises(CorruptResultsError, match="1 unreadable record") as caught:
        load_rows(tmp_path)
    assert why in str(caught.value) and repr(bad) in str(caught.value) and "rerun" in str(caught.value)
    assert caught.value.rows == good  # nothing that was fine is lost
    with pytest.raises(CorruptResultsError):
        write_reports(tmp_path)  # a report without the row would be wrong without saying so

    store = ResultStore(tmp_path / "results.db")
    problems: list[str] = []
    assert list(store.rows(problems)) == good and len(problems) == 1 and why in problems[0]
    assert set(store.done()) == {r["key"] for r in good}
    store.close()

    backend = Backend()  # the same eval again: only the unreadable sample runs
    progress = await run_samples(SAMPLES, EvalConfig(out=tmp_path), backend, meta={"envs": ["toy"]})
    assert backend.ran == [bad] and progress.skipped == len(SAMPLES) - 1
    repaired, meta = load_rows(tmp_path)
    assert sorted(r["key"] for r in repaired) == sorted(s.key for s in SAMPLES) and meta == {"envs": ["toy"]}
    write_reports(tmp_path)


async def test_damaged_meta_is_named_and_the_rows_are_kept(tmp_path):
    rows = await finished_eval(tmp_path)
    damage(tmp_path / "results.db", "UPDATE meta SET value='{envs' WHERE name='eval'")
    with pytest.raises(CorruptResultsError, match="'eval' meta is not JSON") as caught:
        load_rows(tmp_path)
    assert caught.value.rows == rows
    await run_samples(SAMPLES, EvalConfig(out=tmp_path), Backend(), meta={"envs": ["toy"]})  # rewrites it
    assert load_rows(tmp_path) == (rows, {"envs": ["toy"]})


@pytest.mark.parametrize("text, why", [("{not json", "is not JSON"), ('["a"]', "not an agentzoo eval summary")])
def test_a_damaged_summary_json_is_named(tmp_path, text, why):
    from agentzoo.eval.report import load_summary

    (tmp_path / "summary.json").write_text(text)
    with pytest.raises(CorruptResultsError, match=why) as caught:
        load_summary(tmp_path)
    assert str(tmp_path / "summary.json") in str(caught.value)
