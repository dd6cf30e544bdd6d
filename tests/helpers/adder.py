"""An agent that adds with a tool for `steps` model calls: the run every journal test can make."""

from agentzoo import ScriptedModel, ToolCallingAgent, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def adder(steps: int, system: str = "Add.", *, silent: bool = False) -> ToolCallingAgent:
    """`steps` model calls (a tool call each, then "done"); `silent`: a model with nothing to say, for replay."""
    script = [{"tool_calls": [{"name": "add", "arguments": {"a": i, "b": 1}}]} for i in range(steps - 1)]
    return ToolCallingAgent(ScriptedModel([] if silent else script + ["done"]), [add], system=system,
                            max_steps=steps + 1)
