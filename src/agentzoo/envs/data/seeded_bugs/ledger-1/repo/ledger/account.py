"""An account holding a balance in cents."""


class InsufficientFunds(Exception):
    """A withdrawal larger than the balance."""


class Account:
    def __init__(self, owner, balance=0):
        if balance < 0:
            raise ValueError("an account cannot open with a negative balance")
        self.owner = owner
        self.balance = balance
        self.history = []

    def deposit(self, amount):
        if amount <= 0:
            raise ValueError("amount must be positive")
        self.balance += amount
        self.history.append(("deposit", amount))

    def withdraw(self, amount):
        """Take `amount` out; the balance may reach zero but never go below it."""
        if amount <= 0:
            raise ValueError("amount must be positive")
        if amount >= self.balance:
            raise InsufficientFunds(f"{self.owner} has {self.balance}, cannot withdraw {amount}")
        self.balance -= amount
        self.history.append(("withdraw", amount))
