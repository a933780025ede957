"""The README's Python examples run as written.

A block whose first line is ``# needs: mod1, mod2`` uses an optional extra:
it runs in :func:`test_readme_optional_blocks` and skips cleanly when one of
those modules is missing (``.ci/run`` reruns it with the extras installed).
"""

import importlib.util
import os
import re
import sys
import warnings

import pytest

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")
NEEDS = re.compile(r"# needs: *([\w., ]+)\n")


def _blocks():
    with open(README, encoding="utf-8") as f:
        return re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)


def _needs(code):
    m = NEEDS.match(code)
    return [s.strip() for s in m.group(1).split(",") if s.strip()] if m else []


def test_readme_python_blocks_run():
    blocks = [b for b in _blocks() if not _needs(b)]
    assert blocks
    # the GPU example (device="auto") runs under the CUDA simulator here: switch threads often
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        _run(blocks)
    finally:
        sys.setswitchinterval(old)


def test_readme_optional_blocks():
    blocks = [b for b in _blocks() if _needs(b)]
    if not blocks:
        pytest.skip("the README has no block needing an optional extra")
    missing = sorted({m for b in blocks for m in _needs(b) if importlib.util.find_spec(m) is None})
    if missing:
        pytest.skip(f"optional extras not installed: {', '.join(missing)}")
    _run(blocks)


def _run(blocks):
    for code in blocks:
        environ = dict(os.environ)  # a block must not change the environment of later tests (dask's
        try:  # nanny sets its workers' variables, OMP_NUM_THREADS=1..., in the process that starts them)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
        finally:
            os.environ.clear()
            os.environ.update(environ)
