"""Tools: plain typed Python functions the model may call.

    from agentzoo.tools import tool, ToolSet

    @tool
    def add(a: int, b: int) -> int:
        '''Add two numbers.'''
        return a + b

    outcome = await ToolSet([add]).execute(call)   # never raises for the model's mistakes

This package imports pydantic; the top-level `agentzoo` package imports it lazily.
"""

from .function_tool import FunctionTool, tool
from .policy import ApprovalPolicy, Touches
from .toolset import ToolOutcome, ToolSet

__all__ = ["ApprovalPolicy", "FunctionTool", "ToolOutcome", "ToolSet", "Touches", "tool"]
