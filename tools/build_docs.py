"""Build the documentation site and check the links inside it: the one command (README, ``.ci/run``).

::

    pip install ".[docs]"
    python tools/build_docs.py               # docs/_build/html, warnings are errors
    python tools/build_docs.py --no-gallery  # the same without running the examples (while writing)

Runs ``python -m sphinx -W --keep-going -n -b html docs docs/_build/html``
from the repository root (so the gallery runs this checkout's sklstm, whose
compiled kernels the test run has cached), then ``tools/check_links.py``
on the result, and that every gallery page shows at least one figure.
Exits non-zero on any warning, broken link or gallery page without a figure.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))
OUT = os.path.join("docs", "_build", "html")
FIGURE = re.compile(r'class\s*=\s*"sphx-glr-(?:single|multi)-img"')


def gallery_figures(out):
    """``{example page: number of figures}`` of the built gallery."""
    pages = sorted(glob.glob(os.path.join(ROOT, out, "auto_examples", "*.html")))
    counts = {}
    for page in pages:
        name = os.path.basename(page)
        if name not in ("index.html", "sg_execution_times.html"):
            with open(page, encoding="utf-8") as f:
                counts[name] = len(FIGURE.findall(f.read()))
    return counts


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
    if not args.no_gallery:
        counts = gallery_figures(OUT)
        print("gallery figures: " + ", ".join(f"{k[:-5]} {v}" for k, v in counts.items()))
        if not counts or not all(counts.values()):
            print("a gallery page shows no figure (or the gallery is empty)")
            return 1
    return subprocess.call([sys.executable, os.path.join("tools", "check_links.py"), OUT], cwd=ROOT)


if __name__ == "__main__":
    sys.exit(main())
