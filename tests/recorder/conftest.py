"""Fixtures for recorder tests: a private PulseAudio daemon, an S3 server, speech excerpts."""
from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from recorder_helpers import read_all

from tests.pulse_daemon import private_pulseaudio

SINK = "counter1"
RATE_HZ = 16000


@dataclass(frozen=True)
class Pulse:
    """A running private PulseAudio daemon; ``env`` points clients at it."""

    runtime_dir: Path
    env: dict[str, str]
    sink: str

    @property
    def monitor(self) -> str:
        return f"{self.sink}.monitor"

    def play_when_recording(self, wav: Path, frames_captured, *, timeout_s: float = 40.0) -> None:  # noqa: ANN001
        """Wait until the capture side has delivered half a second (a fresh PulseAudio stream
        can take a second to start, and speech played before that is never captured), then
        play ``wav`` to the end and let the tail drain."""
        deadline = time.monotonic() + 10
        while frames_captured() < 8000 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert frames_captured() >= 8000, "no audio from the PulseAudio monitor"
        player = self.play(wav)
        assert player.wait(timeout=timeout_s) == 0, player.stderr.read()
        time.sleep(0.6)

    def play(self, wav: Path) -> subprocess.Popen:
        """Start playing ``wav`` into the sink (returns at once)."""
        return subprocess.Popen(["paplay", f"--device={self.sink}", str(wav)],
                                env={**os.environ, **self.env}, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)


@pytest.fixture(scope="session")
def pulse(tmp_path_factory: pytest.TempPathFactory):
    """Start ``pulseaudio`` as this user (root) with a 16 kHz mono null sink, in its own
    runtime dir so it touches no real session; kill it afterwards."""
    if shutil.which("pulseaudio") is None or shutil.which("paplay") is None:
        pytest.fail("pulseaudio / paplay not installed: run scripts/install.sh --test")
    runtime = tmp_path_factory.mktemp("pulse")
    with private_pulseaudio(runtime, sink=SINK, rate_hz=RATE_HZ) as env:
        yield Pulse(runtime_dir=runtime, env=env, sink=SINK)


@pytest.fixture
def pulse_env(pulse: Pulse, monkeypatch: pytest.MonkeyPatch) -> Pulse:
    """Point PortAudio's ALSA 'pulse' device of this process at the private daemon's monitor."""
    for k, v in pulse.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("PULSE_SOURCE", pulse.monitor)
    return pulse


@pytest.fixture
def s3(tmp_path: Path):
    """A real ``rclone serve s3`` on loopback serving a fresh folder."""
    from storage.s3server import S3Server

    with S3Server(data_dir=tmp_path / "s3") as server:
        yield server


@pytest.fixture(scope="session")
def speech_mono(data_dir: Path) -> np.ndarray:
    """14.1 s of noisy mono speech (16 kHz s16, no resampling anywhere)."""
    return read_all(data_dir / "dev08-mono-noisy.flac", channels=1)


@pytest.fixture(scope="session")
def speech_stereo(data_dir: Path) -> np.ndarray:
    """27.1 s of clean stereo speech (16 kHz s16)."""
    return read_all(data_dir / "dev01-stereo-clean.flac", channels=2)


@pytest.fixture(scope="session")
def speech_rude_mono(data_dir: Path) -> np.ndarray:
    """17.8 s of noisy mono counter dialogue in which the staff says 烦不烦 and 爱找谁找谁."""
    return read_all(data_dir / "dev24-mono-noisy.flac", channels=1)
