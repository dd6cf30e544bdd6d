"""Create the ledger database from schema.sql: python3 scripts/init_db.py <file>."""

import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if len(sys.argv) != 2:
    sys.exit("usage: python3 scripts/init_db.py <database file>")
target = ROOT / sys.argv[1]
target.unlink(missing_ok=True)
with sqlite3.connect(target) as db:
    db.executescript((ROOT / "schema.sql").read_text())
print(f"created {target.name}")
