"""Months and their lengths."""

from .leap import is_leap

MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]

_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def days_in_month(year, month):
    """The number of days in `month` (1 to 12) of `year`."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be 1 to 12, not {month}")
    if month == 2 and is_leap(year):
        return 29
    return _DAYS[month - 1]


def days_in_year(year):
    return 366 if is_leap(year) else 365
