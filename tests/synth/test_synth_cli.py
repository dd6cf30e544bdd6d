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


def test_a_synthesis_file_is_the_same_synthesis_as_its_flags_and_flags_override_it(tmp_path):
    file = tmp_path / "demo.yaml"
    file.write_text(f"pipeline: demo\nmodel: '{MODEL}'\nlimit: 6\nformats: [jsonl, sharegpt]\nseed: 0\n"
                    f"out: {tmp_path / 'from-file'}\n")
    by_file = CliRunner().invoke(app, ["synth", str(file)])
    assert by_file.exit_code == 0, by_file.output
    by_flags = synth(tmp_path / "from-flags")
    assert by_flags.exit_code == 0, by_flags.output

    def dataset(folder):
        state = json.loads((folder / "synth.json").read_text())
        rows = [json.loads(line) for line in (folder / "rows.jsonl").read_text().splitlines()]
        return {k: v for k, v in state.items() if k != "run_id"}, [r["messages"] for r in rows]

    assert dataset(tmp_path / "from-file") == dataset(tmp_path / "from-flags")
    # the file's folder again with --seed 3 is another synthesis: refused by name, so the flag did override
    other = CliRunner().invoke(app, ["synth", str(file), "--seed", "3"])
    assert other.exit_code != 0 and "seed=0" in str(other.exception)


@pytest.mark.parametrize("text, says", [("pipeline: demo\nlimt: 3\n", ":2: limt: unknown key"),
                                        ("pipeline: demo\nlimit: 0\n", ":2: limit: Input should be greater"),
                                        ("pipeline: demo\nbudgets: {calls: 3}\n", ":2: budgets.calls: unknown key"),
                                        ("- demo\n", "a mapping with at least `pipeline:`"),
                                        ("pipeline: demo\nformats: [jsonl, xml]\nout: x\n", "format xml: choose")])
def test_a_bad_synthesis_file_is_refused_naming_line_and_key(tmp_path, text, says):
    file = tmp_path / "bad.yaml"
    file.write_text(text)
    result = CliRunner().invoke(app, ["synth", str(file), "--model", MODEL, "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and says in str(result.exception), str(result.exception)
    assert not (tmp_path / "o").exists()


def test_a_model_per_role_serves_that_role_scope_and_is_kept_with_the_synthesis(tmp_path):
    out = tmp_path / "demo"
    generous = f"scripted:{HERE / 'synth_pipeline_demo.py'}:generous_judge"
    result = synth(out, "--role-model", f"judge={generous}")
    assert result.exit_code == 0, result.output
    judged = json.loads((out / "report.json").read_text())
    judge_stage = next(s for s in judged["stages"] if s["stage"] == "judge")
    assert judge_stage["out"] == judge_stage["in"] == 4  # the generous judge passed every example
    from agentzoo import Journal

    with Journal(out / "journal.db") as journal:
        calls = [e for e in journal.entries(journal.list_runs()[0].run_id) if e.kind == "model"]
    assert calls and all(("generous" in str(e.result)) == ("judge#" in e.scope) for e in calls)
    assert json.loads((out / "synth.json").read_text())["models"] == {"judge": generous}
    again = synth(out)  # without the role model: another synthesis, refused
    assert again.exit_code != 0 and "models=" in str(again.exception)


def test_a_pipeline_that_makes_its_own_environments_takes_no_env(tmp_path, monkeypatch):
    import synth_cli_demo

    monkeypatch.setattr(synth_cli_demo, "ENVS", ())
    refused = synth(tmp_path / "refused", "--env", "gsm8k")
    assert refused.exit_code != 0 and "makes its own environments" in str(refused.exception)
    made = synth(tmp_path / "made")
    assert made.exit_code == 0, made.output
    assert json.loads((tmp_path / "made" / "synth.json").read_text())["env"] is None


def test_the_report_names_the_roles_that_called_models_and_the_model_each_used(tmp_path):
    out = tmp_path / "demo"
    generous = f"scripted:{HERE / 'synth_pipeline_demo.py'}:generous_judge"
    assert synth(out, "--role-model", f"judge={generous}").exit_code == 0
    roles = json.loads((out / "report.json").read_text())["roles"]
    assert set(roles) == {"item", "judge"}  # the demo's write/answer calls are made in the item scopes
    assert roles["judge"]["model_calls"] == 12 and roles["judge"]["models"] == ["generous_judge"]
    assert roles["item"]["models"] == ["reply"]
    assert "## Roles" in (out / "report.md").read_text()


def test_a_synthesis_file_given_to_eval_says_to_run_it_with_synth(tmp_path):
    file = tmp_path / "s.yaml"
    file.write_text("pipeline: demo\nlimit: 2\n")
    result = CliRunner().invoke(app, ["eval", str(file), "--out", str(tmp_path / "o")])
    assert result.exit_code != 0 and "is a synthesis file" in str(result.exception) + result.output
    assert "agentzoo synth" in str(result.exception) + result.output


def test_info_shows_a_pipeline_s_options_with_their_sources_and_runs_nothing(tmp_path):
    result = CliRunner().invoke(app, ["synth", "malt", "--info"])
    assert result.exit_code == 0, result.output
    assert "Motwani" in result.output and "gsm8k" in result.output
    assert "generations = 3" in result.output and "where it departs from the paper" in result.output


def test_a_run_that_fails_mid_pipeline_writes_no_dataset_and_says_where_it_stopped(tmp_path):
    out = tmp_path / "demo"
    failing = f"scripted:{HERE / 'synth_pipeline_demo.py'}:refuses_tides"
    result = CliRunner().invoke(app, ["synth", "demo", "--model", failing, "--out", str(out), "--limit", "6"])
    assert result.exit_code != 0
    assert "BadRequestError" in result.output and "no dataset: the run stopped in stage write" in result.output
    assert not (out / "rows.jsonl").exists() and (out / "journal.db").exists()


@pytest.mark.parametrize("example", sorted((Path(__file__).resolve().parents[2] / "experiments").glob("synth-*.yaml")),
                         ids=lambda p: p.name)
def test_the_shipped_synthesis_files_load_and_their_pipelines_take_them(example):
    from agentzoo.synth.pipelines import get_pipeline
    from agentzoo.synth.settings import load_settings

    settings = load_settings(example)
    checked = settings.check(get_pipeline(settings.pipeline))
    assert example.name == f"synth-{settings.pipeline}.yaml" and checked.model.startswith("local:smollm2-135m")
    assert checked.budgets is not None or settings.pipeline == "agenttuning"  # small budgets: the local model's


def test_a_model_that_cannot_be_made_leaves_no_synthesis_behind(tmp_path):
    out = tmp_path / "demo"
    bad = CliRunner().invoke(app, ["synth", "demo", "--model", "scripted:/no/such/script.yaml", "--out", str(out)])
    assert bad.exit_code != 0 and "script" in str(bad.exception) + bad.output
    assert not (out / "synth.json").exists()
    fixed = synth(out)  # the same folder with the model given right is a new synthesis, not "other settings"
    assert fixed.exit_code == 0, fixed.output
