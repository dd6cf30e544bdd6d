"""Drop rows that overlap the benchmark test sets agentzoo ships: word n-gram collisions, reported.

    kept, report = decontaminate(rows)               # every text benchmark, 13-grams
    report.hits                                      # {"gsm8k": 2, ...}: rows caught per benchmark
    report.caught                                    # [{"index", "benchmark", "task_id", "ngram"}, ...]

A row is contaminated when any run of `n` words of its text (every message, tool calls included) is a run
of `n` words of a benchmark task: its prompt and, where they are text, its gold answer (GSM8K's worked
solution too). Text is normalised first: case folded, punctuation dropped, split into words. n = 13 is
GPT-3's test-set contamination check (Brown et al. 2020, "Language Models are Few-Shot Learners",
Appendix C: 13-gram overlap); it is configurable.

The tasks are read as the harness reads them, `agentzoo.envs.registry.get_env(name).tasks()`, for the
text benchmarks `BENCHMARKS`. One that cannot be loaded here (a missing optional package or data file) is
skipped and named in the report with the reason; a name that is not an environment is an error.

Our environments wrap each task in an instruction of their own ("Solve this grade-school math problem…"),
the same words in every task. An n-gram found in more than `MAX_TASKS` tasks of one benchmark is that
template, not a test item: it and every n-gram that shares a word with it (straddling instruction and item)
are left out of the index; otherwise any row that used the same instruction would be caught. (The
threshold is ours.)

A task shorter than n words beyond the template (many BFCL questions) leaves nothing to match at that n:
the report counts such tasks per benchmark (`unchecked`) rather than pass over them in silence.

The index is built once per process for each (benchmarks, n) and kept (all eight benchmarks: a few
seconds, most of it loading the tasks); then each row costs one dict probe per word, about half a second
per thousand rows of a few hundred words. A hit is confirmed against the task's own words before it is
reported, so the n-gram named is always really in both.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import ConfigError
from .rows import conversation, message_text, validate_rows

N = 13  # GPT-3 (Brown et al. 2020, Appendix C): 13-gram overlap marks a test example as contaminated
MAX_TASKS = 10  # an n-gram in more tasks of one benchmark than this is its instruction template (ours)
BENCHMARKS = ("gsm8k", "humaneval", "mbpp", "bfcl", "tau-retail", "tau-airline", "seeded-bugs", "m3tooleval")
"""The environments whose test sets are text: what `decontaminate` checks by default."""
EXTRA_TEXT = {"gsm8k": ("solution",)}
"""Task data fields that are test-set text too, by environment (GSM8K's gold is the final number; its
worked solution is the answer text a model could have memorised)."""

_WORD = re.compile(r"\w+")


@dataclass
class ContaminationReport:
    total: int = 0
    kept: int = 0
    n: int = N
    benchmarks: dict[str, int] = field(default_factory=dict)
    """The benchmarks checked, with how many tasks each has."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Benchmarks that could not be loaded here, with the reason."""
    unchecked: dict[str, int] = field(default_factory=dict)
    """Per benchmark, tasks with no n-gram in the index (shorter than n words beyond the template): no row
    can be caught against them at this n."""
    hits: dict[str, int] = field(default_factory=dict)
    """Rows caught, per benchmark (a row that overlaps two benchmarks counts for both)."""
    caught: list[dict[str, Any]] = field(default_factory=list)
    """One entry per (row, benchmark) overlap: `index`, `benchmark`, `task_id` and the first `ngram` found."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def to_markdown(self, limit: int = 20) -> str:
        lines = [f"| decontamination ({self.n}-gram overlap) | tasks | too short to check | rows caught |",
                 "|---|---:|---:|---:|"]
        lines += [f"| {name} | {tasks} | {self.unchecked.get(name, 0)} | {self.hits.get(name, 0)} |"
                  for name, tasks in self.benchmarks.items()]
        lines += [f"| {name} (skipped: {_cell(why)}) | – | – | – |" for name, why in self.skipped.items()]
        lines.append(f"| **rows in / dropped / kept** | | | {self.total} / {self.total - self.kept} / {self.kept} |")
        if self.caught:
            lines += ["", "| row | benchmark | task | overlapping n-gram |", "|---:|---|---|---|"]
            lines += [f"| {c['index']} | {c['benchmark']} | {c['task_id']} | {_cell(c['ngram'])} |"
                      for c in self.caught[:limit]]
            if len(self.caught) > limit:
                lines.append(f"| … {len(self.caught) - limit} more | | | |")
        return "\n".join(lines)


@dataclass
class Index:
    """The n-grams of some benchmarks' tasks: hash of an n-gram -> ((benchmark, task number), ...)."""

    n: int
    grams: dict[int, tuple[tuple[str, int], ...]]
    tasks: dict[str, list[tuple[str, str]]]
    """Per benchmark, its tasks as (task id, normalised text), in the order `tasks()` gave them."""
    unchecked: dict[str, int]
    """Per benchmark, how many tasks left no n-gram in the index."""
    skipped: dict[str, str]


