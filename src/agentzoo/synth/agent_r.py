"""Agent-R's samples as SFT data: ShareGPT rows with per-turn loss flags and their provenance, one JSON line each.

    export_samples(journal, "3f2a…", "revisions.jsonl")          # one run (an id, a unique prefix, or "latest")
    export_samples(None, Path("results/textworld"), "rev.jsonl")  # every run of an eval results folder
    agentzoo export RUN_OR_EVAL_DIR --format agent-r --out revisions.jsonl

A row is `agentzoo.export.to_sharegpt`'s layout (`conversations` of `{from, value, loss}`, `system`), with the loss
of each `gpt` turn as the sample has it (off on the bad steps, on on the revision turn and the good ones), and a
`metadata` object: where it comes from (run id, scope of the recorded effect, env, task, model, seed, the eval
sample's key, reward and seed when read from a results folder) and what it is (`kind`: `revision` or `good`; the
leaf values and node ids of the pair, its divergence point and first bad step, why the bad prefix ended, the
revision thought's template id). Every row has every key (None where it does not apply), so the file loads as one
table: `datasets.load_dataset("json", data_files="revisions.jsonl")`.

The next self-training round: fine-tune on the file with a trainer that honours the per-turn `loss` flag (the
bad steps are context, not targets: a trainer that learns every `gpt` turn would learn them too), serve the model
behind an OpenAI-compatible endpoint (vLLM, llama.cpp's server) and search with it again: `agentzoo eval --agent
agent-r --env textworld --model openai-compatible:<name>@http://localhost:8000/v1`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import _json
from ..errors import ConfigError
from ..export import to_sharegpt
from ..runtime.journal import Journal
from ..recipes.agent_r.agent import KIND, SAMPLES

FORMAT = "agent-r"
SAMPLE_KEYS = ("kind", "good_leaf", "good_value", "bad_leaf", "bad_value", "divergence", "shared_steps", "first_bad",
               "bad_end", "bad_steps", "template")
EVAL_KEYS = ("key", "agent", "model", "seed", "reward", "success")


def to_row(sample: dict[str, Any], provenance: dict[str, Any]) -> dict[str, Any]:
    """One sample as a ShareGPT row: the gpt turns carry the sample's loss flags, in order."""
    conversation = sample["conversation"]
    row = to_sharegpt([{k: v for k, v in m.items() if k != "loss"} for m in conversation], [])
    flags = [bool(m.get("loss")) for m in conversation if m.get("role") == "assistant"]
    gpt = [t for t in row["conversations"] if t["from"] == "gpt"]
    if len(gpt) != len(flags):
        raise ConfigError(f"agent-r sample {provenance.get('sample')} of run {provenance.get('run_id')}: "
                          f"{len(flags)} assistant turns but {len(gpt)} gpt turns (an empty reply?)")
    for turn, loss in zip(gpt, flags):
        turn["loss"] = loss
    judged = [{"node": j["node"], "verdict": j["verdict"]} for j in sample.get("judgements", [])]
    row["metadata"] = {"format": FORMAT, **provenance, **{k: sample.get(k) for k in SAMPLE_KEYS}, "judgements": judged}
    return row


@dataclass
class Counts:
    runs: int = 0
    recorded: int = 0
    """Runs that recorded samples (agent-r runs that got that far), none or some."""
    rows: int = 0


def run_rows(journal: Journal, run_id: str, sample: dict[str, Any] | None = None,
             counts: Counts | None = None) -> Iterator[dict[str, Any]]:
    """The rows of the samples one run recorded (none if it recorded none: not an agent-r run, or it failed before).
    `sample`: the eval sample's row, for its key, reward and seed."""
    counts = counts if counts is not None else Counts()
    info = journal.get_run(run_id)
    counts.runs += 1
    for entry in journal.entries(info.run_id):
        if entry.kind != KIND or entry.name != SAMPLES or entry.status != "ok":
            continue
        counts.recorded += 1
        recorded = entry.result
        base = {"run_id": info.run_id, "scope": entry.scope, "env": recorded.get("env"), "task": recorded.get("task"),
                "model": recorded.get("model"), "seed": recorded.get("seed"), "beta": recorded.get("beta"),
                "alpha": recorded.get("alpha"),
                "eval": {k: sample.get(k) for k in EVAL_KEYS} if sample is not None else None}
        for index, item in enumerate(recorded.get("samples") or ()):
            counts.rows += 1
            yield to_row(item, {**base, "sample": index})


def rows(journal: Journal | None, source: str | Path | Iterable[str],
         counts: Counts | None = None) -> Iterator[dict[str, Any]]:
    """The rows of a run id (or several), or of every run of an eval results folder (its own journal unless
    `journal` is given), in the folder's sample-key order. `counts` learns how many runs were read and recorded."""
    from ..eval.export import is_results_dir

    counts = counts if counts is not None else Counts()
    if isinstance(source, Path) or (isinstance(source, str) and is_results_dir(source)):
        yield from _folder_rows(journal, Path(source), counts)
        return
    if journal is None:
        raise ConfigError("agent-r export: a run id needs the journal that holds it")
    for run_id in [source] if isinstance(source, str) else list(source):
        yield from run_rows(journal, run_id, counts=counts)


def _folder_rows(journal: Journal | None, folder: Path, counts: Counts) -> Iterator[dict[str, Any]]:
    from ..eval.export import is_results_dir
    from ..eval.report import INFRA, load_rows

    if not is_results_dir(folder):
        raise ConfigError(f"{folder}: not an eval results folder (no results.db)")
    samples, _ = load_rows(folder)
    own = journal is None
    if own:
        path = folder / "journal.db"
        if not path.is_file():
            raise ConfigError(f"{folder}: no journal at {path} to read the samples from")
        journal = Journal(path)
    assert journal is not None
    try:
        for sample in sorted(samples, key=lambda r: r["key"]):
            if sample.get("status") == INFRA or not sample.get("run_id"):
                continue
            yield from run_rows(journal, sample["run_id"], sample, counts)
    finally:
        if own:
            journal.close()


def export_samples(journal: Journal | None, source: str | Path | Iterable[str], out_path: str | Path, *,
                   append: bool = False) -> int:
    """Write the rows of `source` (a run id, run ids, or an eval results folder) to `out_path`, one JSON line each;
    the number written. An existing file is refused unless `append`; a source with no agent-r run is an error."""
    out = Path(out_path)
    if out.exists() and not append:
        raise ConfigError(f"{out} exists: pass append=True to add to it, or name a new file")
    counts = Counts()
    lines = [_json.dumps_str(row) + "\n" for row in rows(journal, source, counts)]
    check_recorded(counts, source)
    with out.open("a" if append else "x", encoding="utf-8") as f:
        f.writelines(lines)
    return len(lines)


def check_recorded(counts: Counts, source: object) -> None:
    """Runs read but none recorded samples: not agent-r runs (or none got past its search), so say so rather than
    write an empty file."""
    if counts.runs and not counts.recorded:
        raise ConfigError(f"{source}: none of its {counts.runs} run(s) recorded agent-r samples (the `{SAMPLES}` "
                          "entry an agent-r run writes at its end); --format agent-r exports runs of the agent-r "
                          "recipe")
