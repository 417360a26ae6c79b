"""The console's lint (ESLint) and unit tests (vitest) pass: `npm run lint` and `npm run test:unit`
in api/console, with the packages of its lockfile (`npm ci` first when node_modules is missing).
The console toolchain needs Node.js >= 20.19 (docs/console.md): without it this test fails and
says so, it does not skip."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CONSOLE = Path(__file__).resolve().parents[2] / "api" / "console"
NODE_MIN = (20, 19)
TIMEOUT_S = 900  # npm ci from the registry on a loaded machine


def _npm(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0", "CI": "1"}
    return subprocess.run(["npm", *args], cwd=CONSOLE, env=env, input=stdin, capture_output=True, text=True,
                          timeout=TIMEOUT_S, check=False)


@pytest.fixture(scope="module")
def toolchain() -> None:
    node = shutil.which("node")
    assert node and shutil.which("npm"), (
        f"Node.js >= {NODE_MIN[0]}.{NODE_MIN[1]} with npm is needed for the console's lint and unit tests "
        "(docs/console.md) and was not found on PATH")
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout.strip()
    found = tuple(int(x) for x in re.findall(r"\d+", version)[:2])
    assert found >= NODE_MIN, (
        f"the console's toolchain needs Node.js >= {NODE_MIN[0]}.{NODE_MIN[1]}, found {version} at {node} "
        "(Debian 12's own nodejs is 18: see docs/console.md)")
    if not (CONSOLE / "node_modules" / ".bin" / "eslint").exists() or not (CONSOLE / "node_modules" / ".bin" / "vitest").exists():
        done = _npm("ci", "--no-audit", "--no-fund")
        assert done.returncode == 0, f"npm ci in api/console failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def test_lint_passes(toolchain: None) -> None:
    done = _npm("run", "--silent", "lint")
    assert done.returncode == 0, f"npm run lint found problems:\n{done.stdout[-8000:]}\n{done.stderr[-4000:]}"


def test_lint_refuses_a_defect(toolchain: None) -> None:
    """The lint is not a no-op: an unused variable and a duplicate key in a console source fail it."""
    bad = "export function f(a) {\n  const unused = 1\n  return { a, a: 2 }\n}\n"
    done = _npm("exec", "--no-install", "--", "eslint", "--max-warnings", "0", "--stdin",
                "--stdin-filename", "src/lint-probe.js", stdin=bad)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no-unused-vars" in done.stdout and "no-dupe-keys" in done.stdout, done.stdout


def test_unit_tests_pass(toolchain: None) -> None:
    done = _npm("run", "--silent", "test:unit")
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"npm run test:unit failed:\n{out[-8000:]}"
    written = sum(len(re.findall(r"^\s*it\(", p.read_text(encoding="utf-8"), re.M))
                  for p in (CONSOLE / "tests").glob("*.test.js"))
    passed = re.search(r"Tests\s+(\d+) passed \((\d+)\)", out)
    assert passed, out[-4000:]
    assert int(passed.group(1)) == int(passed.group(2)) == written >= 30, out[-4000:]
