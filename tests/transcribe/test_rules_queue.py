"""Issue 21 item 4: rules that use queue facts. C-WAIT-APOLOGY requires 让您久等了 (or 久等) from
the staff when the interaction's ticket waited longer than N minutes (``when:
{ticket_waited_min_over: N}``); without a ticket it does not apply, and the analysis says why.
Text-level: transcripts made from text (the worker's path with real audio is in test_worker)."""
from __future__ import annotations

import pytest

from domain.vocab import CUSTOMER, STAFF
from transcribe.asr import Word
from transcribe.errors import RulebookError
from transcribe.interactions import split_interactions
from transcribe.judge import Judge, QueueFacts, condition_met, queue_facts
from transcribe.rules import Condition, load_rulebook, parse_rulebook
from transcribe.speakers import Utterance, word_chars

POLITE = (("S", "您好，请问办理什么业务？"), ("C", "我来补办社保卡。"), ("S", "好的，请出示身份证。谢谢，再见。"))
SORRY = (("S", "您好，让您久等了，请问办理什么业务？"), ("C", "我来补办社保卡。"), ("S", "好的，请出示身份证。谢谢，再见。"))


def judged(book, turns, queue):
    u, t = [], 1.0
    for who, text in turns:
        w = Word(t, t + 0.22 * len(text), text, 1.0)
        u.append(Utterance(STAFF if who == "S" else CUSTOMER, 0.97, word_chars(w)))
        t = w.end_s + 0.8
    spans = split_interactions([(x.start_s, x.end_s) for x in u])
    judge = Judge(book)
    return judge.judge(u, spans, mono=False, queue=queue), judge.not_applied(spans, queue)


@pytest.fixture(scope="module")
def book():
    return load_rulebook()


def test_the_default_rule_waits_fifteen_minutes_and_is_documented(book):
    rule = book.rule("C-WAIT-APOLOGY")
    assert rule is not None and rule.when == Condition(ticket_waited_min_over=15.0)
    assert rule.label == "久等致歉" and rule.speaker == "staff" and rule.position == "anywhere"
    assert "ticket_waited_min_over" in book.text


def test_a_long_wait_without_the_apology_is_flagged_with_the_wait_in_plain_chinese(book):
    flags, notes = judged(book, POLITE, {0: QueueFacts("A012", 23 * 60.0)})
    (f,) = [f for f in flags if f.rule == "C-WAIT-APOLOGY"]
    assert f.type == "missing_courtesy" and f.speaker == STAFF and f.confidence > 0.8
    assert f.reasons[0]["text"] == "A012 号取号后等候 23 分钟，超过 15 分钟"
    assert "让您久等了" in f.reasons[1]["text"]
    assert {g.rule for g in flags} == {"C-WAIT-APOLOGY"}        # the polite service breaks nothing else
    assert notes == {}


def test_the_apology_said_or_a_short_wait_is_not_flagged(book):
    flags, _ = judged(book, SORRY, {0: QueueFacts("A012", 23 * 60.0)})
    assert not [f for f in flags if f.rule == "C-WAIT-APOLOGY"]
    flags, notes = judged(book, POLITE, {0: QueueFacts("A013", 5 * 60.0)})
    assert flags == []
    assert notes == {0: [{"rule": "C-WAIT-APOLOGY", "reason": "A013 号取号后等候 5 分钟，未超过 15 分钟"}]}
    flags, _ = judged(book, POLITE, {0: QueueFacts("A014", 15 * 60.0)})       # "longer than": 15 is not
    assert flags == []


def test_without_a_ticket_the_rule_does_not_apply_and_says_so(book):
    for queue in (None, {}, {0: QueueFacts("A015", None)}):      # no queue; a hall's own queue that sends no wait
        flags, notes = judged(book, POLITE, queue)
        assert flags == []
        (note,) = notes[0]
        assert note["rule"] == "C-WAIT-APOLOGY" and note["reason"].startswith("本次服务没有取号等候记录")


def test_the_customer_saying_it_does_not_count(book):
    turns = (("S", "您好，请问办理什么业务？"), ("C", "不好意思让你们久等了"), ("S", "好的，请出示身份证。谢谢，再见。"))
    flags, _ = judged(book, turns, {0: QueueFacts("A016", 40 * 60.0)})
    assert [f.rule for f in flags] == ["C-WAIT-APOLOGY"]


def test_just_wait_is_not_the_apology(book):
    turns = (("S", "您好，您就等一下，请出示身份证。"), ("C", "好的。"), ("S", "谢谢，再见。"))
    flags, _ = judged(book, turns, {0: QueueFacts("A017", 40 * 60.0)})
    assert [f.rule for f in flags] == ["C-WAIT-APOLOGY"]


