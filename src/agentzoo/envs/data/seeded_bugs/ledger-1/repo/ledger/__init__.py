"""Bank accounts."""

from .account import Account, InsufficientFunds
from .transfer import transfer

__all__ = ["Account", "InsufficientFunds", "transfer"]
