"""The shipped example: an arithmetic agent with two tools.

With no model configured, `agentzoo demo` runs it with `demo_script.json` (a ScriptedModel
playing what a model would answer), so a fresh install shows a whole run, its journal, replay
and export without a key. With a model configured, the same agent runs for real.
"""

from __future__ import annotations

from pathlib import Path

TASK = "What is (17 + 25) * 3? Use the tools."
SYSTEM = "You are a careful assistant. Use the tools for arithmetic; answer with the number."
SCRIPT = Path(__file__).with_name("demo_script.json")
TOOLS = "agentzoo.examples.demo:add,agentzoo.examples.demo:multiply"


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: the first addend
        b: the second addend
    """
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers.

    Args:
        a: the first factor
        b: the second factor
    """
    return a * b
