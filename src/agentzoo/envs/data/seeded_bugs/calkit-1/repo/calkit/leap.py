"""Leap years of the Gregorian calendar."""


def is_leap(year):
    """True if `year` has a 29 February."""
    return year % 4 == 0


def leap_years_between(first, last):
    """How many leap years there are from `first` to `last`, both included."""
    return sum(1 for year in range(first, last + 1) if is_leap(year))
