from ledger import Account, transfer


def test_withdraw_the_whole_balance():
    account = Account("ada", 100)
    account.withdraw(100)
    assert account.balance == 0


def test_transfer_the_whole_balance():
    a, b = Account("a", 25), Account("b", 0)
    assert transfer(a, b, 25) == (0, 25)
