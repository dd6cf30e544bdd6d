"""Journal stores: the embedded SQLite file, or a PostgreSQL server that many machines write to.

`open_store(location)` picks one: a string starting with `postgresql://` or `postgres://` is a
server's URL; anything else (a `Path` always) is a file. Only the PostgreSQL store needs psycopg,
and it is imported only when a URL is opened.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from pathlib import Path

from .base import Store

URL_SCHEMES = ("postgresql://", "postgres://")


def is_url(location: object) -> bool:
    """True for a PostgreSQL URL given as a string (a `Path` is always a file)."""
    return isinstance(location, str) and location.lower().startswith(URL_SCHEMES)


def masked_url(url: str) -> str:
    """The URL with its password (in the user part or a `password=` parameter) shown as `***`."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return url.split("://", 1)[0] + "://***"  # unparseable: show nothing that might be the password
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        if ":" in user:
            user = user.split(":", 1)[0] + ":***"
        netloc = f"{user}@{host}"
    query = re.sub(r"(^|&)(password=)[^&]*", r"\1\2***", parts.query, flags=re.IGNORECASE)
    # Put back by hand: urlunsplit drops the // of a URL with no host (`postgresql:///db?host=/run/pg`).
    return (f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
            + (f"#{parts.fragment}" if parts.fragment else ""))


def open_store(location: str | os.PathLike[str]) -> Store:
    if is_url(location):
        from .postgres import PostgresStore

        return PostgresStore(str(location))
    from .sqlite import SQLiteStore

    return SQLiteStore(location if isinstance(location, str) and location == ":memory:" else Path(location))


__all__ = ["Store", "URL_SCHEMES", "is_url", "masked_url", "open_store"]
