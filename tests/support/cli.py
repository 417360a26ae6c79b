"""The ``counterwatch`` CLI in a subprocess, as an operator runs it."""
from __future__ import annotations

import os
import subprocess
import sys


def run_cli(*args: str, env: dict[str, str] | None = None, timeout_s: float = 120) -> subprocess.CompletedProcess:
    """``python -m counterwatch ARGS`` with ``env`` on top of this process's environment."""
    return subprocess.run([sys.executable, "-m", "counterwatch", *args], env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout_s)


def popen_cli(*args: str, env: dict[str, str] | None = None, **kw: object) -> subprocess.Popen:
    """``python -m counterwatch ARGS`` started in the background."""
    return subprocess.Popen([sys.executable, "-m", "counterwatch", *args], env={**os.environ, **(env or {})},
                            **kw)  # type: ignore[call-overload]
