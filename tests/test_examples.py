"""Every example in examples/ runs as written (the long-lag one in its quick mode)."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")
#: scripts whose full run is a measurement of minutes: the test runs their quick mode
QUICK = {"language_model.py": ["--quick"], "translation.py": ["--quick"]}
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script, tmp_path):
    args = [sys.executable, os.path.abspath(os.path.join(EXAMPLES, script))] + QUICK.get(script, [])
    res = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip()
    if script == "adding_problem.py":  # the 1997 result: LSTM bridges 1000 steps, the tanh RNN does not
        rows = {tuple(line.split()[:2]): float(line.split()[2]) for line in res.stdout.splitlines()
                if line.split()[:1] and line.split()[0].isdigit()}
        assert rows[("1000", "lstm")] < 0.05 and rows[("1000", "rnn")] > 0.1, res.stdout


@pytest.mark.parametrize("name", ["vowels", "tagging", "airline", "adding", "stream", "text", "generate",
                                  "translate", "caption"])
def test_demo_entry_points(name, capsys, monkeypatch):
    from sklstm import _demos
    from sklstm.__main__ import main

    quick = {"adding": ["--lag", "30", "--epochs", "2"], "text": ["--epochs", "3"],
             "generate": ["--epochs", "1"], "translate": ["--epochs", "1"], "caption": ["--epochs", "2"]}
    if name == "generate":  # one of its two corpora (the same run on each; CI time): the source code's
        full = _demos.generate
        monkeypatch.setitem(_demos.DEMOS, "generate", lambda **kw: full(corpus=("python",), **kw))
        monkeypatch.setattr(_demos, "STDLIB_CHARS", 60_000)
    args = ["demo", name] + quick.get(name, [])
    assert main(args) == 0
    assert capsys.readouterr().out.strip()
