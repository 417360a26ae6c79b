"""Issue 19: a dialogue whose speech the recogniser largely lost is ONE 无法判定 interaction, not
fragments of which one is judged and "misses" the greeting said in the lost part. Real rendered
speech (dev01: greeting, ID card, 请稍等, 再见; 24.8 s) with the recogniser's output for its
middle 13 s taken away, as a very busy hall does; the channels and the VAD see all of it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from transcribe.asr import AsrSegment, Word
from transcribe.audio import Audio, load_audio
from transcribe.interactions import InteractionSpan, join_lost_speech, voiced_in

DATA = Path(__file__).resolve().parents[1] / "data"
LABELS = {e["file"]: e for e in json.loads((DATA / "labels.json").read_text(encoding="utf-8"))}


def _segments(entry: dict, keep, logprob=lambda u: -0.2) -> list[AsrSegment]:
    """The labelled utterances that ``keep`` accepts, as the recogniser would return them (one
    timed word per character)."""
    out = []
    for u in entry["utterances"]:
        if not keep(u):
            continue
        step = (u["end"] - u["start"]) / len(u["text"])
        words = tuple(Word(u["start"] + k * step, u["start"] + (k + 1) * step, ch, 0.9) for k, ch in enumerate(u["text"]))
        out.append(AsrSegment(u["start"], u["end"], u["text"], words, logprob(u), 0.05))
    return out


def _lost_middle(u: dict) -> bool:
    return u["end"] <= 7.0 or u["start"] >= 20.0          # 7.5-19.8 s: four turns lost


def test_voiced_seconds_count_overlapping_regions_once():
    assert voiced_in([(0, 4), (2, 6), (8, 9)], 1, 10) == 6
    assert voiced_in([], 0, 5) == 0


def test_a_silent_gap_still_splits_and_a_voiced_one_does_not():
    inters = [InteractionSpan(0, 1.0, 6.0), InteractionSpan(1, 16.0, 20.0)]
    assert len(join_lost_speech(inters, None, [(1, 6), (16, 20)])) == 2            # 10 s of silence
    (one, parts, lost), = join_lost_speech(inters, None, [(1, 9), (9.5, 20)])
    assert (one.start_s, one.end_s, parts, lost) == (1.0, 20.0, (0, 1), 9.5)
    assert len(join_lost_speech(inters, None, [(1, 20)], boundaries_s=[12.0])) == 2  # a queue call
    assert len(join_lost_speech(inters, set(), [(1, 20)])) == 2                      # mono: both judged
    assert len(join_lost_speech(inters, {0}, [(1, 20)])) == 1


def test_stereo_dialogue_with_its_middle_lost_is_one_unassessable_interaction(analyzer):
    entry = LABELS["dev01-stereo-clean.flac"]
    audio = load_audio(DATA / entry["file"])
    got = analyzer.analyze_audio(audio, name=entry["file"], asr_segments=_segments(entry, _lost_middle))
    # Without the join: [1.0-6.9] judged, [20.6-24.8] judged and "missing" the greeting.
    assert len(got.interactions) == 1, got.interactions
    q = got.quality_of(0)
    assert not q.assessable and "没有识别出文字" in q.reason and q.signals["lost_s"] >= 6.0
    assert [f for f in got.flags if f.type in ("missing_courtesy", "audio")] == []
    assert not got.assessment().assessable


def test_mono_fragment_beside_an_unassessable_one_is_joined(analyzer):
    entry = LABELS["dev01-stereo-clean.flac"]
    stereo = load_audio(DATA / entry["file"])
    mono = Audio(stereo.samples.mean(axis=0, keepdims=True).astype(np.float32), stereo.sample_rate_hz)
    # The first fragment's words were guessed (log-probability -1.3: 识别把握度低), the last ones sure.
    segs = _segments(entry, _lost_middle, logprob=lambda u: -1.3 if u["end"] <= 7.0 else -0.2)
    got = analyzer.analyze_audio(mono, name="dev01-mono", asr_segments=segs)
    assert len(got.interactions) == 1 and not got.quality_of(0).assessable
    assert [f for f in got.flags if f.type == "missing_courtesy"] == []


def test_a_fully_recognised_dialogue_is_not_joined_or_withheld(analyzer):
    entry = LABELS["dev01-stereo-clean.flac"]
    audio = load_audio(DATA / entry["file"])
    got = analyzer.analyze_audio(audio, name=entry["file"], asr_segments=_segments(entry, lambda u: True))
    assert len(got.interactions) == 1 and got.quality_of(0).assessable
    assert "lost_s" not in got.quality_of(0).signals
    assert [f for f in got.flags if f.type == "missing_courtesy"] == []
