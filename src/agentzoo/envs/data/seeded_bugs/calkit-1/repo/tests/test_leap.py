from calkit import is_leap, leap_years_between


def test_years_divisible_by_four_are_leap():
    assert is_leap(2024) and is_leap(1996)


def test_other_years_are_not():
    assert not is_leap(2023) and not is_leap(2001)


def test_2000_is_leap():
    assert is_leap(2000)


def test_counting_leap_years():
    assert leap_years_between(2001, 2012) == 3
