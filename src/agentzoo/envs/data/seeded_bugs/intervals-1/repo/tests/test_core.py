import pytest

from intervals import Interval, merge


def test_reversed_bounds_are_rejected():
    with pytest.raises(ValueError):
        Interval(5, 1)


def test_overlapping_intervals_merge():
    assert merge([Interval(4, 8), Interval(1, 5)]) == [Interval(1, 8)]


def test_disjoint_intervals_stay_apart():
    assert merge([Interval(6, 7), Interval(1, 2)]) == [Interval(1, 2), Interval(6, 7)]


def test_touching_intervals_do_not_overlap():
    assert not Interval(1, 3).overlaps(Interval(3, 5))
    assert Interval(1, 4).overlaps(Interval(3, 5))


def test_contained_interval_disappears():
    assert merge([Interval(0, 10), Interval(2, 3)]) == [Interval(0, 10)]
