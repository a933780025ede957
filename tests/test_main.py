"""``python -m sklstm`` runs the main job on its embedded default task."""

import subprocess
import sys

from sklstm.__main__ import main


def test_demo_prints_a_score(capsys):
    assert main(["demo", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "test accuracy:" in out and "baseline" in out


def test_module_entry_point_runs():
    res = subprocess.run([sys.executable, "-m", "sklstm", "demo", "--epochs", "1"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "test accuracy:" in res.stdout
