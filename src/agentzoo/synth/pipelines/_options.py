"""Reading a pipeline's options: known names only, values coerced to the default's type (the command line
passes `--opt key=value` as text)."""

from __future__ import annotations

from typing import Any

from ...errors import ConfigError


def refuse_unknown(pipeline: str, defaults: dict[str, Any], given: dict[str, Any]) -> None:
    """A `ConfigError` naming the options `given` that the pipeline does not have, and the ones it has."""
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise ConfigError(f"{pipeline}: unknown option(s) {', '.join(unknown)}; known: {', '.join(sorted(defaults))}")


def read_options(pipeline: str, defaults: dict[str, Any], given: dict[str, Any],
                 types: dict[str, type] | None = None) -> dict[str, Any]:
    refuse_unknown(pipeline, defaults, given)
    out = dict(defaults)
    for key, value in given.items():
        kind = (types or {}).get(key) or type(defaults[key])
        out[key] = _coerce(pipeline, key, value, kind)
    return out


def _coerce(pipeline: str, key: str, value: Any, kind: type) -> Any:
    if value is None or (isinstance(value, str) and value.lower() in ("none", "")):
        return None
    try:
        if kind is bool and isinstance(value, str):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "yes")
        if kind is int and isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{pipeline}: option {key} must be {kind.__name__}, got {value!r}") from None


def whole(pipeline: str, name: str, value: Any) -> int:
    """An option that must be a whole number (≥ 0), as a number or as the command line's text."""
    if isinstance(value, bool) or not isinstance(value, (int, str)) or not str(value).strip().isdigit():
        raise ConfigError(f"{pipeline}: option {name} must be a whole number, got {value!r}")
    return int(value)


def number(pipeline: str, name: str, value: Any) -> float:
    """An option that must be a number, as a number or as the command line's text."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{pipeline}: option {name} must be a number, got {value!r}") from None
