"""The fast loop (``bash scripts/test.sh --fast``) leaves out exactly what it says: the
PostgreSQL variants (``--sqlite-only``), slow and soak tests; browser tests are slow ones."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_every_browser_test_module_is_marked_slow():
    uses_a_browser = re.compile(r"^\s*(from|import) (playwright|browser_support|tests\.api\.browser_support)\b", re.M)
    browser = [p for p in (ROOT / "tests").rglob("test_*.py") if uses_a_browser.search(p.read_text(encoding="utf-8"))]
    assert len(browser) >= 4, browser
    unmarked = [p.name for p in browser if "pytestmark = pytest.mark.slow" not in p.read_text(encoding="utf-8")]
    assert unmarked == [], f"browser tests the fast loop would run: {unmarked}"


@pytest.mark.slow     # a pytest collection in a subprocess: the full suite runs it, the fast loop does not
def test_sqlite_only_deselects_the_postgresql_variants():
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "--sqlite-only",
                        "tests/storage/test_migrations.py"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    ids = [line for line in r.stdout.splitlines() if "::" in line]
    assert any("[sqlite]" in t for t in ids) and not any("[postgresql]" in t for t in ids), ids
    assert re.search(r"\b1 deselected\b", r.stdout), r.stdout
