"""ledger: double-entry bookkeeping on the SQLite file ledger.sqlite3."""

import os
import sqlite3

DATABASE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "ledger.sqlite3")


def connect(path=DATABASE):
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path} does not exist: create it with `make dev`")
    return sqlite3.connect(path)


def post(db, debit, credit, amount):
    known = {row[0] for row in db.execute("SELECT name FROM accounts")}
    if debit not in known or credit not in known:
        raise KeyError("unknown account")
    db.execute("INSERT INTO entries (debit, credit, amount) VALUES (?, ?, ?)", (debit, credit, amount))


def balance(db, account):
    plus = db.execute("SELECT COALESCE(SUM(amount), 0) FROM entries WHERE debit = ?", (account,)).fetchone()[0]
    minus = db.execute("SELECT COALESCE(SUM(amount), 0) FROM entries WHERE credit = ?", (account,)).fetchone()[0]
    return plus - minus
