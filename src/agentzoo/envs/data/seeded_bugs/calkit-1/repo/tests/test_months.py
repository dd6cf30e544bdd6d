import pytest

from calkit import MONTH_NAMES, days_in_month, days_in_year


def test_february_of_a_leap_year():
    assert days_in_month(2024, 2) == 29


def test_other_months():
    assert [days_in_month(2023, m) for m in (1, 2, 4, 12)] == [31, 28, 30, 31]


def test_bad_month():
    with pytest.raises(ValueError):
        days_in_month(2023, 13)


def test_names_and_year_length():
    assert MONTH_NAMES[0] == "January" and days_in_year(2023) == 365
