"""Fixtures for recorder tests beside the shared ones: the private PulseAudio daemon as this
process's PortAudio input, speech excerpts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from recorder_helpers import read_all

from tests.support.pulse import Pulse

SINK = "counter1"
RATE_HZ = 16000


@pytest.fixture
def pulse_env(pulse: Pulse, monkeypatch: pytest.MonkeyPatch) -> Pulse:
    """Point PortAudio's ALSA 'pulse' device of this process at the private daemon's monitor."""
    for k, v in pulse.env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("PULSE_SOURCE", pulse.monitor)
    return pulse


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
