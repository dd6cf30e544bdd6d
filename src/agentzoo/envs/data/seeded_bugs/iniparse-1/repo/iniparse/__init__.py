"""INI-style configuration files."""

from .convert import as_bool, as_int
from .parser import ParseError, parse

__all__ = ["ParseError", "as_bool", "as_int", "parse"]
