"""Text a model, a tool or a file wrote, made safe to show: no terminal control characters.

An answer holding `\x1b[2J` or `\x1b]8;;…` would clear a terminal or plant a link when printed (or
when a Markdown report is `cat`); bidi overrides reorder what a reader sees ("Trojan source"); a
lone surrogate cannot even be encoded. `visible` writes each such character as its Python escape
(`\\x1b`, `\\u202e`), so it shows instead of acting. Newlines and tabs stay; CRLF becomes LF.
"""

from __future__ import annotations

import re

# C0 controls but newline and tab, DEL, C1 controls, bidi marks, embeddings, overrides and
# isolates, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str) -> str:
    """`text` with every terminal control character written as its Python escape (`\\x1b`)."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _UNSAFE.search(text) is None:  # the common case, and fast on megabytes
        return text
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text)
