"""Would compiling the hot path make a step cheaper? Instructions per model turn, source against Cython-compiled.

    .venv/bin/python bench/compiled.py [--mode inproc|http] [--cythonize PATH]

Copies `src/` to a temporary folder, compiles the modules an in-process step runs through (`HOT`, unchanged:
no type declarations added, annotations not used as C types) with Cython into extension modules beside their
sources (which Python then imports instead), and counts the instructions per model turn of both copies the way
`bench/instructions.py` does (callgrind; the same runner and task). It answers whether the step's cost is the
interpreter's dispatch (which compiling removes) or the work itself (objects, dicts, calls into C), which it does not.

Needs valgrind, a C compiler and Cython (`pip install cython` into any environment of the same Python; name its
`cythonize` with `--cythonize`). Nothing here is installed or shipped compiled.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import subprocess
import tempfile
from pathlib import Path

import instructions  # bench/instructions.py, beside this script

ROOT = Path(__file__).resolve().parent.parent
HOT = ["runtime/gateway.py", "runtime/journal.py", "runtime/request_codec.py", "runtime/secrets.py",
       "runtime/budgets.py", "runtime/context.py", "runtime/scope.py", "runtime/runner.py", "runtime/entry.py",
       "runtime/stores/sqlite.py", "runtime/dbfile.py", "agents/tool_calling.py", "agents/acting.py",
       "agents/formats.py", "tools/calling.py", "tools/function_tool.py", "tools/toolset.py", "types.py", "_json.py",
       "models/scripted.py", "models/openai_compat.py", "models/retry.py", "models/concurrency.py"]


def compile_copy(into: Path, cythonize: str) -> Path:
    src = into / "src"
    shutil.copytree(ROOT / "src", src, ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    done = subprocess.run([cythonize, "-i", "-3", "-q", "-j", "2", "-X", "annotation_typing=False", *HOT],
                          cwd=src / "agentzoo", capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cythonize failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    missing = [m for m in HOT if not list((src / "agentzoo" / m).parent.glob(Path(m).stem + ".*.so"))]
    if missing:
        raise SystemExit(f"not compiled: {', '.join(missing)}")
    return src


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=["inproc", "http"], default="inproc")
    p.add_argument("--cythonize", default=shutil.which("cythonize") or "cythonize")
    p.add_argument("--small", type=int, default=40)
    p.add_argument("--large", type=int, default=140)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="agentzoo-compiled-") as tmp:
        compiled = compile_copy(Path(tmp), a.cythonize)
        with instructions.stub_server() if a.mode == "http" else contextlib.nullcontext("") as url:
            source = instructions.per_unit(a.mode, a.small, a.large, url, None)
            built = instructions.per_unit(a.mode, a.small, a.large, url, compiled)
    print(f"{a.mode}: source {source / 1000:,.1f} thousand instructions per model turn, compiled "
          f"{built / 1000:,.1f} thousand ({len(HOT)} modules); compiled / source {built / source:.3f}")


if __name__ == "__main__":
    main()
