import subprocess
from pathlib import Path

import numpy as np
import pytest

from transcribe.audio import load_audio
from transcribe.errors import AudioError


def test_stereo_file_keeps_both_channels(data_dir: Path):
    a = load_audio(data_dir / "dev05-stereo-clean.flac")
    assert a.channels == 2 and a.sample_rate_hz == 16000
    assert 16.5 < a.duration_s < 17.5
    assert a.mono().shape == (a.samples.shape[1],)


def test_other_sample_rates_are_resampled(tmp_path: Path, data_dir: Path):
    out = tmp_path / "44k.wav"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-i", str(data_dir / "dev05-stereo-clean.flac"),
                    "-ar", "44100", str(out)], check=True)
    a = load_audio(out)
    assert a.sample_rate_hz == 16000 and a.channels == 2
    assert abs(a.duration_s - load_audio(data_dir / "dev05-stereo-clean.flac").duration_s) < 0.05


@pytest.mark.parametrize("name", ["bad.flac", "bad.wav", "bad"])
@pytest.mark.parametrize("content", [b"", b"this is a text file, not audio\n" * 50])
def test_non_audio_is_refused_with_the_file_named(tmp_path: Path, content: bytes, name: str):
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(AudioError) as e:
        load_audio(p)
    assert e.value.path == str(p) and str(e.value).startswith(str(p))
    assert "not a readable audio file" in e.value.reason or "no audio samples decoded" in e.value.reason


def test_missing_file(tmp_path: Path):
    with pytest.raises(AudioError, match="no such file"):
        load_audio(tmp_path / "nope.wav")


def test_truncated_file_decodes_what_is_there(tmp_path: Path, data_dir: Path):
    whole = (data_dir / "dev05-stereo-clean.flac").read_bytes()
    p = tmp_path / "cut.flac"
    p.write_bytes(whole[: len(whole) // 2])
    a = load_audio(p)
    assert 0 < a.duration_s < 12


def test_video_without_audio_is_refused(tmp_path: Path):
    p = tmp_path / "video.mp4"
    subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "color=c=black:s=32x32:d=1",
                    str(p)], check=True)
    with pytest.raises(AudioError, match="no audio stream"):
        load_audio(p)


def test_audio_values_are_float_in_range(data_dir: Path):
    a = load_audio(data_dir / "dev24-mono-noisy.flac")
    assert a.channels == 1 and a.samples.dtype == np.float32
    assert 0.01 < float(np.abs(a.samples).max()) <= 1.0
