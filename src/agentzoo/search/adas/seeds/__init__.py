"""The seven hand-designed agents an ADAS archive starts from, written here against our API (`..api`).

ADAS's initial archive (ShengranHu/ADAS `_mgsm/mgsm_prompt.py`, `get_init_archive`) is COT, COT_SC,
Reflexion, LLM_debate, Take_a_step_back, QD and Role_Assignment, in that order. Each is a `.py` file
here holding its `forward(self, task)`, text the archive and the sandbox read (never imported: it
uses names only the sandbox defines), and `seeds.json` gives each its name and the idea behind it.
The algorithms follow ADAS's (the counts and temperatures are its); the wording is ours.
"""

from __future__ import annotations

from pathlib import Path

import orjson

from ..archive import Entry

HERE = Path(__file__).parent


def entries() -> list[Entry]:
    """The initial archive, in ADAS's order, not yet evaluated."""
    manifest = orjson.loads((HERE / "seeds.json").read_bytes())
    return [Entry(item["name"], (HERE / item["file"]).read_text(encoding="utf-8"), item["thought"])
            for item in manifest]
