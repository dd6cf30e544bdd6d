"""Turn titles into URL slugs."""

import re
import unicodedata

_OTHER = re.compile(r"[^a-z0-9_]+")


def _ascii(text):
    """Drop accents: 'Crème' becomes 'Creme'."""
    normalized = unicodedata.normalize("NFKD", text)
    return normalized.encode("ascii", "ignore").decode("ascii")


def slugify(text, separator="-"):
    """A lower-case slug of `text`.

    Letters, digits and underscores are kept; every run of other characters
    becomes a single `separator`, and the slug never starts or ends with one.
    """
    text = _ascii(text).lower()
    return _OTHER.sub(separator, text)
