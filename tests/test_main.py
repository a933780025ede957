"""``python -m sklstm`` runs the main job on its embedded default task."""

import subprocess
import sys

from sklstm.__main__ import main


def test_default_main_job_beats_its_baseline(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "Japanese Vowels" in out and "test accuracy:" in out and "baseline" in out
    acc = float(out.split("test accuracy:")[1].split()[0])
    assert acc > 0.95


def test_module_entry_point_runs():
    res = subprocess.run([sys.executable, "-m", "sklstm", "demo", "vowels", "--epochs", "2"],
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    assert "test accuracy:" in res.stdout
