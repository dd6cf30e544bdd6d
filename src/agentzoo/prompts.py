"""Prompts are data: Jinja templates in files beside the code that uses them.

`render(path, **variables)` raises on a missing variable (StrictUndefined) instead of
silently sending the model an empty hole.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any


@lru_cache(maxsize=None)
def _template(path: str):
    import jinja2  # imported on first use: most runs never render a template

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False,
                             trim_blocks=True, lstrip_blocks=True, autoescape=False)
    return env.from_string(Path(path).read_text(encoding="utf-8"))


def render(path: str | Path, **variables: Any) -> str:
    return _template(str(path)).render(**variables).strip()