def test_each_interaction_gets_the_ticket_whose_call_opened_it():
    from transcribe.interactions import InteractionSpan

    spans = [InteractionSpan(0, 1.0, 30.0), InteractionSpan(1, 60.0, 90.0), InteractionSpan(2, 120.0, 150.0)]
    calls = [(-2.0, "A001", 1500.0), (58.0, "A002", 60.0), (64.0, "A003", 61.0)]
    got = queue_facts(spans, calls)
    assert got == {0: QueueFacts("A001", 1500.0), 1: QueueFacts("A003", 61.0)}      # 2: no call opened it
    assert queue_facts(spans, []) == {}


@pytest.mark.parametrize("when,field", [
    ("{ticket_waited_min_ovr: 15}", "required[0].when.ticket_waited_min_ovr"),
    ("{ticket_waited_min_over: 0}", "required[0].when.ticket_waited_min_over"),
    ("{ticket_waited_min_over: soon}", "required[0].when.ticket_waited_min_over"),
    ("15", "required[0].when"),
    ("{}", "required[0].when"),
])
def test_a_bad_condition_is_refused_naming_its_field_and_line(when, field):
    text = f"version: t\nrequired:\n  - id: C-X\n    words: [久等]\n    when: {when}\n"
    with pytest.raises(RulebookError) as e:
        parse_rulebook(text, source="site.yaml")
    assert e.value.field == field and e.value.line == 5


def test_condition_reasons():
    when = Condition(ticket_waited_min_over=15.0)
    assert condition_met(when, QueueFacts("B007", 16.5 * 60)) == (True, "B007 号取号后等候 16.5 分钟，超过 15 分钟")
    assert condition_met(when, None)[0] is False


# -- the worker's path: real speech, a real ticket, the stored finding --------------------------------

@pytest.mark.slow
def test_the_worker_judges_a_stored_recording_by_its_tickets_wait(db_url, object_store, analyzer, data_dir):
    import threading

    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from services.catalog import Catalog
    from storage.engine import make_engine
    from storage.tables import Interaction, QueueService, QueueTicket, Site
    from tests.support.recordings import join_speech, store_session
    from transcribe.worker import Worker, WorkerOptions

    eng = make_engine(db_url)
    try:
        catalog = Catalog(eng)
        for c in ("c1", "c2"):
            catalog.add_counter("hall", c)
        wall0 = 1_790_000_000.0
        with Session(eng) as s, s.begin():
            site = s.scalar(select(Site).where(Site.name == "hall"))
            svc = QueueService(site_id=site.id, name="社保业务", prefix="A", counter_ids=[])
            s.add(svc)
            s.flush()
            tickets = {}
            for n, (counter, waited_min) in enumerate((("c1", 23), ("c2", 5)), 1):
                t = QueueTicket(site_id=site.id, service_id=svc.id, day="2026-09-21", number=n, code=f"A00{n}",
                                state="serving", status_key=f"k{n}" * 8, taken_s=wall0 - waited_min * 60.0,
                                called_s=wall0 + 0.3, counter_id=catalog.counter("hall", counter).id)
                s.add(t)
                s.flush()
                tickets[counter] = t
            ids = {c: (t.id, t.code) for c, t in tickets.items()}
        for counter, (tid, code) in ids.items():
            catalog.add_event("hall", counter, kind="queue_call", at_s=wall0 + 0.3,
                              payload={"ticket": code, "service": "社保业务", "ticket_id": str(tid)})
            # dev01: a polite service (您好, 请, 谢谢, 再见) without 让您久等了
            store_session(catalog, object_store, join_speech(data_dir, "dev01-stereo-clean.flac"), counter=counter,
                          wall0=wall0, end=True)
        worker = Worker(engine=eng, store=object_store, analyzer=analyzer, name="w-queue",
                        options=WorkerOptions(lease_s=30.0, poll_s=0.2))
        worker.work(threading.Event(), burst=True)
        with Session(eng) as s:
            got = {}
            for inter in s.scalars(select(Interaction)):
                counter = "c1" if inter.counter_id == catalog.counter("hall", "c1").id else "c2"
                got.setdefault(counter, []).extend((f.rule, f.confidence_reasons) for f in inter.flags
                                                   if f.superseded_s is None)
        assert inter.rulebook_version == load_rulebook().version
        (rule, reasons), = got["c1"]
        assert rule == "C-WAIT-APOLOGY" and reasons[0]["text"] == "A001 号取号后等候 23 分钟，超过 15 分钟"
        assert got["c2"] == []        # 5 minutes: no apology needed
    finally:
        eng.dispose()
