"""The screen player from a plain install: a fresh virtual environment with counterwatch and its
runtime dependencies only (no test extras), as on the box in the waiting area."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_player_starts_from_an_install_without_test_extras(tmp_path: Path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(ROOT)],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    # Really without the test extras: the browser driver is not there.
    probe = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('playwright') is None)"],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "True", probe.stdout + probe.stderr
    # Every module of the player imports, and the command answers.
    imports = ("import signage.player, signage.sync, signage.slides, signage.schedule, signage.chime, "
               "signage.metrics, counterwatch.cli")
    r = subprocess.run([str(py), "-c", imports], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(venv / "bin" / "counterwatch"), "signage", "--help"], capture_output=True, text=True,
                       timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "--screen" in r.stdout, r.stdout + r.stderr
