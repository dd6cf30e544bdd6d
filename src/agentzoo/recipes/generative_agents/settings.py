"""The options of one Generative Agents simulation, checked once (the defaults and their sources are in the
package's `__init__`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...errors import ConfigError


@dataclass(frozen=True)
class Withhold:
    """An intervention for forks: from step `from_step` on, `resident` never hears of the event — its seed
    memories that mention it are not given (when `from_step` is 0) and the lines that mention it in its
    conversations do not reach it (they are logged as withheld)."""

    resident: str
    from_step: int = 0

    @classmethod
    def of(cls, value: dict[str, Any] | None) -> Withhold | None:
        if value is None:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("resident"), str) or not value["resident"]:
            raise ConfigError(f"generative-agents: withhold must be {{\"resident\": NAME, \"from_step\": K}}, got "
                              f"{value!r}")
        unknown = set(value) - {"resident", "from_step"}
        if unknown:
            raise ConfigError(f"generative-agents: withhold has unknown key(s) {', '.join(sorted(unknown))}; "
                              "keys: resident, from_step")
        step = value.get("from_step", 0)
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise ConfigError(f"generative-agents: withhold.from_step must be a whole number ≥ 0, got {step!r}")
        return cls(value["resident"], step)

    def applies(self, name: str, step: int) -> bool:
        return name == self.resident and step >= self.from_step


@dataclass(frozen=True)
class Settings:
    residents: int | None
    hours: float | None
    steps_per_hour: int
    reflection_threshold: int
    recency_decay: float
    top_k: int
    dialogue_memories: int
    attention_bandwidth: int
    retention: int
    day_plan_items: tuple[int, int]
    action_minutes: tuple[int, int]
    max_dialogue_rounds: int
    chat_cooldown_minutes: int
    plan_importance: int
    importance_fallback: int
    reply_attempts: int
    embedder: str
    withhold: Withhold | None

    def __post_init__(self) -> None:
        def whole(name: str, low: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"generative-agents: {name} must be a whole number ≥ {low}, got {value!r}")

        for name, low in (("steps_per_hour", 1), ("reflection_threshold", 1), ("top_k", 1), ("dialogue_memories", 1),
                          ("attention_bandwidth", 1), ("retention", 1), ("max_dialogue_rounds", 1),
                          ("chat_cooldown_minutes", 0), ("reply_attempts", 1)):
            whole(name, low)
        if 60 % self.steps_per_hour:
            raise ConfigError(f"generative-agents: steps_per_hour must divide an hour into whole minutes "
                              f"(1, 2, 3, 4, 5, 6, 10, 12, …), got {self.steps_per_hour}")
        if self.residents is not None and (isinstance(self.residents, bool) or self.residents < 2):
            raise ConfigError(f"generative-agents: residents must be at least 2 (the host and one more), got "
                              f"{self.residents!r}")
        if self.hours is not None and not self.hours > 0:
            raise ConfigError(f"generative-agents: hours must be more than 0, got {self.hours!r}")
        if not 0 < self.recency_decay <= 1:
            raise ConfigError(f"generative-agents: recency_decay must be in (0, 1], got {self.recency_decay!r}")
        low, high = self.day_plan_items
        if not 1 <= low <= high:
            raise ConfigError(f"generative-agents: day_plan_items must be (fewest, most) with 1 ≤ fewest ≤ most, "
                              f"got {self.day_plan_items!r}")
        low, high = self.action_minutes
        if not 1 <= low <= high <= 60:
            raise ConfigError(f"generative-agents: action_minutes must be (shortest, longest) minutes within an "
                              f"hour, got {self.action_minutes!r}")
        for name in ("plan_importance", "importance_fallback"):
            if not 1 <= getattr(self, name) <= 10:
                raise ConfigError(f"generative-agents: {name} must be an importance from 1 to 10")

    @property
    def step_minutes(self) -> int:
        return 60 // self.steps_per_hour
