"""Audio rules (冷场, 抢话, speech rate, raised voice) on constructed stereo audio with known
times: real speech cut from a corpus dialogue (tests/data), placed on the staff and customer
channels where the test wants it, with 12 % crosstalk each way as a window intercom has."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from domain.vocab import CUSTOMER, STAFF
from transcribe.audio import load_audio
from transcribe.interactions import InteractionSpan
from transcribe.judge import Judge
from transcribe.quality import Quality
from transcribe.rules import parse_rulebook
from transcribe.speakers import CharTime, Utterance
from transcribe.turns import channel_turns

DATA = Path(__file__).resolve().parents[1] / "data"
SR = 16000
ROLES = (STAFF, CUSTOMER)
BOOK = parse_rulebook("""
version: t
audio:
  - {id: A-SILENCE, kind: silence, min_s: 15, excused_by: 请稍等|稍等}
  - {id: A-OVERLAP, kind: overlap, min_ms: 1500}
  - {id: A-FAST, kind: speech_rate, max_cps: 8, min_s: 2}
  - {id: A-LOUD, kind: raised_voice, above_db: 10, min_s: 1}
""", source="t.yaml")


@pytest.fixture(scope="module")
def speech() -> dict[str, list[np.ndarray]]:
    """The staff's and the customer's turns of dev01, each from its own microphone channel."""
    entry = next(e for e in json.loads((DATA / "labels.json").read_text(encoding="utf-8"))
                 if e["file"] == "dev01-stereo-clean.flac")
    audio = load_audio(DATA / "dev01-stereo-clean.flac")
    out: dict[str, list[np.ndarray]] = {"S": [], "C": []}
    for u in entry["utterances"]:
        ch = 0 if u["speaker"] == "S" else 1
        out[u["speaker"]].append(audio.samples[ch, int(u["start"] * SR):int(u["end"] * SR)])
    return out


def stereo(length_s: float, staff: list[tuple[float, np.ndarray]], customer: list[tuple[float, np.ndarray]],
           crosstalk: float = 0.12) -> np.ndarray:
    s = np.zeros(int(length_s * SR), np.float32)
    c = np.zeros_like(s)
    for ch, parts in ((s, staff), (c, customer)):
        for at, x in parts:
            i = int(at * SR)
            ch[i:i + len(x)] += x[:len(ch) - i]
    return np.stack([s + crosstalk * c, c + crosstalk * s])


def judge(samples: np.ndarray, utts: list[Utterance] = ()):
    turns = channel_turns(samples, SR, ROLES)
    inter = InteractionSpan(0, 0.0, samples.shape[1] / SR)
    return turns, [f for f in Judge(BOOK).judge(list(utts), [inter], mono=False, turns=turns,
                                                quality={0: Quality()}) if f.type == "audio"]


def said(who: str, text: str, start_s: float, end_s: float) -> Utterance:
    step = (end_s - start_s) / len(text)
    return Utterance(STAFF if who == "S" else CUSTOMER, 0.95,
                     [CharTime(ch, start_s + k * step, start_s + (k + 1) * step) for k, ch in enumerate(text)])


def test_turns_follow_the_channels_at_the_known_times(speech):
    s0, c0 = speech["S"][0], speech["C"][0]          # 3.0 s and 2.1 s
    x = stereo(12.0, [(1.0, s0)], [(6.0, c0)], crosstalk=0.3)
    turns, flags = judge(x)
    assert [t.speaker for t in turns] == [STAFF, CUSTOMER] and flags == []
    # The cut starts with a little of the lead-in's silence: speech begins about 0.3 s in.
    assert turns[0].start_s == pytest.approx(1.3, abs=0.2) and turns[0].end_s == pytest.approx(1.0 + len(s0) / SR, abs=0.3)
    assert turns[1].start_s == pytest.approx(6.0, abs=0.2) and turns[1].end_s == pytest.approx(6.0 + len(c0) / SR, abs=0.3)


def test_overlap_beyond_the_threshold_is_flagged_where_the_staff_cut_in(speech):
    s0, c0 = speech["S"][2], speech["C"][0]          # staff 2.9 s, customer 2.1 s
    x = stereo(10.0, [(2.0, s0)], [(1.0, c0)])       # staff starts 1.0 s into the customer's 2.1 s
    _, flags = judge(x)
    assert [f.rule for f in flags] == []             # about 1.1 s of overlap: under 1.5 s
    x = stereo(10.0, [(1.3, s0)], [(1.0, speech["C"][0]), (2.9, speech["C"][2])])
    _, flags = judge(x)
    (f,) = flags
    assert f.rule == "A-OVERLAP" and f.start_s == pytest.approx(1.3, abs=0.25)
    assert f.speaker == STAFF and {r["kind"] for r in f.reasons} == {"match", "speaker", "audio"}
    # The customer talking over the staff is not the staff's doing.
    x = stereo(10.0, [(1.0, speech["S"][0])], [(1.5, c0)])
    assert judge(x)[1] == []


def test_silence_while_the_customer_waits(speech):
    s0, s1, c0 = speech["S"][0], speech["S"][2], speech["C"][0]
    x = stereo(30.0, [(1.0, s0), (24.0, s1)], [(5.0, c0)])       # customer done at 7.1 s, staff back at 24 s
    _, flags = judge(x)
    (f,) = flags
    assert f.rule == "A-SILENCE"
    assert f.start_s == pytest.approx(5.0 + len(c0) / SR, abs=0.3) and f.end_s == pytest.approx(24.0, abs=0.2)
    # "请稍等" just before the wait excuses it; a short wait is no wait.
    excused = [said("S", "请稍等，我查一下", 1.0, 4.0)]
    x = stereo(30.0, [(1.0, s0), (24.0, s1)], [(3.9, c0)])
    assert judge(x, excused)[1] == []
    x = stereo(20.0, [(1.0, s0), (12.0, s1)], [(5.0, c0)])
    assert judge(x)[1] == []


def test_raised_voice_above_the_staff_baseline(speech):
    s = speech["S"]
    calm = [(1.0, s[0]), (5.0, s[2]), (9.0, s[3])]
    assert judge(stereo(14.0, calm, []))[1] == []
    loud = [(1.0, 0.2 * s[0]), (5.0, 0.2 * s[2]), (9.0, s[3])]    # the third turn 14 dB above the first two
    flags = judge(stereo(14.0, loud, []))[1]
    assert flags and {f.rule for f in flags} == {"A-LOUD"} and all(f.start_s >= 8.9 for f in flags)
    assert flags[0].start_s == pytest.approx(9.0, abs=0.3) and flags[0].severity == "low"


def test_speech_rate_of_staff_utterances():
    x = np.zeros((2, 10 * SR), np.float32)
    fast = [said("S", "这个业务你先去那边填个表再过来交材料", 1.0, 3.0)]      # 18 characters in 2 s
    (f,) = judge(x, fast)[1]
    assert f.rule == "A-FAST" and f.evidence.startswith("语速每秒 9.")
    assert judge(x, [said("S", "这个业务你先去那边填个表再过来交材料", 1.0, 5.0)])[1] == []
    assert judge(x, [said("C", "这个业务你先去那边填个表再过来交材料", 1.0, 3.0)])[1] == []


def test_speech_rate_only_where_the_recogniser_was_sure_of_the_words():
    # Issue 19: in a very busy hall the recogniser writes babble into the staff's words and
    # squeezes their times; the rate is counted only over sure recognition of clear speech.
    fast = [said("S", "这个业务你先去那边填个表再过来交材料", 1.0, 3.0)]      # 18 characters in 2 s
    inter = InteractionSpan(0, 0.0, 10.0)

    def rate_flags(**signals):
        q = Quality(signals={"avg_logprob": -0.2, "snr_db": 30.0, **signals})
        return [f.rule for f in Judge(BOOK).judge(fast, [inter], mono=True, quality={0: q}) if f.type == "audio"]

    assert rate_flags() == ["A-FAST"]
    assert rate_flags(snr_db=18.0) == []             # assessable (over 17 dB), but the hall is loud
    assert rate_flags(avg_logprob=-0.6) == []        # the decoder was not sure of its words


def test_mono_has_no_turns_and_no_channel_rules(speech):
    inter = InteractionSpan(0, 0.0, 30.0)
    u = [said("C", "你好我想办社保卡", 1.0, 3.0), said("S", "好的", 25.0, 26.0)]
    flags = Judge(BOOK).judge(u, [inter], mono=True, turns=None, quality={0: Quality()})
    assert [f.rule for f in flags if f.type == "audio"] == []


def test_not_assessable_interactions_get_no_audio_flags(speech):
    x = stereo(30.0, [(1.0, speech["S"][0]), (24.0, speech["S"][2])], [(5.0, speech["C"][0])])
    turns = channel_turns(x, SR, ROLES)
    flags = Judge(BOOK).judge([], [InteractionSpan(0, 0.0, 30.0)], mono=False, turns=turns,
                              quality={0: Quality(assessable=False, reason="test")})
    assert flags == []


def test_the_copy_share_of_a_long_recording_is_worked_out_in_blocks_with_the_same_result():
    """copy_share (the crosstalk test of who speaks) works a long recording out 30 s at a time:
    the same figures as over the whole at once, with memory bounded by a block (a 900 s
    interaction over the whole at once took about 2 GB)."""
    import tracemalloc

    from transcribe import turns

    audio = load_audio(DATA / "dev01-stereo-clean.flac")
    one = audio.samples.astype(np.float64)          # (channels, frames)
    assert one.shape[0] == 2
    reps = int(np.ceil(75 * audio.sample_rate_hz / one.shape[1]))
    two = np.tile(one, reps)[:, :75 * audio.sample_rate_hz]        # 75 s: three blocks
    staff, customer = two[0], two[1]
    assert len(staff) // int(turns.FRAME_S * audio.sample_rate_hz) > 2 * turns.COPY_BLOCK_FRAMES
    whole = turns._copy_share(staff, customer, audio.sample_rate_hz)
    blocks = turns.copy_share(staff, customer, audio.sample_rate_hz)
    # the same wherever the staff channel holds sound (in digital silence the share is 0/0,
    # whatever rounding makes of it, and no turn is taken there)
    sound = turns.frame_levels_db(staff, audio.sample_rate_hz) > -100
    assert blocks.shape == whole.shape and sound.mean() > 0.5
    assert np.allclose(blocks[sound], whole[sound], rtol=0, atol=1e-9)
    tracemalloc.start()
    try:
        turns.copy_share(staff, customer, audio.sample_rate_hz)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 80 * 2**20, f"{peak / 2**20:.0f} MiB for 75 s"
