"""Portable runs: one file that carries runs (or a whole eval) to another machine.

    agentzoo bundle RUN -o run.azb            # one run (and its ancestors, for the fork relation)
    agentzoo bundle results/ -o eval.azb      # every sample run of an eval, with its result rows
    agentzoo replay eval.azb                  # elsewhere: every run replayed, no model call
    agentzoo show run.azb · export eval.azb · fork run.azb --set sampling.temperature=0.7

A bundle is a zip archive with three members at fixed names: `bundle.json` (the format and its
version, the agentzoo version that wrote it, what it holds: run ids, each run's spec, environment,
task id and seed), `journal.db` (a journal with just those runs, entries included) and, for an eval,
`results.db` (its rows and summary meta). Opening a bundle unpacks those members into a private
folder; it never imports code from it: code a run names is loaded only when the user names it or
passes `--trust`, as for any journal.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

from . import _json
from ._version import __version__
from .errors import ConfigError, RunNotFoundError
from .runtime.journal import Journal, existing_journal

FORMAT = "agentzoo-bundle"
VERSION = 1
SUFFIX = ".azb"
MEMBERS = ("bundle.json", "journal.db", "results.db")
MAX_MEMBER_BYTES = 4 << 30
"""A member larger than this (unpacked) is refused: a bundle is not to fill the disk when opened."""


def write_bundle(source: str, out: Path, *, journal_path: Path | None = None, force: bool = False) -> dict[str, Any]:
    """Write the run `source` (an id in the journal) or the eval results folder `source` to `out`."""
    out = Path(out)
    if out.exists() and not force:
        raise ConfigError(f"{out} exists; pass --force to overwrite it")
    if out.is_dir():
        raise ConfigError(f"{out} is a folder; -o names the bundle file to write")
    folder = Path(source)
    rows: list[dict[str, Any]] = []
    eval_meta = None
    if folder.is_dir() and (folder / "results.db").is_file():
        from .eval.store import ResultStore, journal_in

        store = ResultStore(folder / "results.db")
        try:
            rows = list(store.rows())
            eval_meta = store.get_meta("eval")
        finally:
            store.close()
        journal = existing_journal(journal_in(folder, eval_meta, journal_path))
        run_ids = [r["run_id"] for r in rows if r.get("run_id")]
        kind = "eval"
    else:
        journal = existing_journal(journal_path)
        run_ids = [_with_ancestors(journal, source)]
        kind = "run"
    with tempfile.TemporaryDirectory(prefix="agentzoo-bundle-") as tmp:
        tmp_path = Path(tmp)
        runs = _copy_runs(journal, [i for ids in run_ids for i in (ids if isinstance(ids, list) else [ids])],
                          tmp_path / "journal.db")
        journal.close()
        manifest = {"format": FORMAT, "version": VERSION, "agentzoo_version": __version__, "created_at": time.time(),
                    "kind": kind, "source": str(source), "runs": runs}
        if kind == "eval":
            from .eval.store import ResultStore

            store = ResultStore(tmp_path / "results.db")
            try:
                for row in rows:
                    store.put(row, time.time())
                if eval_meta is not None:  # its runs are in the bundle's journal now, wherever they were
                    eval_meta = {k: v for k, v in eval_meta.items() if k != "journal"}
                    store.set_meta("eval", eval_meta)
            finally:
                store.close()
            manifest["eval"] = eval_meta
            manifest["samples"] = len(rows)
        (tmp_path / "bundle.json").write_text(_json.dumps_str(manifest))
        partial = out.with_name(out.name + ".part")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name in MEMBERS:
                if (tmp_path / name).exists():
                    archive.write(tmp_path / name, name)
        os.chmod(partial, 0o600)
        os.replace(partial, out)  # all or nothing
    return manifest


def _with_ancestors(journal: Journal, run_id: str) -> list[str]:
    """The run and the runs it was forked from, oldest first (ids resolved from prefixes)."""
    chain = []
    info = journal.get_run(run_id)
    while True:
        chain.append(info.run_id)
        if not info.parent_id or info.parent_id in chain:
            break
        try:
            info = journal.get_run(info.parent_id)
        except RunNotFoundError:
            break
    return list(reversed(chain))


def _copy_runs(source: Journal, run_ids: list[str], target_path: Path) -> list[dict[str, Any]]:
    """Copy runs with all their entries into a new journal; a summary of each for the manifest."""
    target = Journal(target_path)
    summary = []
    try:
        for run_id in dict.fromkeys(run_ids):
            info = source.get_run(run_id)
            target.create_run(info)
            for entry in source.entries(info.run_id):
                target.put(entry, commit=False)
            target.commit()
            config = info.config if isinstance(info.config, dict) else {}
            env = config.get("env") or {}
            summary.append({"run_id": info.run_id, "status": info.status, "label": info.label,
                            "parent_id": info.parent_id, "agent": config.get("agent"), "model": config.get("model"),
                            "env": env.get("name"), "task": env.get("task"),
                            "seed": (config.get("sampling") or {}).get("seed")})
    finally:
        target.close()
    return summary


# --- opening ----------------------------------------------------------------------------------


def is_bundle(path: str | Path) -> bool:
    path = Path(path)
    return path.is_file() and (path.suffix == SUFFIX or zipfile.is_zipfile(path))


class OpenedBundle:
    """A bundle unpacked into a private folder: its manifest, journal and (for an eval) results folder."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.folder = Path(tempfile.mkdtemp(prefix="agentzoo-bundle-"))
        try:
            self.manifest = _unpack(self.path, self.folder)
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise

    @property
    def journal_path(self) -> Path:
        return self.folder / "journal.db"

    @property
    def run_ids(self) -> list[str]:
        return [r["run_id"] for r in self.manifest.get("runs", [])]

    @property
    def results_folder(self) -> Path | None:
        return self.folder if (self.folder / "results.db").exists() else None

    def journal(self) -> Journal:
        return Journal(self.journal_path)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> OpenedBundle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _unpack(path: Path, folder: Path) -> dict[str, Any]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ConfigError(f"{path} is not an agentzoo bundle: {exc}") from None
    with archive:
        names = set(archive.namelist())
        if "bundle.json" not in names or "journal.db" not in names:
            raise ConfigError(f"{path} is not an agentzoo bundle (it lacks bundle.json or journal.db)")
        for info in archive.infolist():
            if info.filename not in MEMBERS:
                continue  # only the known members, at fixed names: nothing is unpacked anywhere else
            if info.file_size > MAX_MEMBER_BYTES:
                raise ConfigError(f"{path}: member {info.filename} unpacks to {info.file_size} bytes, over the "
                                  f"limit of {MAX_MEMBER_BYTES}")
            with archive.open(info) as src, open(folder / info.filename, "wb") as dst:
                shutil.copyfileobj(src, dst)
    try:
        manifest = _json.loads((folder / "bundle.json").read_bytes())
    except Exception as exc:
        raise ConfigError(f"{path}: bundle.json is not JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ConfigError(f"{path}: bundle.json does not describe an agentzoo bundle")
    if manifest.get("version") != VERSION:
        raise ConfigError(f"{path}: bundle format version {manifest.get('version')!r}; this agentzoo reads version "
                          f"{VERSION}")
    return manifest


def import_runs(bundle: OpenedBundle, journal: Journal) -> list[str]:
    """Copy the bundle's runs into `journal` (skipping runs it already has), so they can be forked there."""
    source = bundle.journal()
    copied = []
    try:
        for run_id in bundle.run_ids:
            try:
                journal.get_run(run_id)
                continue
            except RunNotFoundError:
                pass
            info = source.get_run(run_id)
            journal.create_run(info)
            for entry in source.entries(run_id):
                journal.put(entry, commit=False)
            journal.commit()
            copied.append(run_id)
    finally:
        source.close()
    return copied
