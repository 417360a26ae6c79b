"""Issue 19, what counts as an interaction: only a service exchange is judged; speech coverage
on stereo counts the staff's recognised speech. Built from made-up utterances and synthetic
signals."""
from __future__ import annotations

import numpy as np

from domain.vocab import CUSTOMER, STAFF
from transcribe.asr import AsrSegment, Word
from transcribe.interactions import InteractionSpan
from transcribe.judge import Judge
from transcribe.quality import NOT_SERVICE, Quality, measure, overall, service_exchange
from transcribe.rules import load_rulebook
from transcribe.speakers import Utterance, word_chars
from transcribe.turns import Turn

RATE = 16000


def utt(who: str, text: str, t: float, *, p: float = 0.97) -> Utterance:
    return Utterance(STAFF if who == "S" else CUSTOMER, p, word_chars(Word(t, t + 0.22 * len(text), text, 1.0)))


DIALOGUE = [utt("S", "您好，请问办理什么业务？", 1.0), utt("C", "我来交社保。", 4.5), utt("S", "好的，请稍等。", 7.0)]


def test_a_voice_command_is_no_service_exchange():
    ok, why = service_exchange([utt("S", "换一首歌", 0.5)])
    assert not ok and "只有一方说话" in why


def test_a_one_second_noise_fragment_is_no_service_exchange():
    ok, why = service_exchange([utt("S", "嗯", 0.2), utt("C", "啊", 0.6)])
    assert not ok and "秒" in why


def test_on_mono_length_and_turns_decide_as_the_sides_are_only_guessed():
    one_side = [utt("S", "你好，请讲。", 1.0), utt("S", "异地医保报销要多长时间？", 3.0), utt("S", "这个我也不清楚。", 7.0)]
    assert service_exchange(one_side, mono=True) == (True, "")
    assert not service_exchange(one_side)[0]
    assert not service_exchange([utt("S", "换一首歌", 0.5)], mono=True)[0]


def test_both_sides_long_enough_is_a_service_exchange():
    assert service_exchange(DIALOGUE) == (True, "")


def test_a_queue_call_opens_a_service_exchange_however_short():
    assert service_exchange([utt("S", "您好", 0.2)], opened_by_call=True) == (True, "")


def _quiet_stereo(seconds: float, *, noise: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * RATE)) / RATE
    speech = 0.3 * np.sin(2 * np.pi * 220 * t) * (np.sin(2 * np.pi * 0.5 * t) > 0)
    return (speech + noise * rng.standard_normal(len(t))).astype(np.float32)


def _measure(utts, *, turns, segs, x, inter=InteractionSpan(0, 0.5, 10.0), **kw) -> Quality:
    return measure(inter, segments=segs, utts=utts, regions=[(u.start_s, u.end_s) for u in utts], turns=turns, mono=x,
                   sample_rate_hz=RATE, staff_channel=x if turns is not None else None, **kw)


def _segs(logprob: float) -> list[AsrSegment]:
    return [AsrSegment(u.start_s, u.end_s, u.text, (), logprob, 0.1) for u in DIALOGUE]


def test_voice_command_interaction_is_kept_but_not_judged_and_gets_no_courtesy_flags():
    x = _quiet_stereo(4.0)
    utts = [utt("S", "换一首歌", 0.5)]
    q = _measure(utts, turns=None, segs=[AsrSegment(0.5, 1.4, "换一首歌", (), -0.2, 0.1)], x=x,
                 inter=InteractionSpan(0, 0.5, 1.4))
    assert not q.assessable and not q.service and q.reason.startswith(NOT_SERVICE)
    flags = Judge(load_rulebook()).judge(utts, [InteractionSpan(0, 0.5, 1.4)], mono=True, quality={0: q})
    assert [f for f in flags if f.type == "missing_courtesy"] == []


def test_stereo_staff_voiced_seconds_count_the_staffs_recognised_speech():
    # Hall noise hid the staff's turns (none found) while the staff channel carried 20 characters.
    x = _quiet_stereo(10.0)
    turns = [Turn(CUSTOMER, 4.5, 6.0, -20.0)]
    q = _measure(DIALOGUE, turns=turns, segs=_segs(-0.3), x=x)
    assert q.signals["staff_voiced_s"] > 0
    assert q.signals["staff_chars"] > 0
    assert q.signals["chars_per_voiced_s"] > 1.0


def test_overall_ignores_non_service_fragments_beside_a_judged_exchange():
    judged = Quality(signals={"voiced_s": 20.0})
    fragment = Quality(False, f"{NOT_SERVICE}（只有一方说话）", 1.0, {"voiced_s": 1.0}, service=False)
    assert overall([judged, fragment], voiced_s=21.0).assessable
    alone = overall([fragment], voiced_s=1.0)
    assert not alone.assessable and not alone.service and alone.reason.startswith(NOT_SERVICE)