def decontaminate(rows: Iterable[dict[str, Any]], *, benchmarks: Iterable[str] | None = None,
                  n: int = N) -> tuple[list[dict[str, Any]], ContaminationReport]:
    """(the rows that overlap no benchmark task, in order; the report)."""
    rows = validate_rows(rows)
    names = BENCHMARKS if benchmarks is None else (benchmarks,) if isinstance(benchmarks, str) else tuple(benchmarks)
    index = benchmark_index(names, n)
    report = ContaminationReport(total=len(rows), n=n, skipped=dict(index.skipped), unchecked=dict(index.unchecked),
                                 benchmarks={name: len(tasks) for name, tasks in index.tasks.items()})
    kept = []
    for i, row in enumerate(rows):
        found = _overlaps(index, row)
        for name, (task_id, gram) in found.items():
            report.hits[name] = report.hits.get(name, 0) + 1
            report.caught.append({"index": i, "benchmark": name, "task_id": task_id, "ngram": gram})
        if not found:
            kept.append(row)
    report.kept = len(kept)
    return kept, report


_CACHE: dict[tuple[tuple[str, ...], int], Index] = {}


def benchmark_index(benchmarks: tuple[str, ...], n: int = N) -> Index:
    """The index of `benchmarks`' task n-grams, built on first use and kept for the process."""
    if n < 1:
        raise ConfigError(f"n: at least one word, not {n}")
    from ..envs.registry import ENVIRONMENTS

    for name in benchmarks:
        if name not in ENVIRONMENTS:
            raise ConfigError(f"unknown benchmark {name!r}; known environments: {', '.join(ENVIRONMENTS)}")
    key = (tuple(dict.fromkeys(benchmarks)), n)
    if key not in _CACHE:
        _CACHE[key] = _build(key[0], n)
    return _CACHE[key]


def words(text: str) -> list[str]:
    """The words of a text as the check compares them: case folded, punctuation and white space dropped."""
    return _WORD.findall(text.casefold())


def ngrams(tokens: list[str], n: int) -> Iterator[tuple[str, ...]]:
    return zip(*(tokens[k:] for k in range(n)))


# --- building the index --------------------------------------------------------------------------------


def _build(benchmarks: tuple[str, ...], n: int) -> Index:
    grams: dict[int, tuple[tuple[str, int], ...]] = {}
    tasks: dict[str, list[tuple[str, str]]] = {}
    unchecked: dict[str, int] = {}
    skipped: dict[str, str] = {}
    for name in benchmarks:
        try:
            texts = list(_task_texts(name))
        except Exception as exc:  # noqa: BLE001 - any reason a benchmark cannot load here is reported, not fatal
            skipped[name] = f"{type(exc).__name__}: {exc}"
            continue
        tasks[name] = texts
        # In how many tasks each n-gram occurs: the benchmark's instruction template is in all of them.
        per_task = [[hash(g) for g in ngrams(text.split(), n)] for _, text in texts]
        spread = Counter(h for hs in per_task for h in set(hs))
        unchecked[name] = 0
        for number, hs in enumerate(per_task):
            own = _clear_of_template(hs, [spread[h] > MAX_TASKS for h in hs], n)
            unchecked[name] += not own
            for h in own:
                entry = grams.get(h, ())
                if not any(b == name for b, _ in entry):  # the first task of each benchmark that has it
                    grams[h] = (*entry, (name, number))
    return Index(n=n, grams=grams, tasks=tasks, unchecked=unchecked, skipped=skipped)


def _clear_of_template(hashes: list[int], template: list[bool], n: int) -> list[int]:
    """The n-grams (by hash, position k covering words k..k+n-1) that share no word with a template n-gram,
    so that none straddles the instruction and the item (`...holding only the final number tom`)."""
    covered = [0] * (len(hashes) + n)  # +1 where a template n-gram starts, -1 where it ends
    for k, is_template in enumerate(template):
        if is_template:
            covered[k] += 1
            covered[k + n] -= 1
    depth, in_template = 0, []
    for c in covered:
        depth += c
        in_template.append(depth > 0)
    clear, run = [], 0  # run: how many words up to here are outside the template
    for k in range(len(hashes) + n - 1):
        run = 0 if in_template[k] else run + 1
        if run >= n:
            clear.append(hashes[k - n + 1])
    return clear


def _task_texts(name: str) -> Iterator[tuple[str, str]]:
    """(task id, normalised test-set text) for each task of benchmark `name`."""
    from ..envs.registry import get_env

    for task in get_env(name).tasks():
        parts = [task.prompt]
        if isinstance(task.gold, str):
            parts.append(task.gold)
        parts += [task.data[k] for k in EXTRA_TEXT.get(name, ()) if isinstance(task.data.get(k), str)]
        yield task.id, " ".join(words("\n".join(parts)))


# --- checking a row ---------------------------------------------------------------------------------------


def _overlaps(index: Index, row: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """{benchmark: (task id, the first overlapping n-gram)} for each benchmark the row overlaps."""
    found: dict[str, tuple[str, str]] = {}
    for message in conversation(row):
        tokens = words(message_text(message))  # n-grams never span two messages
        for gram in ngrams(tokens, index.n):
            for name, number in index.grams.get(hash(gram), ()):
                if name in found:
                    continue
                task_id, text = index.tasks[name][number]
                phrase = " ".join(gram)
                if f" {phrase} " in f" {text} ":  # confirm: a hash collision is never reported
                    found[name] = (task_id, phrase)
    return found


def _cell(text: str) -> str:
    return text.replace("|", "\\|")
