"""A model per role: teams and recipes ask for one model, the spec may give each role its own.

`RoleModels` stands where a model is expected. At each call the context asks it which model
serves the calling scope (`for_scope`): the deepest scope segment that names a role wins, so
`team/coder#2` is served by the `coder` model and anything else by the default one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..protocols import DeltaCallback, Model
from ..types import ModelRequest, ModelResponse


class RoleModels:
    def __init__(self, default: Model, roles: Mapping[str, Model]) -> None:
        self.default = default
        self.roles = dict(roles)
        self.name = default.name

    def for_scope(self, path: str) -> Model:
        for segment in reversed(path.split("/") if path else []):
            role = segment.partition("#")[0]
            if role in self.roles:
                return self.roles[role]
        return self.default

    async def complete(self, request: ModelRequest, *, on_delta: DeltaCallback | None = None) -> ModelResponse:
        return await self.default.complete(request, on_delta=on_delta)  # called without a scope: the default

    def all(self) -> list[Any]:
        return [self.default, *self.roles.values()]
