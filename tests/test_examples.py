"""Every example in examples/ runs: in its quick mode, as the documentation's gallery runs it, except the
long-lag one, whose full run must reproduce the 1997 result."""

import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(__file__), os.pardir, "examples")
SCRIPTS = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))
#: scripts run in full, for the results the test checks (the others in quick mode: SKLSTM_EXAMPLES_QUICK=1)
FULL = {"adding_problem.py"}
#: runs a script as ``python script.py [args]`` does, then says on stderr how many figures it left open
#: (with the Agg backend plt.show() closes none; "None": matplotlib is not installed, the script only prints)
RUNNER = ("import runpy, sys; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__'); "
          "plt = sys.modules.get('matplotlib.pyplot'); "
          "print('figures:', plt and len(plt.get_fignums()), file=sys.stderr)")


def _run(script, cwd, quick, args=()):
    env = {k: v for k, v in os.environ.items() if k != "SKLSTM_EXAMPLES_QUICK"}
    env["MPLBACKEND"] = "Agg"  # plt.show() returns at once
    if quick:
        env["SKLSTM_EXAMPLES_QUICK"] = "1"
    path = os.path.abspath(os.path.join(EXAMPLES, script))
    res = subprocess.run([sys.executable, "-c", RUNNER, path, *args], capture_output=True, text=True,
                         timeout=600, cwd=cwd, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip()
    return res


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script, tmp_path):
    res = _run(script, tmp_path, quick=script not in FULL)
    figures = res.stderr.strip().splitlines()[-1]
    if script not in FULL:  # each draws at least one figure when matplotlib is installed
        assert figures == "figures: None" or int(figures.split()[1]) >= 1, figures
    assert not os.listdir(tmp_path), "an example left files behind; figures are shown, not saved"
    if script == "adding_problem.py":  # the 1997 result: LSTM bridges 1000 steps, the tanh RNN does not
        rows = {tuple(line.split()[:2]): float(line.split()[2]) for line in res.stdout.splitlines()
                if line.split()[:1] and line.split()[0].isdigit()}
        assert rows[("1000", "lstm")] < 0.05 and rows[("1000", "rnn")] > 0.1, res.stdout


def test_quick_flag_is_the_environment_variable(tmp_path):
    """``--quick`` and SKLSTM_EXAMPLES_QUICK=1 run the same quick mode (the gallery passes no arguments)."""
    assert _run("streaming.py", tmp_path, quick=False, args=["--quick"]).stdout == \
        _run("streaming.py", tmp_path, quick=True).stdout


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
