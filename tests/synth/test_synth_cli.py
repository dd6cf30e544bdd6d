"""`agentzoo synth`: a pipeline run into a folder, its dataset and report; the same command again; --replay."""

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).parent))

from agentzoo.cli.main import app  # noqa: E402
from agentzoo.synth import pipelines  # noqa: E402

HERE = Path(__file__).parent
MODEL = f"scripted:{HERE / 'synth_pipeline_demo.py'}:reply"


@pytest.fixture(autouse=True)
def demo(monkeypatch):
    monkeypatch.setitem(pipelines.PIPELINES, "demo", "synth_cli_demo")


def synth(out, *args):
    result = CliRunner().invoke(app, ["synth", "demo", "--model", MODEL, "--out", str(out), "--limit", "6",
                                      "--format", "jsonl,sharegpt", *args])
    return result


def model_calls(out):
    con = sqlite3.connect(out / "journal.db")
    try:
        return con.execute("SELECT count(*) FROM entries WHERE kind = 'model'").fetchone()[0]
    finally:
        con.close()


def test_a_synthesis_writes_rows_with_provenance_and_a_report_of_every_stage(tmp_path):
    out = tmp_path / "demo"
    result = synth(out)
    assert result.exit_code == 0, result.output
    state = json.loads((out / "synth.json").read_text())
    files = json.loads((out / "report.json").read_text())["rows"]["files"]
    rows = [json.loads(line) for line in Path(files["jsonl"]).read_text().splitlines()]
    assert rows and all(r["provenance"]["run_id"] == state["run_id"] for r in rows)
    assert all(r["provenance"]["stages"] == ["write", "answer", "judge"] for r in rows)
    report = (out / "report.md").read_text()
    assert "| write | 6 | 5 | 1 off topic |" in report and "| dedup | 5 | 4 | 1 filtered |" in report
    assert "## Judge scores" in report and "## Deduplication" in report and "## Decontamination" in report
    assert "write: 6 → 5 (dropped: 1 off topic)" in result.output


def test_the_same_command_again_makes_no_model_call_and_the_same_dataset(tmp_path):
    out = tmp_path / "demo"
    assert synth(out).exit_code == 0
    calls = model_calls(out)
    first = (out / "report.json").read_text()
    again = synth(out)
    assert again.exit_code == 0, again.output
    assert "finished before" in again.output and model_calls(out) == calls
    assert json.loads((out / "report.json").read_text())["rows"] == json.loads(first)["rows"]
    replayed = synth(out, "--replay")
    assert replayed.exit_code == 0, replayed.output
    assert "0 effects performed" in replayed.output and "the same as" in replayed.output


def test_other_settings_on_the_same_folder_are_refused_by_name(tmp_path):
    out = tmp_path / "demo"
    assert synth(out).exit_code == 0
    result = synth(out, "--seed", "3")
    assert result.exit_code != 0 and "seed=0" in str(result.exception) + result.output


@pytest.mark.parametrize("args, says", [(["--opt", "colour=red"], "no option colour"),
                                        (["--format", "jsonl,xml"], "choose from"),
                                        (["--env", "textworld"], "works on gsm8k")])
def test_bad_flags_are_refused_before_any_model_call(tmp_path, args, says):
    result = synth(tmp_path / "demo", *args)
    assert result.exit_code != 0 and says in str(result.exception) + result.output
    assert not (tmp_path / "demo" / "journal.db").exists()


def test_an_unknown_pipeline_names_the_built_ones():
    result = CliRunner().invoke(app, ["synth", "nope", "--model", MODEL, "--out", "x"])
    assert result.exit_code != 0 and "unknown pipeline 'nope'" in str(result.exception) + result.output
