"""Calendar arithmetic."""

from .leap import is_leap, leap_years_between
from .months import MONTH_NAMES, days_in_month, days_in_year

__all__ = ["MONTH_NAMES", "days_in_month", "days_in_year", "is_leap", "leap_years_between"]
