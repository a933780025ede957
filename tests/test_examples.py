"""Every example in examples/ runs as written (the long-lag one in its quick mode)."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script, tmp_path):
    args = [sys.executable, os.path.abspath(os.path.join(EXAMPLES, script))]
    if script == "adding_problem.py":
        args.append("--quick")
    res = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip()


@pytest.mark.parametrize("name", ["vowels", "tagging", "airline", "adding", "stream"])
def test_demo_entry_points(name, capsys):
    from sklstm.__main__ import main

    args = ["demo", name] + (["--lag", "30", "--epochs", "2"] if name == "adding" else [])
    assert main(args) == 0
    assert capsys.readouterr().out.strip()
