"""Reproduce every result of this capsule from scratch, offline.

1. install the packages in vendor/ into lib/ (pip, no index: nothing is downloaded);
2. make the data files (code/make_data.py);
3. run the analysis (code/analysis.py), which writes results/.
"""

import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(*args):
    print("$", " ".join(args), flush=True)
    subprocess.run(list(args), cwd=ROOT, check=True)


def main():
    vendor = os.path.join(ROOT, "vendor")
    for name in sorted(os.listdir(vendor)):
        run(sys.executable, "-m", "pip", "install", "--quiet", "--upgrade", "--no-index", "--no-build-isolation",
            "--target", "lib", os.path.join("vendor", name))
        # pip builds in the source folder; the build leftovers are not part of the capsule
        for leftover in ("build", name + ".egg-info"):
            shutil.rmtree(os.path.join(vendor, name, leftover), ignore_errors=True)
    run(sys.executable, "code/make_data.py")
    run(sys.executable, "code/analysis.py")


if __name__ == "__main__":
    main()
