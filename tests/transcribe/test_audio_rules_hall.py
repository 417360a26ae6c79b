"""Issue 19: 抢话 under a busy hall's crosstalk, on real rendered speech. The dialogues are the
audio-rule bench's (bench/audio_rule_check.py: held-out turns at known times, 12 % crosstalk,
then bench/degrade.py's busy hall: level changes, room, babble, 30 % crosstalk, G.711)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from transcribe.rules import load_rulebook

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("counterwatch_bench_audio_rules", BENCH / "audio_rule_check.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def hall(bench):
    """The bench's first 15 dialogues (seed 7) in the busy hall, by id."""
    pool = bench.speech_pool(BENCH / "heldout")
    babble = [bench.degrade.read_audio(p) for p in bench.degrade.babble_pool([BENCH / "tuning"], exclude="")]
    rng = np.random.default_rng(7)
    built = {f"a{k:02d}": bench.build(pool, bench.KINDS[k % len(bench.KINDS)], rng) for k in range(15)}

    def busy(did: str):
        x, events = built[did]
        y = bench.degrade.make_variant(x, bench.SR, "stereo-busy", bench.degrade.file_seed(7, did), babble)
        return bench.judge(y.astype(np.float32), load_rulebook()), events
    return busy


def test_the_customers_voice_in_the_staff_microphone_is_no_overlap(hall):
    # a14: a polite dialogue with a long wait; before the fix three 抢话 (21.7 s, 28.8 s, 36.9 s)
    # where only the customer spoke, their voice leaking into the staff microphone.
    hits, events = hall("a14")
    assert [h for h in hits if h["rule"] == "A-OVERLAP"] == []
    assert [e["rule"] for e in events] == ["A-SILENCE"]


def test_a_true_cut_in_is_still_found_in_the_busy_hall(hall):
    hits, events = hall("a01")
    (event,) = events
    assert event["rule"] == "A-OVERLAP"
    found = [h for h in hits if h["rule"] == "A-OVERLAP"]
    assert len(found) == 1 and abs(found[0]["start"] - event["start"]) < 1.0, (found, event)
