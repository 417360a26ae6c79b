"""The first run never fails (issue 18): the README's embedded sequence typed as fast as a person
pastes it (`up`, then at once `counter add window-3`, `record --counter window-3 --source
ffmpeg:<sample>`, `show`), with the real CLI in subprocesses; then a screen registers on the
fresh stack, the cleanly ended file-source session raises no `agent-gone`, and no library
warning reached the terminal."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.net import wait_for

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).parents[2] / "counterwatch" / "samples" / "counter-rude-stereo.flac"
WARNINGS = ("RuntimeWarning", "Mean of empty slice", "DeprecationWarning", "UserWarning", "Traceback")


def _cw(*args: str, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "counterwatch", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_the_readme_sequence_typed_at_once_works_on_a_fresh_stack(tmp_path: Path):
    data = tmp_path / "data"
    env = {**os.environ, "COUNTERWATCH_DATA": str(data), "COUNTERWATCH_CPU_THREADS": "2"}
    up_err = (tmp_path / "up.err").open("w+")
    up = subprocess.Popen([sys.executable, "-m", "counterwatch", "up", "--api-port", "0"], env=env,
                          stdout=subprocess.DEVNULL, stderr=up_err, text=True)
    outputs = []
    try:
        # As typed: the next command as soon as `up` has made its data folder, not when it is ready.
        wait_for(lambda: (data / "stack.json").exists() or up.poll() is not None, 120, "up wrote stack.json")
        added = _cw("counter", "add", "window-3", env=env)
        outputs.append(added)
        assert added.returncode == 0, added.stderr
        token = data / "agents" / "window-3.token"
        assert token.exists() and token.stat().st_mode & 0o777 == 0o600      # written at once
        rec = _cw("record", "--counter", "window-3", "--source", f"ffmpeg:{SAMPLE}", env=env)
        outputs.append(rec)
        assert rec.returncode == 0, rec.stderr
        assert "left in the spool" in rec.stdout
        shown = _cw("show", "--wait", "240", env=env)
        outputs.append(shown)
        assert shown.returncode == 0 and "window-3" in shown.stdout, (shown.stdout, shown.stderr)
        assert "F-" in shown.stdout, shown.stdout        # the rude sample's flags

        # A screen registers on this fresh stack (its site is made; no "no site 'hall'").
        screen = subprocess.Popen([sys.executable, "-m", "counterwatch", "signage", "--screen", "lobby", "--windowed"],
                                  env={**env, "DISPLAY": env.get("DISPLAY", ":97")}, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
        try:
            first = screen.stdout.readline()
        finally:
            screen.kill()
            screen.wait(30)
        assert "registered screen lobby at site hall" in first, first

        # The file source ended its session cleanly: no agent-gone, however long after.
        from services import alarms
        from storage.engine import make_engine

        engine = make_engine(f"sqlite:///{data / 'counterwatch.db'}")
        try:
            still_open = alarms.evaluate(engine, now=time.time() + 600)
        finally:
            engine.dispose()
        assert not [a for a in still_open if a[1] == "agent-gone"], still_open
    finally:
        up.send_signal(signal.SIGINT)
        rc = up.wait(90)
    assert rc == 0
    up_err.seek(0)
    terminal = up_err.read() + "".join(p.stdout + p.stderr for p in outputs)
    assert not [w for w in WARNINGS if w in terminal], terminal[-3000:]
