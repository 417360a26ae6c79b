"""The transcriber: batched and sequential decoders on real audio, several recordings in one
batched pass, and where the model runs (device and compute type, as far as this machine has
them)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from transcribe.analyze import Analyzer
from transcribe.asr import LEAD_IN_S, SLIVER_S, AsrOptions, Region, Transcriber, check_device, pack_windows, speech_regions
from transcribe.audio import load_audio
from transcribe.errors import DeviceError

RATE = 16000
#: FireRedASR's meeting excerpt (bench/realspeech, Apache-2.0): real conversational speech.
MEETING = Path(__file__).resolve().parents[2] / "bench" / "realspeech" / "TEST_MEETING_T0000000001_S00000.flac"
FILES = ["dev01-stereo-clean.flac", "dev05-stereo-clean.flac", "dev08-mono-noisy.flac", "dev24-mono-noisy.flac"]


def _gpus() -> int:
    import ctranslate2

    return ctranslate2.get_cuda_device_count()


def _channels(entry: dict) -> str:
    if not entry["channels"]:
        return "mono"
    return "staff,customer" if entry["channels"]["left"] == "staff" else "customer,staff"


def test_windows_hold_at_most_30_s_of_speech_of_one_recording():
    regions = [Region(0, 0, 20 * RATE), Region(0, 25 * RATE, 32 * RATE), Region(1, 0, 5 * RATE),
               Region(1, 9 * RATE, 30 * RATE), Region(2, 0, 30 * RATE)]
    windows = pack_windows(regions)
    assert [[(g.recording, g.start // RATE) for g in w] for w in windows] == [
        [(0, 0), (0, 25)], [(1, 0), (1, 9)], [(2, 0)]]
    assert all(sum(g.end - g.start for g in w) <= 30 * RATE for w in windows)


def test_speech_regions_leave_no_sliver_cut_nor_the_first_word():
    """The meeting clip: VAD (min silence 500 ms, 400 ms padding) starts at 0.08 s and cuts
    60 ms out of running speech at 5.84 s; neither is cut now (each cost words, issue 19)."""
    samples = load_audio(MEETING).mono()
    regions = speech_regions(samples, recording=3, min_silence_ms=500)
    assert regions and all(g.recording == 3 and 0 <= g.start < g.end <= len(samples) for g in regions)
    assert regions[0].start == 0
    assert all(b.start - a.end >= SLIVER_S * RATE for a, b in zip(regions, regions[1:]))
    assert sum(g.end - g.start for g in regions) == len(samples)    # one stretch: nothing cut out
    # speech that starts later keeps VAD's own start (its 400 ms of padding), nothing more
    late = np.concatenate([np.zeros(3 * RATE, np.float32), samples])
    first = speech_regions(late, recording=0, min_silence_ms=500)[0]
    assert LEAD_IN_S * RATE < 3 * RATE - 0.5 * RATE <= first.start <= 3 * RATE


@pytest.mark.slow
def test_words_at_a_join_are_heard_by_both_decoders_as_bare_faster_whisper_hears_them(analyzer, sequential):
    """The meeting clip, decoded by the batched and the sequential decoder, gives bare
    faster-whisper's text on the same model (it lost 好 at the start and 上班 at the cut at
    5.84 s: 上门), with word times within the recording."""
    import unicodedata

    from faster_whisper import WhisperModel

    from transcribe.normalize import to_simplified

    def letters(segments) -> str:  # noqa: ANN001
        return "".join(c for c in to_simplified("".join(s.text for s in segments))
                       if unicodedata.category(c).startswith("L"))

    samples = load_audio(MEETING).mono()
    bare = WhisperModel(analyzer.transcriber.model_path, device="cpu", compute_type="int8", cpu_threads=2,
                        local_files_only=True)
    bare_text = letters(bare.transcribe(samples, language="zh")[0])
    for decoder in (analyzer.transcriber, sequential.transcriber):
        segments = list(decoder.transcribe(samples))
        text = letters(segments)
        assert text == bare_text, decoder.options.batch_size
        assert text.startswith("好") and "上班" in text and "上门" not in text
        words = [w for s in segments for w in s.words]
        assert all(0 <= w.start_s <= w.end_s <= len(samples) / RATE + 0.01 for w in words)


@pytest.mark.slow
def test_interactions_transcribed_together_get_their_own_words_and_flags(analyzer, data_dir: Path, labels: dict):
    """The worker's batch: four dialogues (clean stereo and noisy mono) share batches; each
    gets its own words, in its own time, and exactly its labelled flags."""
    audios = [load_audio(data_dir / n) for n in FILES]
    many = analyzer.transcriber.transcribe_many([a.mono() for a in audios])
    assert len(many) == len(FILES)
    for name, audio, segments in zip(FILES, audios, many, strict=True):
        words = [w for s in segments for w in s.words]
        assert words, name
        assert all(0 <= w.start_s <= w.end_s <= audio.duration_s + 0.01 for w in words), name
        assert [s.start_s for s in segments] == sorted(s.start_s for s in segments)
        result = analyzer.analyze_audio(audio, name=name, channels=_channels(labels[name]), asr_segments=segments)
        entry = labels[name]
        assert {f.rule for f in result.flags if f.type == "forbidden"} == set(entry["forbidden"]), name
        assert {f.rule for f in result.flags if f.type == "missing_courtesy"} == set(entry["missing_courtesy"]), name


@pytest.fixture(scope="module")
def sequential(model_path: str, analyzer: Analyzer) -> Analyzer:
    return Analyzer(Transcriber(model_path, cpu_threads=2, options=AsrOptions(batch_size=0)), analyzer.rulebook)


@pytest.mark.slow
def test_batched_hears_what_sequential_hears(analyzer: Analyzer, sequential: Analyzer, data_dir: Path,
                                             labels: dict):
    """Corpus dialogues (clean stereo, noisy mono): the batched decoder, alone and in a worker's
    batch of four, gives the sequential decoder's words (same text, nearly the same times) and
    exactly its flags."""
    audios = [load_audio(data_dir / n) for n in FILES]
    together = analyzer.transcriber.transcribe_many([a.mono() for a in audios])
    for name, audio, shared in zip(FILES, audios, together, strict=True):
        channels = _channels(labels[name])
        seq_asr = list(sequential.transcriber.transcribe(audio.mono()))
        seq = sequential.analyze_audio(audio, name=name, channels=channels, asr_segments=seq_asr)
        sw = [w for s in seq_asr for w in s.words]
        assert sw, name
        for how, asr in (("alone", list(analyzer.transcriber.transcribe(audio.mono()))), ("in a batch of four", shared)):
            bw = [w for s in asr for w in s.words]
            assert "".join(w.text for w in bw) == "".join(w.text for w in sw), (name, how)
            assert len(bw) == len(sw) and max(abs(a.start_s - b.start_s) for a, b in zip(bw, sw)) <= 0.5, (name, how)
            bat = analyzer.analyze_audio(audio, name=name, channels=channels, asr_segments=asr)
            # the utterances may be cut a word apart (word times differ a little); not their text
            assert "".join(s.text for s in bat.segments) == "".join(s.text for s in seq.segments), (name, how)
            assert sorted((f.type, f.rule, f.speaker) for f in bat.flags) == \
                sorted((f.type, f.rule, f.speaker) for f in seq.flags), (name, how)
        assert {f.rule for f in seq.flags if f.type == "forbidden"} == set(labels[name]["forbidden"]), name


@pytest.mark.slow
def test_sequential_decoder_still_there_with_word_times(sequential: Analyzer, data_dir: Path, labels: dict,
                                                        analyzer: Analyzer):
    seq = sequential.transcriber
    name = "dev05-stereo-clean.flac"
    audio = load_audio(data_dir / name)
    segments = list(seq.transcribe(audio.mono()))
    assert segments and all(s.words for s in segments)
    assert seq.transcribe_many([audio.mono(), np.zeros(RATE * 3, np.float32)])[1] == []
    result = sequential.analyze_audio(audio, name=name, channels="staff,customer")
    assert {f.rule for f in result.flags if f.type == "forbidden"} == set(labels[name]["forbidden"])


def test_silence_only_gives_nothing_batched(analyzer):
    assert analyzer.transcriber.transcribe_many([np.zeros(RATE * 5, np.float32)] * 2) == [[], []]
    assert analyzer.transcriber.transcribe_many([]) == []


def test_device_and_compute_type_are_checked():
    assert check_device("cpu", "int8") == "cpu"
    assert check_device("auto", "int8") == ("cuda" if _gpus() else "cpu")
    if _gpus():
        assert check_device("cuda", "float16") == "cuda"
    else:
        with pytest.raises(DeviceError, match="no CUDA device") as e:
            check_device("cuda", "float16")
        assert e.value.device == "cuda" and "'cuda'" in str(e.value)
    with pytest.raises(DeviceError, match="compute type 'float16' is not supported") as e:
        check_device("cpu", "float16")
    assert "int8" in str(e.value)
    with pytest.raises(DeviceError, match="unknown device"):
        check_device("tpu", "int8")
    with pytest.raises(ValueError, match="batch_size"):
        AsrOptions(batch_size=-1)


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "counterwatch", *args], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **(env or {})})


@pytest.mark.slow
def test_cli_device_and_batch_options_reach_the_model(data_dir: Path, tmp_path: Path):
    f = str(data_dir / "dev05-stereo-clean.flac")
    for args in (["analyze", "--device", "cuda", f], ["worker", "--burst", "--device", "cuda", "--data", str(tmp_path)]):
        p = _cli(*args)
        if _gpus():   # the model loads there; the worker goes on to its (missing) database
            assert p.returncode != 3 and "device 'cuda'" not in p.stderr, p.stderr
        else:
            # exit 3 (the model cannot run there), naming the device, before any database is opened
            assert p.returncode == 3 and "device 'cuda'" in p.stderr and "no CUDA device" in p.stderr, p.stderr
            assert not list(tmp_path.iterdir())
    p = _cli("analyze", "--compute-type", "float16", "--device", "cpu", f)
    assert p.returncode == 3 and "compute type 'float16' is not supported" in p.stderr, p.stderr
    # the sequential decoder through the same command, from the environment
    p = _cli("analyze", "--json", f, env={"COUNTERWATCH_ASR_BATCH_SIZE": "0", "COUNTERWATCH_LOG_LEVEL": "INFO"})
    assert p.returncode == 0 and "sequential" in p.stderr and "F-SELF-SERVE" in p.stdout, p.stderr
    p = _cli("analyze", "--json", "--batch-size", "4", f, env={"COUNTERWATCH_LOG_LEVEL": "INFO"})
    assert p.returncode == 0 and "batched, 4 windows per batch" in p.stderr and "F-SELF-SERVE" in p.stdout
    for args in (["worker", "--help"], ["analyze", "--help"]):
        out = _cli(*args).stdout
        assert "--device" in out and "--compute-type" in out and "--batch-size" in out
