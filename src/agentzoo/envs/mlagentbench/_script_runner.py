"""Runs in the sandbox (standard library only): lay the workspace out, run one script, send back what changed.

The host sends this file's text followed by `main(<payload>)`; the result goes back through the sandbox's
`final_answer` (JSON), so the script's own printing cannot be mistaken for it.
"""

import os
import subprocess
import sys


def main(payload):
    for path, text in payload["files"].items():
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    cap = payload["max_output_chars"]
    timed_out = False
    try:
        done = subprocess.run([sys.executable, "-u", payload["script"]], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=payload["timeout"])
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err, timed_out = None, exc.stdout or b"", exc.stderr or b"", True
    files, skipped = {}, []
    for root, folders, names in os.walk("."):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for name in sorted(names):
            path = os.path.relpath(os.path.join(root, name), ".").replace(os.sep, "/")
            if os.path.getsize(path) > payload["max_file_bytes"]:
                skipped.append([path, "larger than the workspace keeps"])
                continue
            with open(path, "rb") as f:
                data = f.read()
            try:
                files[path] = data.decode("utf-8")
            except UnicodeDecodeError:
                skipped.append([path, "not text"])
    final_answer({"returncode": code, "timed_out": timed_out, "files": files, "skipped": skipped,  # noqa: F821
                  "stdout": out.decode("utf-8", "replace")[-cap:], "stderr": err.decode("utf-8", "replace")[-cap:]})
