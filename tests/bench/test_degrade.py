"""bench/degrade.py: hall-condition variants are seeded, deterministic and at the levels they
claim. Synthetic tone bursts stand in for speech, so the test needs no corpus."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

DEGRADE_PY = Path(__file__).resolve().parents[2] / "bench" / "degrade.py"
SR = 16000


@pytest.fixture(scope="module")
def degrade():
    spec = importlib.util.spec_from_file_location("counterwatch_bench_degrade", DEGRADE_PY)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod          # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


def dialogue(seed: int, seconds: float = 8.0) -> np.ndarray:
    """Alternating 'turns' of vowel-like harmonic bursts, staff left, customer right, 12 % crosstalk."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    staff, cust = np.zeros(n), np.zeros(n)
    pos, side = 0.5, 0
    while pos < seconds - 1.0:
        dur = rng.uniform(0.6, 1.2)
        i0, i1 = int(pos * SR), min(n, int((pos + dur) * SR))
        f0 = rng.uniform(150, 260)
        burst = sum(np.sin(2 * np.pi * f0 * k * t[i0:i1]) / k for k in range(1, 8))
        burst *= np.hanning(i1 - i0) * (1 + 0.5 * np.sin(2 * np.pi * 4 * t[i0:i1]))
        (staff if side == 0 else cust)[i0:i1] += 0.3 * burst / np.abs(burst).max()
        pos += dur + rng.uniform(0.3, 0.8)
        side ^= 1
    return np.stack([staff + 0.12 * cust, cust + 0.12 * staff], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def clean() -> np.ndarray:
    return dialogue(1)


@pytest.fixture(scope="module")
def sources() -> list[np.ndarray]:
    return [dialogue(s, 6.0) for s in range(10, 14)]


@pytest.mark.parametrize("variant", ["stereo-busy", "mono-verybusy", "mono-noisy", "babble-only"])
def test_same_seed_same_samples_other_seed_differs(degrade, clean, sources, variant):
    a = degrade.make_variant(clean, SR, variant, 7, sources)
    b = degrade.make_variant(clean, SR, variant, 7, sources)
    c = degrade.make_variant(clean, SR, variant, 8, sources)
    assert a.dtype == np.float32 and a.shape[0] == clean.shape[0]
    assert a.ndim == (1 if variant.startswith("mono") else 2)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.abs(a).max() <= 1.0


def test_identity_and_mono_clean(degrade, clean):
    assert np.array_equal(degrade.make_variant(clean, SR, "stereo-clean", 1), clean)
    np.testing.assert_allclose(degrade.make_variant(clean, SR, "mono-clean", 1), clean.mean(axis=1), atol=1e-7)


@pytest.mark.parametrize("variant,babble_db", [("stereo-busy", 15.0), ("stereo-verybusy", 8.0)])
def test_babble_level_and_measured_snr(degrade, clean, sources, variant, babble_db):
    _, rep = degrade.degrade(clean, SR, variant, 3, sources)
    assert rep["babble_snr_db"] == pytest.approx([babble_db, babble_db], abs=0.01)
    # what reaches the output: the babble plus codec and clipping distortion, so a little worse
    for snr in rep["output_snr_db"]:
        assert babble_db - 4.0 < snr < babble_db + 0.5
    assert 0.0002 < rep["clipped_fraction"] < 0.003


def test_mono_noisy_snr(degrade, clean):
    _, rep = degrade.degrade(clean, SR, "mono-noisy", 3)
    assert rep["snr_fullband_db"] == pytest.approx(12.0, abs=0.01)
    assert rep["snr_inband_db"] > 18.0        # the band-pass takes out most of the brown noise


def test_babble_only_has_no_counter_speech(degrade, clean, sources):
    full = degrade.make_variant(clean, SR, "stereo-verybusy", 5, sources)
    only = degrade.make_variant(clean, SR, "babble-only", 5, sources)
    # same babble as the very-busy recording, less the speech: much less energy
    assert np.mean(only.astype(float) ** 2) < 0.5 * np.mean(full.astype(float) ** 2)
    assert np.mean(only.astype(float) ** 2) > 0


def test_codecs_band_limit_to_4k(degrade, clean):
    x = clean[:, 0].astype(np.float64)
    for codec in ("mulaw", "alaw", "opus"):
        y = degrade.codec_round_trip(x, SR, codec)
        assert y.shape == x.shape
        spec = np.abs(np.fft.rfft(y)) ** 2
        f = np.fft.rfftfreq(len(y), 1 / SR)
        assert spec[f > 4300].sum() < 1e-3 * spec.sum(), codec


def test_babble_needs_other_dialogues(degrade, clean):
    with pytest.raises(ValueError, match="babble"):
        degrade.make_variant(clean, SR, "stereo-busy", 1, [])


def test_variant_names(degrade):
    assert degrade.variant_params("mono-busy-opus").codec == "opus"
    assert degrade.variant_params("mono-busy-opus").mono
    with pytest.raises(ValueError):
        degrade.variant_params("stereo-loud")


def test_flac_round_trip_is_byte_identical(degrade, clean, sources, tmp_path):
    y = degrade.make_variant(clean, SR, "stereo-busy", 2, sources)
    degrade.write_flac(tmp_path / "a.flac", y)
    degrade.write_flac(tmp_path / "b.flac", y)
    assert (tmp_path / "a.flac").read_bytes() == (tmp_path / "b.flac").read_bytes()
    back = degrade.read_audio(tmp_path / "a.flac")
    assert back.shape == y.shape
    assert np.abs(back - y).max() <= 1 / 32768 + 1e-9
