"""The layers hold and the code checks are clean: import-linter's contracts (pyproject.toml),
ruff and mypy on the product packages. A wrong import fails here with the contract it breaks."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGES = ["domain", "storage", "services", "transcribe", "recorder", "signage", "api", "counterwatch"]


def _run(*cmd: str, timeout_s: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout_s)


def test_import_contracts_are_kept():
    r = _run(str(BIN / "lint-imports"), "--no-cache")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 broken" in r.stdout and "Contracts: 3 kept" in r.stdout, r.stdout


def test_a_wrong_import_is_caught(tmp_path: Path):
    """The contracts are not vacuous: storage importing the API breaks the layers contract."""
    bad = ROOT / "storage" / "_architecture_probe.py"
    bad.write_text("import api.app  # noqa: F401\n")
    try:
        r = _run(str(BIN / "lint-imports"), "--no-cache")
    finally:
        bad.unlink()
    assert r.returncode != 0 and "storage._architecture_probe -> api.app" in r.stdout, r.stdout


def test_ruff_is_clean():
    r = _run(str(BIN / "ruff"), "check", *PACKAGES)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    r = _run(str(BIN / "mypy"), timeout_s=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr
