"""Prices of common models, in USD per million tokens (input, output).

Figures are the providers' list prices for standard (non-batch, non-cached) use as published
on their pricing pages; they change, so treat them as defaults and override them:
`Pricing({"my-model": (0.1, 0.4)})`, or a JSON file named by `AGENTZOO_PRICES` holding
`{"model": [input_per_million, output_per_million], ...}`.
A model with no known price costs `None` (shown as "?"), never a made-up zero. Local models
(`local:...`, run by llama.cpp in this process) are known to be free: they cost 0.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from ..errors import ConfigError
from ..types import Usage

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3": (2.00, 8.00),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-3.5-turbo": (0.50, 1.50),
    "claude-3-5-sonnet": (3.00, 15.00),
    "claude-3-5-haiku": (0.80, 4.00),
    "deepseek-chat": (0.27, 1.10),
}


FREE_PREFIXES = ("local:",)
"""Model names that cost nothing: the model runs on this machine (`agentzoo.models.local`)."""


class Pricing:
    """Looks up a model's price; longest known prefix wins (`gpt-4o-mini-2024-07-18`)."""

    def __init__(self, prices: Mapping[str, tuple[float, float]] | None = None, *, use_env: bool = True) -> None:
        self.prices = dict(DEFAULT_PRICES)
        if use_env and (path := os.environ.get("AGENTZOO_PRICES")):
            self.prices.update(load_prices(path))
        if prices:
            self.prices.update(prices)
        self._by_length = sorted(self.prices, key=len, reverse=True)
        self._cache: dict[str, tuple[float, float] | None] = {}

    def price(self, model: str) -> tuple[float, float] | None:
        if model in self._cache:
            return self._cache[model]
        self._cache[model] = found = self._lookup(model)
        return found

    def _lookup(self, model: str) -> tuple[float, float] | None:
        if model.startswith(FREE_PREFIXES):
            return (0.0, 0.0)
        name = model.split("/")[-1].split(":")[-1]
        if name in self.prices:
            return self.prices[name]
        for known in self._by_length:
            if name.startswith(known):
                return self.prices[known]
        return None

    def cost(self, model: str, usage: Usage) -> float | None:
        price = self.price(model)
        if price is None:
            return None
        return (usage.input_tokens * price[0] + usage.output_tokens * price[1]) / 1_000_000


_default: Pricing | None = None


def default_pricing() -> Pricing:
    """One shared table built from the defaults and $AGENTZOO_PRICES (read once per process)."""
    global _default
    if _default is None:
        _default = Pricing()
    return _default


def load_prices(path: str) -> dict[str, tuple[float, float]]:
    try:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        return {str(k): (float(v[0]), float(v[1])) for k, v in raw.items()}
    except (OSError, ValueError, TypeError, IndexError, AttributeError) as exc:
        raise ConfigError(f"AGENTZOO_PRICES={path}: expected a JSON object "
                          f"{{\"model\": [input_usd_per_million, output_usd_per_million]}}: {exc}") from exc
