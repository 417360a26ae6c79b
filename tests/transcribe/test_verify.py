"""The recogniser as the verifier (issue 19, item 1): candidates heard again by the real model
on the demo's real recordings."""
from __future__ import annotations

from pathlib import Path

import pytest

from domain.vocab import CERTAIN_CONFIDENCE
from transcribe.analyze import Analyzer
from transcribe.audio import load_audio
from transcribe.rules import Phrase, load_rulebook, parse_rulebook
from transcribe.verify import COURTESY_MARGIN, FORBIDDEN_MARGIN

SAMPLES = Path(__file__).resolve().parents[2] / "counterwatch" / "samples"
POLITE = SAMPLES / "counter-polite-mono.flac"
RUDE = SAMPLES / "counter-rude-stereo.flac"

# 快瞎班 sounds exactly like 快下班 (kuai xia ban): the customer's "你们是不是快下班了" matches it
# by sound only, and the model, hearing the words again, finds 瞎 far less likely than 下.
SOUND_ONLY = parse_rulebook("""
version: t
forbidden:
  - id: F-SOUND
    speaker: any
    phrases: [快瞎班]
""", source="t.yaml")


@pytest.fixture(scope="module")
def model(analyzer):
    return analyzer.transcriber


def test_candidate_matched_only_by_sound_is_rejected(model):
    without = Analyzer(model, SOUND_ONLY, verify=False).analyze_file(POLITE)
    assert [(f.rule, f.evidence) for f in without.flags] == [("F-SOUND", "快下班")]
    checked = Analyzer(model, SOUND_ONLY)
    assert checked.analyze_file(POLITE).flags == []
    assert checked.verifier.calls == 1


def test_genuine_forbidden_phrase_heard_as_a_homophone_is_confirmed_with_its_score(model):
    result = Analyzer(model, load_rulebook()).analyze_file(RUDE)
    rude = [f for f in result.flags if f.rule == "F-RUDE"]
    assert len(rude) == 1 and rude[0].confidence >= CERTAIN_CONFIDENCE
    (score,) = [r for r in rude[0].reasons if r["kind"] == "verify"]
    assert -FORBIDDEN_MARGIN <= score["value"] <= 0.0
    assert "烦不烦" in score["text"] and "予以确认" in score["text"]
    # Written as the rule writes it, a phrase is not heard again: nothing to verify.
    mine = [f for f in result.flags if f.rule == "F-NOT-MINE"]
    assert mine and not [r for r in mine[0].reasons if r["kind"] == "verify"]


def test_courtesy_word_the_recogniser_lost_is_found_on_the_same_audio(model):
    """The polite sample's staff says 不客气，请慢走; heard as 请问走, 慢走 scores about one nat
    below it, and within the margin: the flag would be no confident accusation."""
    audio = load_audio(POLITE)
    bound = Analyzer(model, load_rulebook()).verifier.bind(audio.mono(), audio.sample_rate_hz)
    farewell = [Phrase(w, "fuzzy", False) for w in ("再见", "慢走")]
    v = bound.courtesy(farewell, [("不客气，请问走", 14.2, 15.97)])
    assert v is not None and v.confirmed
    assert v.delta >= -COURTESY_MARGIN and ("慢走" in v.heard)


def test_courtesy_word_never_said_is_not_found(model):
    audio = load_audio(RUDE)
    bound = Analyzer(model, load_rulebook()).verifier.bind(audio.mono(), audio.sample_rate_hz)
    farewell = [Phrase(w, "fuzzy", False) for w in ("再见", "慢走", "欢迎再来")]
    v = bound.courtesy(farewell, [("爱找谁找谁？", 13.95, 15.19)])
    assert v is not None and not v.confirmed


def test_every_missing_courtesy_flag_says_what_the_model_heard_again(model):
    for path in (POLITE, RUDE):
        result = Analyzer(model, load_rulebook()).analyze_file(path)
        missing = [f for f in result.flags if f.type == "missing_courtesy"]
        assert all(any(r["kind"] == "verify" and r["text"].startswith("声学复核") for r in f.reasons)
                   for f in missing)
        if path == RUDE:    # never said: still a confident flag
            assert {f.rule for f in missing} >= {"C-FAREWELL", "C-THANKS"}
            assert all(f.confidence >= CERTAIN_CONFIDENCE for f in missing)
        else:               # 请慢走 recognised or found again: never a confident C-FAREWELL
            assert not [f for f in missing if f.rule == "C-FAREWELL" and f.confidence >= CERTAIN_CONFIDENCE]


def test_a_check_the_model_cannot_make_leaves_the_finding_unverified(model, caplog):
    """An utterance longer than the model hears at once is not checked, and a text the model
    refuses (more tokens than its decoder holds) is logged and left unverified: a failed check
    never fails the recording's analysis."""
    audio = load_audio(POLITE)
    verifier = Analyzer(model, load_rulebook()).verifier
    bound = verifier.bind(audio.mono(), audio.sample_rate_hz)
    assert bound.forbidden("你们是不是快下班了", "你们是不是快瞎班了", 0.0, 40.0) is None
    assert bound.courtesy([Phrase("慢走", "fuzzy", False)], [("请问走", 0.0, 40.0)]) is None
    assert verifier.calls == 0
    endless = "您好请问您要办理什么业务" * 60           # ~700 tokens on 2 s of audio
    with caplog.at_level("WARNING", logger="transcribe.verify"):
        assert bound.forbidden(endless, endless.replace("业务", "夜雾", 1), 1.0, 3.0) is None
    assert verifier.calls == 1 and "the acoustic check failed" in caplog.text
