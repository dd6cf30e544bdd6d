"""A tool for crash tests: it counts its invocations in the file named by $CRASH_COUNTER."""

import os


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: first addend
        b: second addend
    """
    with open(os.environ["CRASH_COUNTER"], "a", encoding="utf-8") as f:
        f.write(f"add {a} {b}\n")
        f.flush()
        os.fsync(f.fileno())
    return a + b
