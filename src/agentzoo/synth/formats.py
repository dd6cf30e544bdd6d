"""Synthesised rows (`rows`) as the files trainers read: `write_dataset(rows, out_dir, formats)`.

| format     | file(s) in out_dir                                     | rows it holds | provenance            |
|------------|--------------------------------------------------------|---------------|-----------------------|
| `jsonl`    | `rows.jsonl`: the rows as they are                     | all           | inline                |
| `openai`   | `openai.jsonl`, `openai.preference.jsonl`              | all, by kind  | sidecar, line by line |
| `sharegpt` | `sharegpt.jsonl`                                       | SFT           | `metadata`            |
| `dpo`      | `dpo.jsonl`: TRL's conversational preference rows      | preference    | `provenance` column   |
| `parquet`  | `rows.parquet`: the jsonl rows as a table              | all           | `provenance` column   |
| `hf`       | `hf/`: a Hugging Face `datasets` folder                | all           | `provenance` column   |

A pipeline may make both kinds (MALT: SFT positives and DPO pairs), so a format that takes one kind writes
the rows of that kind, and none when there are none: `write_dataset` returns {name: path} for the files it
wrote, keyed by format, and `openai-preference` for OpenAI's preference file. `jsonl`, `parquet` and `hf`
always write, an empty dataset too.

`openai` is OpenAI's chat fine-tuning JSONL (`{"messages", "tools"}`, assistant `tool_calls` and `tool`
messages as sent) for SFT rows; a row's per-turn loss flags become each assistant message's `weight`
(0 or 1), which OpenAI's format has for multi-turn examples (default: every assistant message is
learned). Preference rows go to OpenAI's preference (DPO) fine-tuning JSONL, `openai.preference.jsonl`:
`{"input": {"messages", "tools"}, "preferred_output": [...], "non_preferred_output": [...]}` (a fine-tuning
job takes one method, hence one file per kind). OpenAI's lines have no room for provenance: each file has
a sidecar, `openai.provenance.jsonl` and `openai.preference.provenance.jsonl`, line N for line N.

`sharegpt` is `agentzoo.export.to_sharegpt`'s layout (LLaMA-Factory's ShareGPT) with each `gpt` and
`function_call` turn's `loss` taken from the row's flag for the assistant message it came from.

`dpo` is TRL's preference type in conversational form (`{"prompt", "chosen", "rejected"}`, lists of
messages) with the `tools` column TRL's tool-calling support reads (a JSON text, which TRL's DPO trainer
decodes) and tool-call `arguments` as JSON objects, the shape chat templates render.

`parquet` types each column as pyarrow infers it when it can type every row alike; a column it cannot
(e.g. message content that is text in one row and content parts in another) is written as JSON text and
named in the file's schema metadata (`agentzoo.json_columns`). `hf` is `datasets.Dataset.save_to_disk`
(the `synth` extra: `pip install 'agentzoo[synth]'`), mixed-type fields as the `Json` feature.

Reading the files back: `datasets.load_dataset("json", data_files="out/rows.jsonl")` (add
`on_mixed_types="use_json"` when a field's shape differs between rows), `datasets.load_from_disk("out/hf")`.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .. import _json
from .._files import FILE_MODE, ensure_folder, open_private
from ..errors import ConfigError
from ..export import to_sharegpt
from .rows import assistant_flags, validate_rows

FORMATS = ("jsonl", "openai", "sharegpt", "dpo", "parquet", "hf")
FILES = {"jsonl": "rows.jsonl", "openai": "openai.jsonl", "openai-preference": "openai.preference.jsonl",
         "sharegpt": "sharegpt.jsonl", "dpo": "dpo.jsonl", "parquet": "rows.parquet", "hf": "hf"}
INSTALL = "pip install 'agentzoo[synth]'"

# The message keys OpenAI's fine-tuning files take; anything else a provider added is left out.
OPENAI_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")


def write_dataset(rows: Iterable[dict[str, Any]], out_dir: str | os.PathLike[str],
                  formats: Iterable[str] = ("jsonl",)) -> dict[str, Path]:
    """Write `rows` in each of `formats` into `out_dir`; {format: path} of the files written (see above).

    Every row is validated before the first file is written, so a bad row leaves nothing half made.
    """
    rows = validate_rows(rows)
    wanted = list(dict.fromkeys(formats))
    if not wanted:
        raise ConfigError(f"no format to write; choose from {', '.join(FORMATS)}")
    for fmt in wanted:
        if fmt not in FORMATS:
            raise ConfigError(f"unknown dataset format {fmt!r}; known: {', '.join(FORMATS)}")
    out = ensure_folder(out_dir, "dataset folder")
    written: dict[str, Path] = {}
    for fmt in wanted:
        written.update(WRITERS[fmt](rows, out))
    return written


# --- one row in each format (pure) ------------------------------------------------------------------


def to_openai_row(row: dict[str, Any]) -> dict[str, Any]:
    """An SFT row as an OpenAI chat fine-tuning line; a preference row as an OpenAI preference line."""
    if row["kind"] == "preference":
        line: dict[str, Any] = {"input": {"messages": [_openai_message(m) for m in row["prompt"]]},
                                "preferred_output": [_openai_message(m) for m in row["chosen"]],
                                "non_preferred_output": [_openai_message(m) for m in row["rejected"]]}
        if row.get("tools"):
            line["input"]["tools"] = row["tools"]
        return line
    flags = iter(assistant_flags(row))
    messages = []
    for m in row["messages"]:
        out = _openai_message(m)
        if m["role"] == "assistant" and "loss" in row:
            out["weight"] = int(next(flags))  # OpenAI: 0 skips this assistant message, 1 learns it
        messages.append(out)
    line = {"messages": messages}
    if row.get("tools"):
        line["tools"] = row["tools"]
    return line


def to_sharegpt_row(row: dict[str, Any]) -> dict[str, Any]:
    """An SFT row in `agentzoo.export.to_sharegpt`'s layout, loss per turn from the row's flags."""
    # ShareGPT turns are text: content parts become their text first.
    messages = [{**m, "content": _text(m["content"])} if isinstance(m.get("content"), list) else m
                for m in row["messages"]]
    out = to_sharegpt(messages, row.get("tools") or [])
    # to_sharegpt makes, per message in order: nothing for system, one turn for user and tool, and for an
    # assistant one `gpt` turn if it has text plus one `function_call` turn per tool call. Walk both together.
    turns = iter(out["conversations"])
    flags = iter(assistant_flags(row))
    for m in messages:
        if m["role"] == "assistant":
            flag = next(flags)
            for _ in range(bool(m.get("content")) + len(m.get("tool_calls") or ())):
                next(turns)["loss"] = flag
        elif m["role"] in ("user", "tool"):
            next(turns)
    out["metadata"] = row["provenance"]
    return out


def to_dpo_row(row: dict[str, Any]) -> dict[str, Any]:
    """A preference row as TRL's conversational preference example, with its provenance column."""
    out: dict[str, Any] = {side: [_trl_message(m) for m in row[side]] for side in ("prompt", "chosen", "rejected")}
    if row.get("tools"):
        out["tools"] = _json.dumps_str(row["tools"])
    out["provenance"] = row["provenance"]
    return out


