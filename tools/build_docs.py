"""Build the documentation site and check the links inside it: the one command (README, ``.ci/run``).

::

    pip install ".[docs]"
    python tools/build_docs.py               # docs/_build/html, warnings are errors
    python tools/build_docs.py --no-gallery  # the same without running the examples (while writing)

Runs ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``
from the repository root (so the gallery runs this checkout's sklstm, whose
compiled kernels the test run has cached), then ``tools/check_links.py``
on the result. Exits non-zero on any warning or broken link.
"""

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
OUT = os.path.join("docs", "_build", "html")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-gallery", action="store_true", help="do not run the examples")
    parser.add_argument("--jobs", "-j", default="1", help="Sphinx's parallel jobs (default 1)")
    args = parser.parse_args(argv)
    cmd = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-j", args.jobs, "-b", "html",
           "docs", OUT]
    if args.no_gallery:
        cmd += ["-D", "plot_gallery=0"]
    start = time.perf_counter()
    print(" ".join(cmd[1:]), flush=True)
    rc = subprocess.call(cmd, cwd=ROOT)
    print(f"sphinx: exit {rc} after {time.perf_counter() - start:.0f} s", flush=True)
    if rc:
        return rc
    return subprocess.call([sys.executable, os.path.join("tools", "check_links.py"), OUT], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
