"""A private PulseAudio daemon for tests: its own runtime dir (no real session touched) and one
16-bit mono null sink. The capture tests play speech into the sink and record its monitor; the
player tests record what the player plays."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Pulse:
    """A running private PulseAudio daemon with one null sink; ``env`` points clients at it."""

    runtime_dir: Path
    env: dict[str, str]
    sink: str
    rate_hz: int

    @property
    def monitor(self) -> str:
        return f"{self.sink}.monitor"

    def play(self, wav: Path) -> subprocess.Popen:
        """Start playing ``wav`` into the sink (returns at once)."""
        return subprocess.Popen(["paplay", f"--device={self.sink}", str(wav)],
                                env={**os.environ, **self.env}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)

    def play_when_recording(self, wav: Path, frames_captured: Callable[[], int], *, timeout_s: float = 40.0) -> None:
        """Wait until the capture side has delivered half a second (a fresh PulseAudio stream
        can take a second to start, and speech played before that is never captured), then
        play ``wav`` to the end and let the tail drain."""
        deadline = time.monotonic() + 10
        while frames_captured() < 8000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert frames_captured() >= 8000, "no audio from the PulseAudio monitor"
        player = self.play(wav)
        assert player.wait(timeout=timeout_s) == 0, player.stderr.read() if player.stderr else ""
        time.sleep(0.6)

    def record(self, path: Path) -> subprocess.Popen:
        """Record the sink's monitor (raw s16le mono at ``rate_hz``) into ``path`` until terminated."""
        return subprocess.Popen(["parec", f"--device={self.monitor}", "--format=s16le", f"--rate={self.rate_hz}",
                                 "--channels=1", "--raw", "--latency-msec=20", str(path)],
                                env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@contextmanager
def running_pulse(runtime: Path, *, sink: str, rate_hz: int = 16000) -> Iterator[Pulse]:
    """A :class:`Pulse` for the block; its sink is also the default sink of clients."""
    with private_pulseaudio(runtime, sink=sink, rate_hz=rate_hz) as env:
        yield Pulse(runtime_dir=runtime, env={**env, "PULSE_SINK": sink}, sink=sink, rate_hz=rate_hz)
