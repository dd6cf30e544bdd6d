"""Record a capsule's ground truth by running it in the sandbox: `python -m agentzoo.envs.core_bench.record [name ...]`.

CORE-Bench's answers are those of several runs of each capsule (their spread makes a numeric answer's prediction
interval). Here the capsule runs once as published (`code/reproduce.py`, seed 0: its `data/` and `results/` become
the capsule's, what the easy level reads) and then once per seed of `SEEDS` (`code/analysis.py` with
`CAPSULE_SEED`); the answers of those runs are `capsule.json`'s `results`. The published run is not one of them, so
`tests/envs/test_core_bench.py` checks that a run outside the ground truth lands inside every interval.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from pathlib import Path

from ...errors import ConfigError
from ..mlagentbench.execute import run_script
from .capsules import CAPSULES, Capsule, answers_from, load_capsules

SEEDS = (1, 2, 3, 4, 5)
"""Five ground-truth runs (ours: CORE-Bench's capsules have their own number of runs, at least two)."""
RUNNER = Path(__file__).parent / "_record_runs.py"
PUBLISHED = ("data/", "results/")


async def run_capsule(capsule: Capsule, seeds: tuple[int, ...] = SEEDS, **sandbox) -> dict[int, dict[str, str]]:
    """The capsule's folder after each run, by seed (0: the published run), from one sandboxed script."""
    files = {p: t for p, t in capsule.files.items() if not p.startswith(PUBLISHED)}
    files |= {"_record_runs.py": RUNNER.read_text(encoding="utf-8"), "_seeds.txt": " ".join(map(str, seeds))}
    run = await run_script(files, "_record_runs.py", seconds=300, **sandbox)
    if run.returncode != 0 or run.files is None:
        raise ConfigError(f"core-bench capsule {capsule.name} did not run: {run.error or ''}\n{run.stderr[-2000:]}")
    runs: dict[int, dict[str, str]] = {}
    for path, text in run.files.items():
        if path.startswith("_runs/"):
            _, seed, rest = path.split("/", 2)
            runs.setdefault(int(seed), {})[rest] = text
    return runs


async def record(capsule: Capsule, folder: Path) -> None:
    runs = await run_capsule(capsule)
    meta = json.loads((folder / "capsule.json").read_text(encoding="utf-8"))
    meta["seeds"] = list(SEEDS)
    meta["results"] = [answers_from(capsule, runs[seed]) for seed in SEEDS]
    (folder / "capsule.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    workspace = folder / "workspace"
    for published in PUBLISHED:
        shutil.rmtree(workspace / published, ignore_errors=True)
    for path, text in sorted(runs[0].items()):
        target = workspace / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(f"{capsule.name}: {len(SEEDS)} runs recorded; published run: {answers_from(capsule, runs[0])}")


def main(names: list[str]) -> None:
    capsules = load_capsules()
    for name in names or sorted(capsules):
        asyncio.run(record(capsules[name], CAPSULES / name))


if __name__ == "__main__":
    main(sys.argv[1:])
