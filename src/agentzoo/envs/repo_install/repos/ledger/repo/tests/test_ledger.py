import unittest

import ledger


class LedgerTests(unittest.TestCase):
    def test_post_and_balance(self):
        db = ledger.connect()
        try:
            ledger.post(db, "rent", "bank", 700)
            ledger.post(db, "bank", "cash", 100)
            self.assertEqual(ledger.balance(db, "bank"), -600)
        finally:
            db.rollback()
            db.close()