# --- writers -----------------------------------------------------------------------------------------


def _write_jsonl(rows: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    return {"jsonl": _lines(out / FILES["jsonl"], rows, "dataset")}


def _write_openai(rows: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    written = {}
    for name, kind in (("openai", "sft"), ("openai-preference", "preference")):
        path = out / FILES[name]
        sidecar = path.with_name(path.name.replace(".jsonl", ".provenance.jsonl"))
        chosen = [r for r in rows if r["kind"] == kind]
        if chosen:
            _lines(sidecar, [r["provenance"] for r in chosen], "provenance sidecar")
            written[name] = _lines(path, [to_openai_row(r) for r in chosen], "OpenAI fine-tuning file")
        else:
            _remove_stale(path, sidecar)
    return written


def _write_sharegpt(rows: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    return _one_kind("sharegpt", [to_sharegpt_row(r) for r in rows if r["kind"] == "sft"], out, "ShareGPT file")


def _write_dpo(rows: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    return _one_kind("dpo", [to_dpo_row(r) for r in rows if r["kind"] == "preference"], out, "DPO file")


def _one_kind(fmt: str, records: list[dict[str, Any]], out: Path, what: str) -> dict[str, Path]:
    if records:
        return {fmt: _lines(out / FILES[fmt], records, what)}
    _remove_stale(out / FILES[fmt])
    return {}


def _remove_stale(*paths: Path) -> None:
    """A file of this format left by an earlier write into the folder would pass for this dataset's: remove it."""
    for path in paths:
        path.unlink(missing_ok=True)


def _write_parquet(rows: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigError(f"the parquet format needs pyarrow: {INSTALL}") from None
    names = list(dict.fromkeys(k for r in rows for k in r))
    columns, as_json = {}, []
    for name in names:
        values = [r.get(name) for r in rows]
        try:
            columns[name] = pa.array(values)
            if _has_empty_struct(columns[name].type):  # e.g. `scores: {}` on every row: Parquet cannot write it
                raise pa.ArrowInvalid(f"{name}: a struct with no field")
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # shapes differ between rows: keep the column as JSON text
            columns[name] = pa.array([None if v is None else _json.dumps_str(v) for v in values], pa.string())
            as_json.append(name)
    table = pa.table(columns) if columns else pa.table({"kind": pa.array([], pa.string())})
    table = table.replace_schema_metadata({"agentzoo.json_columns": _json.dumps_str(as_json)})
    path = out / FILES["parquet"]
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    os.chmod(tmp, FILE_MODE)
    os.replace(tmp, path)
    return {"parquet": path}


def _has_empty_struct(kind: Any) -> bool:
    """Whether a pyarrow type holds, at any depth, a struct with no field (which Parquet refuses)."""
    import pyarrow as pa

    if pa.types.is_struct(kind):
        return kind.num_fields == 0 or any(_has_empty_struct(kind.field(i).type) for i in range(kind.num_fields))
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        return _has_empty_struct(kind.value_type)
    return False


def _write_hf(rows: list[dict[str, Any]], out: Path) -> dict[str, Path]:
    try:
        import datasets
    except ImportError:
        raise ConfigError(f"the hf format needs Hugging Face datasets: {INSTALL}") from None
    # use_json: a field whose shape differs between rows (tool arguments, scores) is stored as Json.
    dataset = datasets.Dataset.from_list(rows, on_mixed_types="use_json")
    path = out / FILES["hf"]
    if path.exists() and not (path / "dataset_info.json").exists():
        raise ConfigError(f"{path} exists and is not a Hugging Face datasets folder: not replacing it")
    tmp = out / f".{FILES['hf']}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    bars = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()  # a library's progress bars are not ours to print
    try:
        dataset.save_to_disk(str(tmp))
    finally:
        if bars:
            datasets.enable_progress_bars()
    shutil.rmtree(path, ignore_errors=True)  # the folder is this dataset's alone: no shard of an earlier one stays
    os.replace(tmp, path)
    return {"hf": path}


WRITERS: dict[str, Callable[[list[dict[str, Any]], Path], dict[str, Path]]] = {
    "jsonl": _write_jsonl, "openai": _write_openai, "sharegpt": _write_sharegpt, "dpo": _write_dpo,
    "parquet": _write_parquet, "hf": _write_hf,
}


# --- helpers -----------------------------------------------------------------------------------------


def _openai_message(m: dict[str, Any]) -> dict[str, Any]:
    return {k: m[k] for k in OPENAI_MESSAGE_KEYS if k in m and (m[k] is not None or k == "content")}


def _trl_message(m: dict[str, Any]) -> dict[str, Any]:
    out = _openai_message(m)
    if "tool_calls" in out:
        out["tool_calls"] = [{**c, "function": {**c["function"], "arguments": _parsed(c["function"]["arguments"])}}
                             for c in out["tool_calls"]]
    return out


def _text(parts: list[Any]) -> str:
    return "".join(p.get("text") or "" for p in parts if isinstance(p, dict) and p.get("type") == "text")


def _parsed(arguments: str) -> Any:
    try:
        return _json.loads(arguments)
    except Exception:  # noqa: BLE001 - arguments a model wrote that are not JSON stay the text it wrote
        return arguments


def _lines(path: Path, records: list[Any], what: str) -> Path:
    with open_private(path, what, "w") as f:
        for record in records:
            f.write(_json.dumps_str(record) + "\n")
    return path
