"""Runs in the sandbox (standard library only): lay a fresh copy of the repository out, run the install script
in it, then the repository's verification command; send back both exit statuses and the ends of their logs.

The host sends this file's text followed by `main(<payload>)`; the result goes back through the sandbox's
`final_answer`, so nothing the script prints can be mistaken for it.
"""

import os
import subprocess
import sys


def _run(argv, cwd, env, timeout, cap):
    try:
        done = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, timeout=timeout)
        code, out, timed_out = done.returncode, done.stdout, False
    except subprocess.TimeoutExpired as exc:
        code, out, timed_out = None, exc.stdout or b"", True
    return {"exit": code, "timed_out": timed_out, "log": out.decode("utf-8", "replace")[-cap:]}


def main(payload):
    top = os.path.abspath("run")
    repo, home = os.path.join(top, "repo"), os.path.join(top, "home")
    os.makedirs(home, exist_ok=True)
    for path, text in payload["files"].items():
        target = os.path.join(repo, path)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w", encoding="utf-8") as f:
            f.write(text)
    script = os.path.join(top, "install.sh")
    with open(script, "w", encoding="utf-8") as f:
        f.write(payload["script"])
    # `python3` is the sandbox's own interpreter; HOME (so pip's --user site) is this run's own folder; pip never
    # looks for an index (there is no network) and may install into the user site of a distribution's Python.
    env = {"PATH": os.path.dirname(sys.executable) + ":/usr/local/bin:/usr/bin:/bin", "HOME": home,
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PIP_NO_INDEX": "1", "PIP_BREAK_SYSTEM_PACKAGES": "1",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "TMPDIR": os.environ.get("TMPDIR", "/tmp")}
    cap = payload["max_log_chars"]
    # Like a Dockerfile's build, the script fails at its first failing command (bash -e).
    install = _run(["bash", "-e", script], repo, env, payload["install_seconds"], cap)
    verify = None
    if install["exit"] == 0:
        verify = _run(["bash", "-c", payload["verify"]], repo, env, payload["verify_seconds"], cap)
    final_answer({"install": install, "verify": verify})  # noqa: F821
