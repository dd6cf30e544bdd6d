"""Small text helpers."""

from .slug import slugify
from .wrap import shorten, wrap

__all__ = ["shorten", "slugify", "wrap"]
