import pytest

from ledger import Account, InsufficientFunds


def test_deposit_adds_to_balance():
    account = Account("ada", 100)
    account.deposit(50)
    assert account.balance == 150 and account.history == [("deposit", 50)]


def test_withdraw_part_of_balance():
    account = Account("ada", 100)
    account.withdraw(30)
    assert account.balance == 70


def test_overdraft_is_refused():
    account = Account("ada", 100)
    with pytest.raises(InsufficientFunds):
        account.withdraw(101)
    assert account.balance == 100


def test_amounts_must_be_positive():
    account = Account("ada", 100)
    with pytest.raises(ValueError):
        account.withdraw(0)
    with pytest.raises(ValueError):
        account.deposit(-5)
