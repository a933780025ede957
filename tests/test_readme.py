"""The README's Python examples run as written."""

import os
import re
import sys
import warnings

README = os.path.join(os.path.dirname(__file__), os.pardir, "README.md")


def test_readme_python_blocks_run():
    with open(README, encoding="utf-8") as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert blocks
    # the GPU example (device="auto") runs under the CUDA simulator here: switch threads often
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    try:
        _run(blocks)
    finally:
        sys.setswitchinterval(old)


def _run(blocks):
    for code in blocks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
