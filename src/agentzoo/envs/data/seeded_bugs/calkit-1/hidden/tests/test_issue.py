from calkit import days_in_month, is_leap, leap_years_between


def test_centuries_are_not_leap_unless_divisible_by_400():
    assert not is_leap(1900) and not is_leap(2100) and is_leap(2000) and is_leap(1600)


def test_february_1900():
    assert days_in_month(1900, 2) == 28


def test_counting_across_a_century():
    assert leap_years_between(1896, 1904) == 2
