"""The tasks of the workspace environment: small ML problems on datasets scikit-learn ships, each with a baseline.

A task is a folder of `tasks/` (MLAgentBench keeps `env/` files the agent sees and hidden `scripts/`):

- `task.json`: the dataset (one of `DATASETS`), its metric and direction, the split (`split_seed`,
  `test_fraction`), the baseline's measured test score and the hash of the data it was measured on;
- `research_problem.txt`: what the agent is asked (the task's prompt);
- `train.py`: the baseline the agent starts from (it writes `submission.csv`); `evaluate.py`: the metric
  and a check of the submission's format, for the agent to use;
- `improved.py`: a better `train.py` that the oracle writes (it beats the baseline by more than 10 %).

The data files are made here from the dataset (scikit-learn's bundled copy, read on the host when the
task is loaded: nothing is downloaded): `data/train.csv` (features and target) and `data/test.csv`
(an id and the features). The test targets never reach the workspace: the scorer keeps them. Every
script runs in the sandbox on the standard library alone (the sandbox's interpreter need not have numpy
or scikit-learn), so the baselines are plain Python and their scores are exact: the stored baseline is
what `train.py` gives, checked by `tests/envs/test_mlagentbench_env.py`.

Success is MLAgentBench's: the final submission beats the baseline by more than 10 % (`SUCCESS_MARGIN`),
relative to the baseline, in the metric's own direction.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import ConfigError
from ...prompts import render

TASKS = Path(__file__).parent / "tasks"
PROMPTS = Path(__file__).parent / "prompts"
SUCCESS_MARGIN = 0.10
"""MLAgentBench paper §4 (success rate): a run succeeds when its final submission improves on the baseline by
more than 10 %; PAPERS.md #37 notes the threshold is the paper's (no code computes it)."""
DATASETS = {"iris": "load_iris", "wine": "load_wine", "breast_cancer": "load_breast_cancer",
            "diabetes": "load_diabetes"}
"""scikit-learn's bundled datasets a task may use: small tables inside the package, read offline."""
METRICS = ("accuracy", "mean_absolute_error")
TRAIN_CSV, TEST_CSV, SUBMISSION = "data/train.csv", "data/test.csv", "submission.csv"
READ_ONLY = (TRAIN_CSV, TEST_CSV)
"""MLAgentBench's read_only_files.txt: the data cannot be written, appended to or copied over."""
TARGET, ID = "target", "id"
EXTRA = "mlagentbench"
"""The pyproject extra that brings scikit-learn."""


@dataclass(frozen=True)
class TaskSpec:
    """One task as its folder says it."""

    name: str
    dataset: str
    metric: str
    higher_is_better: bool
    split_seed: int
    test_fraction: float
    baseline: float | None
    """The baseline's test score, as measured (None until measured: `measure_baseline`)."""
    data_sha256: str | None
    research_problem: str
    train: str
    evaluate: str
    improved: str


@dataclass(frozen=True)
class TaskData:
    """What a task's dataset gives: the workspace's files and the hidden test targets."""

    files: dict[str, str]
    answers: list[Any] = field(default_factory=list)
    sha256: str = ""


