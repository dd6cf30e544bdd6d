"""A uid of its own for each landlock sandbox a root host starts.

The landlock tier has no user namespace, so the kernel counts a sandbox's process limit (RLIMIT_NPROC)
against every task of its uid. With every sandbox running as `nobody`, a limit set when one started was
taken by the sandboxes started after it: with 20 of them started later, an earlier one with
`processes=16` could not start a single process. A uid of its own makes the limit the sandbox's alone,
as bwrap's user namespace does, and `kill(-1)` in its worker reaches only its own processes.

A uid is held while the sandbox lives by binding an abstract Unix socket named after it: the kernel lets
one socket of this network namespace hold a name, and frees it when the socket is closed or its process
dies, so concurrent evals on one machine never share a uid and a crashed one leaves nothing to clean up.
(Containers with network namespaces of their own but the host's users may lend the same uid: those
sandboxes then share a budget, as all of them shared `nobody`'s before; their pid namespaces still keep
each worker's `kill(-1)` to its own container.) A uid that still has a task (a sandbox of a process that
died mid-action) is skipped. The uids come from a block far above any system's or person's (`FIRST`), used
only where this process's user namespace maps it; where it does not (a container that maps a few thousand
uids), sandboxes run as `nobody` as before.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Callable

FIRST = 0x5A000000  # 1,509,949,440: above the ranges distributions and container runtimes hand out
COUNT = 1 << 16  # sandboxes alive at once on one machine, at most
_NAME = "agentzoo-sandbox-uid-{}"


class UidLease:
    """`uid`, held until `release` (or until this process ends)."""

    def __init__(self, uid: int, holder: socket.socket) -> None:
        self.uid, self._holder = uid, holder

    def release(self) -> None:
        self._holder.close()


def lease(tasks_of: Callable[[int], int]) -> UidLease | None:
    """A uid no other sandbox of this machine holds and no task runs as, or None when the block is not
    mapped here (or is used up). `tasks_of(uid)` counts a uid's tasks."""
    if not mapped():
        return None
    for uid in range(FIRST, FIRST + COUNT):
        holder = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # not inherited by the worker (PEP 446)
        try:
            holder.bind("\0" + _NAME.format(uid))
        except OSError as exc:
            holder.close()
            if exc.errno == errno.EADDRINUSE:  # held by a live sandbox
                continue
            return None  # names cannot be held here at all (a security module): as `nobody`
        if tasks_of(uid):
            holder.close()
            continue
        return UidLease(uid, holder)
    return None


def mapped() -> bool:
    """Whether this process's user namespace holds the whole block, so that sandboxes can run as its uids."""
    try:
        with open("/proc/self/uid_map") as f:
            rows = [tuple(map(int, line.split())) for line in f if line.strip()]
    except (OSError, ValueError):
        return False
    return any(inside <= FIRST and FIRST + COUNT <= inside + length for inside, _outside, length in rows)

