from intervals import Interval, gaps, total_length


def test_total_length_counts_overlap_once():
    assert total_length([Interval(0, 4), Interval(2, 6)]) == 6


def test_gaps_between_disjoint_intervals():
    assert gaps([Interval(0, 1), Interval(3, 4), Interval(6, 9)]) == [Interval(1, 3), Interval(4, 6)]
