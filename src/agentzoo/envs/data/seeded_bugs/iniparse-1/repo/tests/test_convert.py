import pytest

from iniparse import as_bool, as_int


def test_booleans():
    assert as_bool(" Yes ") is True and as_bool("off") is False
    with pytest.raises(ValueError):
        as_bool("maybe")


def test_ints():
    assert as_int(" 42 ") == 42 and as_int("x", default=7) == 7
