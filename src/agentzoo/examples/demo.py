"""The shipped example: an arithmetic agent with two tools.

With no model configured, `agentzoo demo` runs it on the shipped local model (SmolLM2-135M,
offline, `local` extra), or, when that is not installed, with `demo_script.json` (a
ScriptedModel playing what a model would answer), so a fresh install shows a whole run, its
journal, replay and export without a key. With a model configured, the same agent runs on it.
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


LOCAL_MODEL = "local:smollm2-135m"
MAX_STEPS = 3  # add, multiply, the answer: what the task takes; a small model that loops stops there
LOCAL_MAX_TOKENS = 96  # a reply here is a tool call or a number; past that the 135M model repeats itself
RIGHT_ANSWER = "126"


def default_model() -> tuple[str, str | None]:
    """The model the demo runs when none is configured: the shipped local model when it is
    installed, else the script; and, for the script, why the local model could not run."""
    from ..errors import UserError
    from ..models.local import server_config

    try:
        server_config(LOCAL_MODEL.removeprefix("local:"), {})  # the extra, the weights, a GGUF: no loading
    except UserError as exc:
        return f"scripted:{SCRIPT}", str(exc)
    return LOCAL_MODEL, None


def local_note(answer: str | None, tool_calls: int) -> str:
    """What the shipped 135M model showed, said plainly (printed after a demo run on it)."""
    right = bool(answer) and RIGHT_ANSWER in answer
    got = (f"This time it made {tool_calls} tool call{'' if tool_calls == 1 else 's'} and "
           f"{'answered ' + RIGHT_ANSWER if right else 'did not get ' + RIGHT_ANSWER + ' (expected of it)'}.")
    return (
        "What a 135M model can and cannot do: SmolLM2-135M ran the whole loop for real on this machine, offline\n"
        "and for free: the prompts, the tokens, the tool calls, the journal, and the replay above. Held to a JSON\n"
        "schema by constrained decoding (the json tool mode), it always writes a well-formed tool call or answer;\n"
        "but it is far too small to plan: it picks the wrong tool or arguments, repeats itself, and gets\n"
        f"arithmetic wrong. {got}\n"
        "Use it to try agentzoo's machinery; judge agents with a stronger model:\n"
        "  agentzoo demo --model local:/path/to/model.gguf     any GGUF you have (e.g. a 1.5B-8B instruct model)\n"
        "  agentzoo demo --model openai:gpt-4o-mini            or any model string (see agentzoo run --help)")
