"""wordstat: word frequencies from the compiled table."""

import json
from pathlib import Path

TABLE = Path(__file__).with_name("table.json")


def _table():
    if not TABLE.exists():
        raise RuntimeError("wordstat/table.json is missing: build it (docs/building.rst)")
    return json.loads(TABLE.read_text())


def frequency(word):
    return _table()["counts"].get(word.lower(), 0)


def locale():
    return _table()["locale"]
