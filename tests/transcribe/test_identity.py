"""Issue 18, item 1, without the speech model: how a re-analysis finds the interaction it is
(by first sample, else by the most overlap) and merges its findings (matched ones keep their id
and review, those no longer raised are superseded, new ones record their rulebook version)."""
from __future__ import annotations

import time
import uuid

from sqlalchemy.orm import Session

from services.catalog import Catalog
from storage.engine import make_engine
from storage.tables import Flag, Interaction, RecordingSession
from transcribe.identity import find_interaction, merge_flags


def _flag(rule: str, start_s: float, **kw) -> Flag:
    return Flag(type=kw.pop("type", "forbidden"), rule=rule, phrase="", evidence="", start_s=start_s,
                end_s=start_s + 1.0, speaker="staff", confidence=0.9, severity="high", confidence_reasons=[], **kw)


def test_findings_are_matched_superseded_and_added():
    inter = Interaction(flags=[_flag("F-A", 3.0, review_state="confirmed", review_note="属实", rulebook_version="v1"),
                               _flag("F-B", 10.0, rulebook_version="v1")])
    a, b = inter.flags
    merge_flags(inter, [_flag("F-A", 3.6), _flag("F-C", 20.0)], rulebook_version="v2", at_s=100.0)
    assert a in inter.flags and a.start_s == 3.6 and (a.review_state, a.review_note) == ("confirmed", "属实")
    assert a.superseded_s is None and a.rulebook_version == "v1"        # raised first by v1, still raised
    assert b in inter.flags and (b.superseded_s, b.superseded_by) == (100.0, "v2")
    (c,) = [f for f in inter.flags if f.rule == "F-C"]
    assert c.rulebook_version == "v2" and c.superseded_s is None
    # Raised again by v3: the superseded finding comes back with its id, no duplicate.
    merge_flags(inter, [_flag("F-A", 3.6), _flag("F-B", 10.2), _flag("F-C", 20.0)], rulebook_version="v3", at_s=200.0)
    assert len(inter.flags) == 3 and b.superseded_s is None and b.superseded_by == ""


def test_a_moved_start_shifts_the_findings_it_keeps():
    inter = Interaction(flags=[_flag("F-A", 5.0, review_state="dismissed")])
    (a,) = inter.flags
    # The interaction now starts 2 s later: the same word is 2 s earlier from its start.
    merge_flags(inter, [_flag("F-A", 3.0)], rulebook_version="v2", at_s=1.0, shift_s=2.0)
    assert inter.flags == [a] and a.start_s == 3.0 and a.review_state == "dismissed" and a.superseded_s is None


def test_the_interaction_is_found_by_start_or_by_most_overlap(db_url):
    eng = make_engine(db_url)
    try:
        counter = Catalog(eng).add_counter("hall", "c1").id
        sid = uuid.uuid4().hex
        with Session(eng) as s, s.begin():
            s.add(RecordingSession(id=sid, counter_id=counter, wall_start_s=time.time() - 3600, sample_rate_hz=16000,
                                   channels=2))
            s.flush()
            for a, b in ((0, 160_000), (160_000, 480_000)):
                s.add(Interaction(counter_id=counter, session_id=sid, start_sample=a, end_sample=b, wall_start_s=0.0,
                                  wall_end_s=0.0))
        with Session(eng) as s:
            first = find_interaction(s, session_id=sid, start_sample=0, end_sample=100)
            assert first is not None and first.start_sample == 0
            moved = find_interaction(s, session_id=sid, start_sample=150_000, end_sample=470_000)
            assert moved is not None and moved.start_sample == 160_000          # overlaps it most
            assert find_interaction(s, session_id=sid, start_sample=480_000, end_sample=500_000) is None
    finally:
        eng.dispose()
