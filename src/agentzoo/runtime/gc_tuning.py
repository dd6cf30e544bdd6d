"""Garbage-collector settings for a process that runs many agents at once (an eval, a rollout engine).

CPython's cyclic collector walks every tracked container of a generation when it runs. An eval keeps
tens of thousands of live objects per running sample (conversations, entries, futures), and with the
default young-generation threshold (700 allocations) it collects hundreds of times a second and
promotes those objects, so full collections walk them all again. Measured at 10,000 concurrent 5-turn
tasks (bench/results/gc_10000.md): 2.7–3.7 s of 23 s CPU in the collector; freezing the start-up
objects and collecting the young generation less often gave +17 % tasks/s.

- `gc.freeze()` moves everything alive now (modules, classes, the eval's setup) to a permanent
  generation that no collection walks again.
- A young-generation threshold of 100,000 lets short-lived cycles (a request's futures, an exception's
  traceback) die in far fewer, larger collections; memory held by garbage cycles between collections
  stays small (tens of MB at most).
- A middle-generation threshold of 100 (CPython's default is 10): a middle collection walks every
  object promoted since the last one, tens of milliseconds each with thousands of runs alive; at 10
  they took 1.1–1.25 s of ~28 s CPU at 10,000 concurrent 5-turn tasks over HTTP, at 100 0.01–0.02 s.
  With both, the collector's total there went from 2.9–3.2 s to 1.2–1.9 s (five runs each).

An eval tunes at its start. `agentzoo.run` and its kin tune once `MANY_RUNS` runs are running at
once in the process (a rollout engine that gathers thousands): at 10,000 concurrent 5-turn tasks
the collector had taken 13.7 s of 52 s CPU, in 16 full collections of an ever larger heap.
Nothing is undone after: the process has shown it runs many agents.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 100_000
MIDDLE_THRESHOLD = 100
MANY_RUNS = 100
_tuned = False
_running = 0


def tune_for_many_runs() -> None:
    """Apply the settings above once per process (later calls do nothing)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_THRESHOLD), max(middle, MIDDLE_THRESHOLD), old)


def run_started() -> None:
    """A run starts in this process (`runtime.runner`); at `MANY_RUNS` at once, tune."""
    global _running
    _running += 1
    if _running >= MANY_RUNS and not _tuned:
        tune_for_many_runs()


def run_ended() -> None:
    global _running
    _running -= 1