def load_spec(folder: Path) -> TaskSpec:
    try:
        meta = json.loads((folder / "task.json").read_text(encoding="utf-8"))
        texts = {name: (folder / f"{name}.py").read_text(encoding="utf-8")
                 for name in ("train", "evaluate", "improved")}
        problem = (folder / "research_problem.txt").read_text(encoding="utf-8").strip()
        spec = TaskSpec(folder.name, meta["dataset"], meta["metric"], bool(meta["higher_is_better"]),
                        int(meta["split_seed"]), float(meta["test_fraction"]), meta.get("baseline"),
                        meta.get("data_sha256"), problem, texts["train"], texts["evaluate"], texts["improved"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(f"mlagentbench task {folder}: needs task.json (dataset, metric, higher_is_better, "
                          "split_seed, test_fraction, baseline, data_sha256), research_problem.txt, train.py, "
                          f"evaluate.py and improved.py ({type(exc).__name__}: {exc})") from None
    if spec.dataset not in DATASETS:
        raise ConfigError(f"mlagentbench task {folder.name}: dataset {spec.dataset!r} is not one of "
                          f"{', '.join(DATASETS)}")
    if spec.metric not in METRICS:
        raise ConfigError(f"mlagentbench task {folder.name}: metric {spec.metric!r} is not one of {', '.join(METRICS)}")
    return spec


def task_data(spec: TaskSpec) -> TaskData:
    """The workspace files and hidden answers of `spec`; raises `ConfigError` when the dataset's rows are not
    the ones its baseline was measured on (another scikit-learn copy of the data)."""
    columns, rows, targets = _table(spec.dataset)
    order = list(range(len(rows)))
    random.Random(spec.split_seed).shuffle(order)
    n_test = int(round(len(order) * spec.test_fraction))
    test, train = order[:n_test], order[n_test:]
    train_csv = _csv([*columns, TARGET], [[*rows[i], targets[i]] for i in train])
    test_csv = _csv([ID, *columns], [[n, *rows[i]] for n, i in enumerate(test)])
    answers = [targets[i] for i in test]
    digest = hashlib.sha256("\0".join([train_csv, test_csv, json.dumps(answers)]).encode()).hexdigest()
    if spec.data_sha256 is not None and digest != spec.data_sha256:
        raise ConfigError(f"mlagentbench task {spec.name}: the {spec.dataset} data scikit-learn gives here hash to "
                          f"{digest[:12]}, not {spec.data_sha256[:12]} (what the baseline was measured on)")
    description = render(PROMPTS / "data_description.j2", dataset=spec.dataset, columns=columns, train=len(train),
                         test=len(test), metric=spec.metric, higher=spec.higher_is_better,
                         classes=sorted(set(targets)) if spec.metric == "accuracy" else None)
    files = {TRAIN_CSV: train_csv, TEST_CSV: test_csv, "data_description.txt": description + "\n",
             "train.py": spec.train, "evaluate.py": spec.evaluate}
    return TaskData(files, answers, digest)


@lru_cache(maxsize=None)
def _table(dataset: str) -> tuple[tuple[str, ...], tuple[tuple[float, ...], ...], tuple[Any, ...]]:
    try:
        from sklearn import datasets
    except ImportError:
        raise ConfigError(f"the mlagentbench environment reads its data from scikit-learn's bundled datasets: "
                          f"pip install 'agentzoo[{EXTRA}]'") from None
    bunch = getattr(datasets, DATASETS[dataset])()
    columns = tuple(_column(name) for name in bunch.feature_names)
    rows = tuple(tuple(float(v) for v in row) for row in bunch.data.tolist())
    targets = tuple(int(v) if float(v).is_integer() and dataset != "diabetes" else float(v)
                    for v in bunch.target.tolist())
    return columns, rows, targets


def _column(name: str) -> str:
    """A feature's name as a CSV column: `sepal length (cm)` -> `sepal_length_cm`."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _csv(header: list[str], rows: list[list[Any]]) -> str:
    return "".join(",".join(_cell(v) for v in row) + "\n" for row in [header, *rows])


def _cell(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


# --- scoring ------------------------------------------------------------------------------------------


class SubmissionError(ValueError):
    """A submission.csv the scorer cannot read; the message says what is wrong."""


def read_submission(text: str | None, n_test: int, metric: str) -> list[Any]:
    """The predictions of a `submission.csv` (`id,target`, one row per test id), in id order."""
    if text is None:
        raise SubmissionError(f"there is no {SUBMISSION} in the workspace")
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines or [c.strip() for c in lines[0].split(",")] != [ID, TARGET]:
        raise SubmissionError(f"{SUBMISSION} must start with the header `{ID},{TARGET}`")
    found: dict[int, Any] = {}
    for number, line in enumerate(lines[1:], 2):
        cells = [c.strip() for c in line.split(",")]
        try:
            key, value = int(cells[0]), float(cells[1])
        except (ValueError, IndexError):
            raise SubmissionError(f"{SUBMISSION} line {number} is not `<id>,<number>`: {line[:80]!r}") from None
        found[key] = value
    missing = [i for i in range(n_test) if i not in found]
    if missing:
        raise SubmissionError(f"{SUBMISSION} has no prediction for {len(missing)} of the {n_test} test ids "
                              f"(first: {missing[0]})")
    return [found[i] for i in range(n_test)]


def metric_value(metric: str, truth: list[Any], predictions: list[Any]) -> float:
    if metric == "accuracy":
        return sum(float(p) == float(t) for p, t in zip(predictions, truth)) / len(truth)
    return sum(abs(float(p) - float(t)) for p, t in zip(predictions, truth)) / len(truth)


def improvement(score: float, baseline: float, higher_is_better: bool) -> float:
    """How much `score` improves on `baseline`, relative to it, in the metric's direction (0.1 = 10 % better)."""
    gain = score - baseline if higher_is_better else baseline - score
    return gain / abs(baseline) if baseline else (float("inf") if gain > 0 else 0.0)


def succeeded(score: float, baseline: float, higher_is_better: bool, margin: float = SUCCESS_MARGIN) -> bool:
    """MLAgentBench's success rule: better than the baseline by more than `margin` (10 %)."""
    return improvement(score, baseline, higher_is_better) > margin
