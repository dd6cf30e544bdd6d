"""The uids a root host lends its landlock sandboxes: one each, held while the sandbox lives, never one in use."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentzoo.sandbox import uids


def no_tasks(uid: int) -> int:
    return 0


@pytest.fixture
def block(monkeypatch):
    """A small block of its own, so that the tests do not meet the sandboxes of other tests."""
    import secrets

    first = uids.FIRST + 0x8000 + secrets.randbelow(0x7000)
    monkeypatch.setattr(uids, "FIRST", first)
    monkeypatch.setattr(uids, "COUNT", 16)
    return first


def test_each_holder_gets_its_own_and_a_released_one_is_lent_again(block):
    first, second = uids.lease(no_tasks), uids.lease(no_tasks)
    assert (first.uid, second.uid) == (block, block + 1)
    first.release()
    again = uids.lease(no_tasks)
    assert again.uid == block
    again.release()
    second.release()


def test_a_uid_held_by_another_process_is_not_lent(block):
    code = (f"import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind('\\0agentzoo-sandbox-uid-{block}'); "
            "print('held', flush=True); sys.stdin.read()")
    other = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert other.stdout.readline() == "held\n"
        lent = uids.lease(no_tasks)
        assert lent.uid == block + 1
        lent.release()
    finally:
        other.stdin.close()
        other.wait(timeout=10)
    lent = uids.lease(no_tasks)  # its process ended: the kernel freed the name
    assert lent.uid == block
    lent.release()


def test_a_uid_that_still_runs_a_task_is_skipped_and_a_full_block_lends_none(block):
    busy = {block, block + 1}
    lent = uids.lease(lambda uid: 1 if uid in busy else 0)
    assert lent.uid == block + 2
    held = [uids.lease(no_tasks) for _ in range(16)]  # 16 in the block, one lent above: 15 more, then none
    assert held[-1] is None and all(h is not None for h in held[:-1])
    for h in [lent, *held[:-1]]:
        h.release()


def test_no_uid_is_lent_where_the_block_is_not_mapped(block, monkeypatch):
    monkeypatch.setattr(uids, "mapped", lambda: False)
    assert uids.lease(no_tasks) is None


def test_the_block_is_checked_against_the_user_namespace_map(tmp_path, monkeypatch):
    import builtins

    real_open = builtins.open

    def fake(rows):
        def opener(path, *args, **kwargs):
            if path == "/proc/self/uid_map":
                return real_open(tmp_path / "uid_map", *args, **kwargs)
            return real_open(path, *args, **kwargs)
        (tmp_path / "uid_map").write_text(rows)
        monkeypatch.setattr(builtins, "open", opener)

    fake("         0          0 4294967295\n")
    assert uids.mapped()
    fake("         0     100000      65536\n")  # a rootless container's map
    assert not uids.mapped()


def test_where_no_name_can_be_held_none_is_lent_at_once(block, monkeypatch):
    import errno
    import socket

    tried = []

    class Refused(socket.socket):
        def bind(self, address):
            tried.append(address)
            raise PermissionError(errno.EPERM, "refused by policy")

    monkeypatch.setattr(uids.socket, "socket", Refused)
    assert uids.lease(no_tasks) is None and len(tried) == 1
