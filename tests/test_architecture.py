"""The layers hold and the code checks are clean: import-linter's contracts (pyproject.toml),
ruff on the product packages, the tests and the benchmarks, mypy on the product packages. A
wrong import fails here with the contract it breaks."""
from __future__ import annotations

import shutil
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


def _python_only(folder: str, names: list[str]) -> list[str]:
    return [n for n in names if not n.endswith(".py") and not (Path(folder) / n).is_dir() or n in ("node_modules", "__pycache__")]


def test_a_wrong_import_is_caught(tmp_path: Path):
    """The contracts are not vacuous: storage importing the API breaks the layers contract. The
    probe goes into a copy of the packages (no test writes into the source tree)."""
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=_python_only)
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (tmp_path / "storage" / "_architecture_probe.py").write_text("import api.app  # noqa: F401\n")
    r = subprocess.run([str(BIN / "lint-imports"), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode != 0 and "storage._architecture_probe -> api.app" in r.stdout, r.stdout + r.stderr
    assert not (ROOT / "storage" / "_architecture_probe.py").exists()


def test_ruff_is_clean():
    """The product packages, the tests and the benchmarks."""
    r = _run(str(BIN / "ruff"), "check", *PACKAGES, "tests", "bench")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.slow
def test_mypy_is_clean():
    r = _run(str(BIN / "mypy"), timeout_s=900)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr
