"""Compile data/words.csv into wordstat/table.json for one locale (WORDSTAT_LOCALE)."""

import csv
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
locale = os.environ.get("WORDSTAT_LOCALE")
if locale not in ("en", "de"):
    sys.exit("build_table.py: set WORDSTAT_LOCALE to en or de (see docs/building.rst)")
with open(ROOT / "data" / "words.csv", newline="") as f:
    rows = [r for r in csv.DictReader(f) if r["locale"] == locale]
table = {"locale": locale, "counts": {r["word"]: int(r["count"]) for r in rows}}
(ROOT / "wordstat" / "table.json").write_text(json.dumps(table, indent=1))
print(f"wrote wordstat/table.json: {len(rows)} words for {locale}")
