"""Typed values from strings."""

_TRUE = {"1", "yes", "true", "on"}
_FALSE = {"0", "no", "false", "off"}


def as_bool(value):
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def as_int(value, default=None):
    try:
        return int(value.strip())
    except ValueError:
        if default is not None:
            return default
        raise
