"""The sandbox worker as a child process the running event loop watches, whatever loop that is.

A root host starts the worker as `nobody` (see tiers.py). asyncio's subprocess support does that
with `user=`, `group=` and `extra_groups=`, which `subprocess` applies in C between fork and exec;
uvloop's (the command line's loop, runtime/event_loop.py) refuses those arguments, and a
`preexec_fn` would run Python in the child of a threaded parent. So the worker is started by
`subprocess.Popen` on every loop, its output pipes are joined to the loop as streams, and its exit
is noticed through a pidfd (Linux 5.3+), as asyncio's own PidfdChildWatcher does; where there is
no pidfd, a thread waits for it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Sequence


class WorkerProcess:
    """A started child: `pid`, `stdout` and `stderr` as StreamReaders, `returncode` (None while it
    runs) and `wait()`, as asyncio.subprocess.Process has them."""

    def __init__(self, popen: subprocess.Popen[bytes], stdout: asyncio.StreamReader,
                 stderr: asyncio.StreamReader) -> None:
        self._popen = popen
        self.pid = popen.pid
        self.stdout, self.stderr = stdout, stderr
        self._exited: asyncio.Future[int] | None = None

    @classmethod
    async def start(cls, argv: Sequence[str], *, pass_fds: Sequence[int], env: dict[str, str],
                    cwd: str | None, user: int | None) -> WorkerProcess:
        """Start `argv` in a new session with no stdin, as `user` (and its group alone) if given.
        Raises OSError as Popen does (no such program, permission denied)."""
        loop = asyncio.get_running_loop()
        popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 pass_fds=tuple(pass_fds), env=env, cwd=cwd, start_new_session=True,
                                 user=user, group=user, extra_groups=[] if user is not None else None)
        readers = []
        try:
            for pipe in (popen.stdout, popen.stderr):
                reader = asyncio.StreamReader()
                await loop.connect_read_pipe(lambda reader=reader: asyncio.StreamReaderProtocol(reader), pipe)
                readers.append(reader)
        except BaseException:  # not watched, so not left running
            popen.kill()
            popen.wait()
            raise
        return cls(popen, *readers)

    @property
    def returncode(self) -> int | None:
        return self._popen.poll()

    async def wait(self) -> int:
        """The exit status (negative: the signal that ended it), once the process has exited."""
        if (code := self._popen.poll()) is not None:
            return code
        if self._exited is None:
            self._exited = self._watch()
        # Shielded: a caller that stops waiting (wait_for) does not stop the watch for the next one.
        return await asyncio.shield(self._exited)

    def _watch(self) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        if not hasattr(os, "pidfd_open"):
            return asyncio.ensure_future(asyncio.to_thread(self._popen.wait))
        exited: asyncio.Future[int] = loop.create_future()
        pidfd = os.pidfd_open(self.pid)

        def readable() -> None:  # the pidfd becomes readable once the process has exited
            loop.remove_reader(pidfd)
            os.close(pidfd)
            if not exited.done():
                exited.set_result(self._popen.wait())

        loop.add_reader(pidfd, readable)
        return exited
