"""What the synthesis crash tests share: a script run to its end (the reference), then the same script killed by
SIGKILL after its n-th model call, each in a process of its own (`helpers.kill`). The test then resumes the killed
run in its own process and compares it with the reference."""

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentzoo import Journal
from agentzoo.synth.pipeline import final_items


@dataclass
class Reference:
    run_id: str
    items: list[dict[str, Any]]
    model_calls: int
    env_steps: int


def reference_then_killed(script: Path, tmp_path: Path, kill_after: int, *args: str,
                          timeout: float = 120) -> tuple[Reference, Path]:
    """`python SCRIPT ARGS... JOURNAL [KILL_AFTER]` twice: to the end, then killed. The reference run's dataset
    and counts, and the journal of the killed run."""
    ref = subprocess.run([sys.executable, script, *args, tmp_path / "ref.db"], capture_output=True, text=True,
                         timeout=timeout)
    assert ref.returncode == 0, ref.stderr
    run_id = ref.stdout.split()[0]
    with Journal(tmp_path / "ref.db") as journal:
        entries = list(journal.entries(run_id))
        reference = Reference(run_id, final_items(journal, run_id), sum(e.kind == "model" for e in entries),
                              sum(e.kind == "env" for e in entries))
    killed = tmp_path / "j.db"
    out = subprocess.run([sys.executable, script, *args, killed, str(kill_after)], capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == -signal.SIGKILL, out.stderr
    return reference, killed


def killed_run(journal: Journal) -> tuple[Any, int]:
    """The killed run in its journal, and how many model calls it had recorded."""
    [run] = journal.list_runs()
    return run, sum(e.kind == "model" for e in journal.entries(run.run_id))
