"""The context an agent runs in: the run's gateway and the agent's own scope."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from ..protocols import DeltaCallback, Embedder, Model
from ..types import ModelRequest, ModelResponse
from .gateway import Gateway
from .scope import Scope


class Context:
    """What an agent holds: effects go through `gateway`, numbered within `scope`.

    `child(name)` gives a sub-agent or a parallel branch its own scope; create children in
    program order (before running them concurrently) so their names are deterministic.
    """

    __slots__ = ("gateway", "scope", "on_delta")

    def __init__(self, gateway: Gateway, scope: Scope | None = None,
                 on_delta: DeltaCallback | None = None) -> None:
        self.gateway = gateway
        self.scope = scope or Scope()
        self.on_delta = on_delta

    def child(self, name: str, index: int | None = None) -> Context:
        return Context(self.gateway, self.scope.child(name, index), self.on_delta)

    # The effects return the gateway's coroutine rather than awaiting it in one of their own: one
    # coroutine less per effect in every run's chain of awaits (which the collector walks).

    def model(self, model: Model, request: ModelRequest) -> Awaitable[ModelResponse]:
        for_scope = getattr(model, "for_scope", None)  # a model per role (`models.roles.RoleModels`)
        if for_scope is not None:
            model = for_scope(self.scope.path)
        return self.gateway.model_call(self.scope, model, request, self.on_delta)

    def embed(self, embedder: Embedder, texts: list[str]) -> Awaitable[list[list[float]]]:
        """One vector per text, recorded: replay serves the vectors with no embedder."""
        return self.gateway.embed_call(self.scope, embedder, texts)

    def effect(self, kind: str, name: str, request: Any, perform: Callable[[], Awaitable[Any]],
               *, side_effects: bool = False, local: bool = False) -> Awaitable[Any]:
        return self.gateway.effect(self.scope, kind, name, request, perform, side_effects=side_effects, local=local)

    def now(self) -> Awaitable[float]:
        """The wall clock as a recorded effect: replay and resume see the time the run saw."""
        return self.gateway.effect(self.scope, "clock", "time", {}, _time)

    def seed(self) -> Awaitable[int]:
        """A fresh random seed as a recorded effect, for `random.Random(await ctx.seed())`."""
        return self.gateway.effect(self.scope, "random", "seed", {}, _seed)

    def step(self) -> None:
        """Count one agent step against the step budgets."""
        self.gateway.check_step(self.scope)


async def _time() -> float:
    return time.time()


async def _seed() -> int:
    return int.from_bytes(os.urandom(8), "big") >> 1  # 63 random bits from the OS
