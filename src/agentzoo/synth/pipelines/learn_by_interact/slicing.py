"""Backward construction's slicer: the sub-trajectories of a trajectory that get their own instruction.

A trajectory of T steps (o0, a1, o1, …, aT, oT) has T(T+1)/2 contiguous stretches (i, j), 0 ≤ i < j ≤ T:
start at observation o_i, take actions a_{i+1} … a_j. Learn-by-interact relabels each with the instruction
it actually achieves (PAPERS.md #12, step 3); `window` keeps only the stretches of at most that many steps,
for long trajectories where T² relabelling calls cost too much.
"""

from __future__ import annotations

from typing import Any

from ....errors import ConfigError


def spans(steps: int, window: int | None = None) -> list[tuple[int, int]]:
    """Every stretch (i, j) of a trajectory of `steps` steps, shortest first, then by start."""
    if window is not None and window < 1:
        raise ConfigError(f"learn-by-interact: max_window must be at least 1 step, got {window}")
    longest = steps if window is None else min(window, steps)
    return [(i, i + length) for length in range(1, longest + 1) for i in range(steps - length + 1)]


def expected_count(steps: int, window: int | None = None) -> int:
    """How many stretches `spans` gives: T(T+1)/2 without a window."""
    w = steps if window is None else min(window, steps)
    return sum(steps - length + 1 for length in range(1, w + 1))


def slice_trajectory(start: str, steps: list[dict[str, Any]],
                    span: tuple[int, int]) -> tuple[str, list[dict[str, Any]]]:
    """The stretch `span` of a trajectory: the observation it starts from and its steps."""
    i, j = span
    first = start if i == 0 else steps[i - 1]["result"]
    return first, [dict(s) for s in steps[i:j]]
