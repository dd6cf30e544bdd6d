import pytest

from ledger import Account, InsufficientFunds, transfer


def test_transfer_moves_money():
    a, b = Account("a", 80), Account("b", 5)
    assert transfer(a, b, 30) == (50, 35)


def test_failed_transfer_changes_nothing():
    a, b = Account("a", 10), Account("b", 0)
    with pytest.raises(InsufficientFunds):
        transfer(a, b, 11)
    assert (a.balance, b.balance) == (10, 0)
