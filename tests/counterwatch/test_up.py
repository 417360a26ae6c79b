"""The main job: `counterwatch up` with a file-source agent sending through the API with its own
token, as the README runs it."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def _cw(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "counterwatch", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_up_record_show_and_clean_stop(tmp_path: Path, data_dir: Path):
    data = tmp_path / "data"
    env = {**os.environ, "COUNTERWATCH_DATA": str(data), "COUNTERWATCH_CPU_THREADS": "2"}
    up = subprocess.Popen([sys.executable, "-m", "counterwatch", "up", "--api-port", "0"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        while not any("Ctrl-C" in line for line in lines):
            line = up.stdout.readline()
            assert line, f"up exited early: {lines}"
            lines.append(line)
        out = "".join(lines)
        api = re.search(r"API\s+(http://127\.0\.0\.1:\d+)/api/v1", out).group(1)
        assert re.search(r"S3 server\s+http://127\.0\.0\.1:\d+", out)
        assert (data / "stack.json").stat().st_mode & 0o777 == 0o600
        assert data.stat().st_mode & 0o777 == 0o700 and (data / "counterwatch.db").stat().st_mode & 0o777 == 0o600
        assert json.loads(urllib.request.urlopen(f"{api}/healthz", timeout=5).read()) == {"ok": True}
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{api}/api/v1/counters", timeout=5)
        assert e.value.code == 401

        assert _cw("counter", "add", "window-1", env=env).returncode == 0
        issued = _cw("agent", "token", "--counter", "window-1", env=env)
        assert issued.returncode == 0 and str(data / "agents" / "window-1.token") in issued.stdout, issued.stderr
        assert (data / "agents" / "window-1.token").stat().st_mode & 0o777 == 0o600
        rec = _cw("record", "--counter", "window-1", "--source", f"ffmpeg:{data_dir / 'dev05-stereo-clean.flac'}",
                  env=env)
        assert rec.returncode == 0, rec.stderr
        assert "0 samples dropped, 0 left in the spool" in rec.stdout
        shown = _cw("show", "--wait", "90", env=env)
        assert "F-SELF-SERVE" in shown.stdout and "F-REPEAT-BLAME" in shown.stdout, shown.stdout
        found = _cw("search", "多少遍", env=env)
        assert found.returncode == 0 and "【多少遍】" in found.stdout and "window-1" in found.stdout, found.stdout
        flags = [json.loads(x) for x in _cw("flags", "--json", "--rule", "F-REPEAT-BLAME", env=env).stdout.split("\n") if x]
        assert flags and all(f["counter"] == "window-1" for f in flags)
        bad = _cw("record", "--counter", "window-9", "--source", "ffmpeg:/nonexistent.wav", env=env)
        assert bad.returncode == 2 and "no agent token for counter window-9" in bad.stderr, bad.stderr
        bad = _cw("agent", "token", "--counter", "window-9", env=env)
        assert bad.returncode == 2 and "window-9" in bad.stderr and "not registered" in bad.stderr
        bad = _cw("record", "--counter", "window-1", "--source", "ffmpeg:/nonexistent.wav", env=env)
        assert bad.returncode == 2 and "nonexistent.wav" in bad.stderr
    finally:
        up.send_signal(signal.SIGINT)
        rc = up.wait(60)
    assert rc == 0
    assert not (data / "stack.json").exists()
