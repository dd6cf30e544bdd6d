"""Closed numeric intervals."""

from .core import Interval, merge
from .ops import gaps, total_length

__all__ = ["Interval", "gaps", "merge", "total_length"]
