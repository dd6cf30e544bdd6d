"""The capsules: small reproducible studies written for this project, each a folder of `capsules/`.

CORE-Bench's tasks are Code Ocean capsules (a paper's code, data and results) with questions about the results and
the answers of several ground-truth runs. Ours are five studies in plain Python (the sandbox's interpreter has the
standard library only), each running in a few seconds offline:

- `capsule.json`: the title, the task's wording for medium and hard (`task_prompt`), the questions (each read from
  the run's `results/metrics.json` by key, or, for a figure, from its SVG text by a pattern), and `results`: the
  answers of repeated runs at the seeds `seeds` (one dict question -> answer per run, CORE-Bench's shape), which
  `record.py` writes by running the capsule in the sandbox;
- `workspace/`: the capsule as the agent gets it: `README.md` (how to install and run), `REPRODUCING.md` (one
  command), `code/` (`make_data.py`, `analysis.py`), `vendor/<package>/` (a local package the analysis imports,
  installed offline with `pip --no-index --target lib`), and, as the published run left them (seed 0, recorded),
  `data/` and `results/`; `code/reproduce.py` is `_shared/reproduce.py`, the same in every capsule.

The levels remove what CORE-Bench's levels remove: easy keeps everything (the answers are in `results/`); medium
drops `results/` (run what REPRODUCING.md says); hard also drops `REPRODUCING.md`, `code/reproduce.py` and `data/`
(install the requirements and make the data as the README says, then run).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import ConfigError

CAPSULES = Path(__file__).parent / "capsules"
SHARED_REPRODUCE = CAPSULES / "_shared" / "reproduce.py"
REPRODUCE = "code/reproduce.py"
METRICS = "results/metrics.json"
REPORT = "report.json"
LEVELS = ("easy", "medium", "hard")
DROPPED = {"easy": (), "medium": ("results/",), "hard": ("results/", "data/", "REPRODUCING.md", REPRODUCE)}
"""What each level takes out of the capsule (a trailing '/' is a folder)."""


@dataclass(frozen=True)
class Question:
    text: str
    metric: str | None = None
    """The key of `results/metrics.json` that answers it."""
    figure: str | None = None
    """Or: the figure (an SVG of `results/`) whose text answers it, with `pattern` (one group)."""
    pattern: str | None = None


@dataclass(frozen=True)
class Capsule:
    name: str
    title: str
    task_prompt: str
    questions: tuple[Question, ...]
    seeds: tuple[int, ...]
    results: tuple[dict[str, Any], ...]
    """The ground-truth runs, one dict question -> answer per seed (empty until recorded)."""
    files: dict[str, str]
    """The whole capsule, path -> text (the reproduce script included)."""

    def workspace(self, level: str) -> dict[str, str]:
        """The capsule's files at `level`."""
        if level not in LEVELS:
            raise ConfigError(f"core-bench level {level!r} is not one of {', '.join(LEVELS)}")
        dropped = DROPPED[level]
        return {p: t for p, t in self.files.items()
                if not any(p.startswith(d) if d.endswith("/") else p == d for d in dropped)}

    @property
    def gold(self) -> dict[str, Any]:
        """The gold report: the first ground-truth run's answers."""
        if not self.results:
            raise ConfigError(f"core-bench capsule {self.name}: its ground-truth runs were never recorded "
                              "(python -m agentzoo.envs.core_bench.record)")
        return dict(self.results[0])


def load_capsule(folder: Path) -> Capsule:
    try:
        meta = json.loads((folder / "capsule.json").read_text(encoding="utf-8"))
        questions = tuple(Question(q["question"], q.get("metric"), q.get("figure"), q.get("pattern"))
                          for q in meta["questions"])
        root = folder / "workspace"
        files = {p.relative_to(root).as_posix(): p.read_text(encoding="utf-8")
                 for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}
        files[REPRODUCE] = SHARED_REPRODUCE.read_text(encoding="utf-8")
        capsule = Capsule(folder.name, meta["title"], meta["task_prompt"], questions,
                          tuple(meta.get("seeds", ())), tuple(meta.get("results", ())), files)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"core-bench capsule {folder}: needs capsule.json (title, task_prompt, questions) and a "
                          f"workspace/ folder of text files ({type(exc).__name__}: {exc})") from None
    for q in questions:
        if (q.metric is None) == (q.figure is None or q.pattern is None):
            raise ConfigError(f"core-bench capsule {folder.name}: question {q.text!r} needs a metric, or a figure "
                              "and a pattern")
    for run in capsule.results:
        if set(run) != {q.text for q in questions}:
            raise ConfigError(f"core-bench capsule {folder.name}: a recorded run does not answer exactly its "
                              "questions; record it again")
    return capsule


def load_capsules(root: Path = CAPSULES) -> dict[str, Capsule]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))
    if not folders:
        raise ConfigError(f"core-bench capsules {root}: no capsule folders")
    return {f.name: load_capsule(f) for f in folders}


def answers_from(capsule: Capsule, files: dict[str, str]) -> dict[str, Any]:
    """The answers a run's results give (`files`: the capsule's folder after the run, path -> text)."""
    try:
        metrics = json.loads(files[METRICS])
    except (KeyError, ValueError) as exc:
        raise ConfigError(f"core-bench capsule {capsule.name}: the run left no readable {METRICS} ({exc})") from None
    answers: dict[str, Any] = {}
    for q in capsule.questions:
        if q.metric is not None:
            answers[q.text] = metrics[q.metric]
            continue
        found = re.search(q.pattern or "", files.get(q.figure or "", ""))
        if found is None:
            raise ConfigError(f"core-bench capsule {capsule.name}: {q.figure} has no match for {q.pattern!r}")
        text = found.group(1)
        answers[q.text] = int(text) if text.isdigit() else text
    return answers
