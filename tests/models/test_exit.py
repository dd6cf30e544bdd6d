"""A program whose model calls fail ends with its own error, not an aborted interpreter.

When the first of several gathered calls fails, the rest are cancelled as the program ends, and
pyreqwest's thread is still letting go of them while the interpreter finalizes; without the wait at
exit (`openai_compat._settle_at_exit`) CPython aborted this program in 13 of 15 runs ("Fatal Python
error: PyGILState_Release", exit 134), and in none of 30 with it. Each run is a fresh process of about
two seconds (the default retry policy's waits); eight of them all pass without the wait with a chance
below one in a million."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

_PROGRAM = """
import asyncio, sys
from agentzoo import OpenAICompatible
from agentzoo.types import ModelRequest
model = OpenAICompatible("m", base_url=f"http://127.0.0.1:{sys.argv[1]}/v1", api_key=None)
request = ModelRequest(messages=[{"role": "user", "content": "hi"}])
async def main():
    await asyncio.gather(*(model.complete(request) for _ in range(10)))
asyncio.run(main())
"""


def _refused_port() -> int:
    """A loopback port nobody listens on (bound, then closed): every connection is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_failed_calls_in_flight_end_the_program_with_its_error_not_an_abort():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]))
    port = _refused_port()
    for run in range(8):
        done = subprocess.run([sys.executable, "-c", _PROGRAM, str(port)], env=env, capture_output=True,
                              text=True, timeout=120)
        assert "Fatal Python error" not in done.stderr, f"run {run}: {done.stderr[-500:]}"
        assert done.returncode == 1, f"run {run}: exit {done.returncode}: {done.stderr[-500:]}"
        assert "ProviderConnectionError: cannot connect to http://127.0.0.1" in done.stderr
