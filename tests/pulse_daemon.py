"""One private PulseAudio daemon for tests: its own runtime dir (no real session touched) and
one 16-bit mono null sink; the recorder and signage fixtures both start it this way."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def private_pulseaudio(runtime: Path, *, sink: str, rate_hz: int) -> Iterator[dict[str, str]]:
    """Run ``pulseaudio`` as this user (root works: ``--system=false`` keeps it per-user) with
    a null sink ``sink`` in ``runtime``; yields the environment that points clients at it."""
    runtime.chmod(0o700)
    env = {
        "XDG_RUNTIME_DIR": str(runtime),
        "HOME": str(runtime),  # cookie and state land here, not in the real home
        "PULSE_SERVER": f"unix:{runtime}/pulse/native",
    }
    log = runtime / "pulse.log"
    subprocess.run(["pulseaudio", "-n", "--daemonize=yes", "--exit-idle-time=-1", "--system=false",
                    "--disallow-exit=no", "--use-pid-file=yes", f"--log-target=file:{log}",
                    "-L", f"module-null-sink sink_name={sink} rate={rate_hz} channels=1 format=s16le",
                    "-L", "module-native-protocol-unix"], env={**os.environ, **env}, check=True, timeout=30)
    pid_file = runtime / "pulse" / "pid"
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and (runtime / "pulse" / "native").exists()):
        if time.monotonic() > deadline:
            pytest.fail(f"pulseaudio did not start:\n{log.read_text() if log.exists() else ''}")
        time.sleep(0.05)
    pid = int(pid_file.read_text().strip())
    try:
        yield env
    finally:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
