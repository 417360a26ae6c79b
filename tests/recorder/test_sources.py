"""Capture sources: spec parsing, the ffmpeg file source's exact samples, clear errors, and
the two backends behaving alike on the same PulseAudio feed."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
from recorder_helpers import best_correlation, write_wav

from domain.flac import decode_flac
from recorder.sources import FfmpegSource, PyAudioSource, SourceError, parse_source


def test_parse_source() -> None:
    s = parse_source("pyaudio:pulse", channels=1)
    assert isinstance(s, PyAudioSource) and s.device == "pulse" and s.channels == 1
    s = parse_source("pyaudio:3", channels=2)
    assert isinstance(s, PyAudioSource) and s.device == 3
    s = parse_source("ffmpeg:rtsp://cam.local/audio", channels=1)
    assert isinstance(s, FfmpegSource) and s.input_options == {"rtsp_transport": "tcp"} and not s.realtime
    s = parse_source("ffmpeg:alsa:hw:1,0", channels=2)
    assert s.input == "hw:1,0" and s.input_format == "alsa"
    assert s.command()[:5] == ["ffmpeg", "-f", "alsa", "-i", "hw:1,0"]
    s = parse_source("ffmpeg:/tmp/stream.sdp", channels=1)
    assert s.input_options == {"protocol_whitelist": "file,udp,rtp"}
    for bad in ("pulse", "pyaudio:", "sox:x"):
        with pytest.raises(SourceError):
            parse_source(bad, channels=1)
    with pytest.raises(ValueError):
        parse_source("pyaudio:pulse", channels=3)


def test_file_source_gives_every_sample_then_ends(data_dir: Path) -> None:
    path = data_dir / "dev08-mono-noisy.flac"
    expected = decode_flac(path.read_bytes())  # PyAV, independent of the ffmpeg CLI
    src = parse_source(f"ffmpeg:{path}", channels=1, block_frames=1000)
    assert src.realtime
    src.realtime = False  # same pipeline, faster than real time for this test
    blocks = []
    with src:
        while (b := src.read()) is not None:
            assert b.dtype == np.int16 and b.shape[1] == 1
            blocks.append(b)
        assert src.read() is None
    got = np.concatenate(blocks)
    assert np.array_equal(got, expected)
    assert src.frames_read == expected.shape[0]
    assert all(b.shape[0] == 1000 for b in blocks[:-1])


def test_file_source_plays_in_real_time(tmp_path: Path, speech_stereo: np.ndarray) -> None:
    wav = write_wav(tmp_path / "two_s.wav", speech_stereo[:32000])
    src = FfmpegSource(str(wav), channels=2)
    t0 = time.monotonic()
    n = 0
    with src:
        while (b := src.read()) is not None:
            n += b.shape[0]
    assert n == 32000
    assert 1.5 < time.monotonic() - t0 < 4.0


def test_ffmpeg_errors_carry_its_stderr(tmp_path: Path) -> None:
    junk = tmp_path / "junk.wav"
    junk.write_bytes(b"RIFF nonsense" * 10)
    src = FfmpegSource(str(junk), channels=1)
    with src, pytest.raises(SourceError) as exc:
        src.read()
    assert "ffmpeg exited with status" in str(exc.value) and "junk.wav" in str(exc.value)
    with pytest.raises(SourceError, match="no such file"):
        FfmpegSource(str(tmp_path / "missing.wav"), channels=1).start()


def test_unknown_pyaudio_device_names_the_choices() -> None:
    with pytest.raises(SourceError, match="no input device matches 'no-such-mic'"):
        PyAudioSource("no-such-mic", channels=1).start()
    with pytest.raises(SourceError, match="no input device matches 999"):
        PyAudioSource(999, channels=1).start()


@pytest.mark.slow
def test_pyaudio_and_ffmpeg_sources_hear_the_same(pulse_env, tmp_path: Path, speech_mono: np.ndarray) -> None:
    """Parity: both backends capture the same PulseAudio monitor as int16 (n, 1) blocks of
    the requested size, and both hear the played speech."""
    played = speech_mono[:32000]
    wav = write_wav(tmp_path / "speech.wav", played)
    sources = [PyAudioSource("pulse", channels=1, block_frames=1600),
               FfmpegSource(pulse_env.monitor, input_format="pulse", channels=1, block_frames=1600)]
    captured: dict[int, list[np.ndarray]] = {0: [], 1: []}

    def capture(i: int, stop: threading.Event) -> None:
        src = sources[i]
        while not stop.is_set():
            captured[i].append(src.read())

    for s in sources:
        s.start()
    stop = threading.Event()
    threads = [threading.Thread(target=capture, args=(i, stop)) for i in (0, 1)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.3)
        player = pulse_env.play(wav)
        assert player.wait(timeout=10) == 0, player.stderr.read()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(5)
        for s in sources:
            s.stop()
    for i, src in enumerate(sources):
        blocks = captured[i]
        assert all(b.dtype == np.int16 and b.shape == (1600, 1) for b in blocks), src
        got = np.concatenate(blocks)
        assert got.shape[0] == src.frames_read
        corr, lag = best_correlation(got, played)
        assert corr > 0.99 and -1600 < lag < got.shape[0], (src, corr, lag)
