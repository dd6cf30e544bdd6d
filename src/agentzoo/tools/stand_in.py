"""Stand-in tools: a recorded tool's name and schema, for replaying a run without its code.

A replay serves every tool result from the journal, so the agent needs only what the model was
shown about each tool (name, description, parameters). Building these from the run's stored spec
means `agentzoo replay` never imports the tool code a journal names.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


class StandInTool:
    """Has a recorded tool's name, description, parameters and touches; refuses to be called."""

    def __init__(self, name: str, description: str = "", parameters: dict[str, Any] | None = None,
                 touches: frozenset[str] | set[str] | list[str] = (), returns: str | None = None) -> None:
        self.name = name
        self.description = description
        self.parameters = parameters if parameters is not None else {"type": "object", "properties": {}}
        self.touches = frozenset(touches)
        self.returns = returns
        """The return annotation's text, which code-mode prompts show."""

    async def invoke(self, arguments: dict[str, Any]) -> Any:
        raise ConfigError(f"tool {self.name!r} is a stand-in for a replay: its code was not loaded, so the run "
                          "cannot call it for real")

    def __repr__(self) -> str:
        return f"StandInTool({self.name!r})"
