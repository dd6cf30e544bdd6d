"""The interval type and merging."""


class Interval:
    """The closed interval [start, end]."""

    def __init__(self, start, end):
        if start > end:
            raise ValueError(f"start {start} is after end {end}")
        self.start = start
        self.end = end

    @property
    def length(self):
        return self.end - self.start

    def overlaps(self, other):
        """True if the two intervals share more than an end point."""
        return self.start < other.end and other.start < self.end

    def __eq__(self, other):
        return isinstance(other, Interval) and (self.start, self.end) == (other.start, other.end)

    def __repr__(self):
        return f"Interval({self.start}, {self.end})"


def merge(intervals):
    """The union of `intervals` as sorted, disjoint intervals.

    Intervals that overlap or touch (one ends where the next starts) become one.
    """
    ordered = sorted(intervals, key=lambda i: (i.start, i.end))
    merged = []
    for current in ordered:
        if merged and current.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, current.end))
        else:
            merged.append(current)
    return merged
