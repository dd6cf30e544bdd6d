"""Measures over sets of intervals."""

from .core import Interval, merge


def total_length(intervals):
    """The length of the union of `intervals`."""
    return sum(i.length for i in merge(intervals))


def gaps(intervals):
    """The intervals between the merged `intervals`, in order."""
    merged = merge(intervals)
    return [Interval(a.end, b.start) for a, b in zip(merged, merged[1:]) if b.start > a.end]
