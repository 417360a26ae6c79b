"""Issue 18, item 1 on the real stack (SQLite and PostgreSQL, rclone S3, the speech model, the
real worker and API): re-analysis keeps everything people did. An interaction under legal hold,
with an open complaint and a confirmed review with a note, goes through a rule applied from the
rule bench (``POST /rules/bench/apply``) and then a rulebook upgrade that drops the confirmed
finding's rule. It keeps its id, its hold and its complaint; the review and note stay on the
same finding, now shown as superseded; the new finding names the rulebook version that raised
it; retention's dry run, far past the site's retention, keeps the interaction and its audio."""
from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from services import retention, rulebooks
from services.tokens import issue_agent_token
from storage.tables import Chunk, Complaint, Flag, Interaction
from tests.support.recordings import agent_upload, join_speech
from tests.support.stack import AppEnv
from transcribe.worker import Worker, WorkerOptions

pytestmark = pytest.mark.slow


def _interactions(env: AppEnv) -> list[Interaction]:
    with Session(env.engine) as s:
        rows = list(s.scalars(select(Interaction).order_by(Interaction.id)))
        for r in rows:
            _ = r.flags, r.segments
        s.expunge_all()
        return rows


def _dev05_uploaded(env: AppEnv, analyzer, data_dir: Path, name: str) -> Worker:  # noqa: ANN001 - the Analyzer fixture
    """dev05 (stereo, clean) uploaded an hour ago through counter c1's agent token, and a worker to
    analyse it."""
    agent = env.client(issue_agent_token(env.engine, site="hall", counter="c1", actor="test").token, console=False)
    agent_upload(agent, join_speech(data_dir, "dev05-stereo-clean.flac"), wall0=time.time() - 3600)
    return Worker(engine=env.engine, store=env.store, analyzer=analyzer, name=name,
                  options=WorkerOptions(lease_s=30.0, poll_s=0.2))


def test_hold_complaint_and_review_survive_a_bench_apply_and_a_rulebook_upgrade(app_env: AppEnv, analyzer,
                                                                                 data_dir: Path):
    worker = _dev05_uploaded(app_env, analyzer, data_dir, "w-identity")
    bundled = analyzer.rulebook
    try:
        worker.work(threading.Event(), burst=True)
        (inter,) = _interactions(app_env)
        forbidden = sorted((f for f in inter.flags if f.type == "forbidden"), key=lambda f: f.start_s)
        assert forbidden, [f.rule for f in inter.flags]
        reviewed = forbidden[0]
        assert reviewed.rulebook_version == bundled.version

        # What people did: a legal hold, an open complaint, a confirmed review with a note.
        retention.set_hold(app_env.engine, inter.id, hold=True, reason="court case 2026-18", actor="cli")
        sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
        r = sup.post("/api/v1/complaints", json={"site": "hall", "interaction_id": inter.id, "summary": "态度差"})
        assert r.status_code == 201, r.text
        complaint_id = r.json()["id"]
        r = sup.post(f"/api/v1/flags/{reviewed.id}/review", json={"state": "confirmed", "note": "录音属实"})
        assert r.status_code == 200, r.text

        # An admin applies a rule from the bench: the worker re-analyses the interaction.
        admin = app_env.client(app_env.make_user("admin", []))
        r = admin.post("/api/v1/rules/bench/apply", json={"rule": "id: F-SITE-WALL\nphrases: [墙上]\n",
                                                          "since_s": inter.wall_start_s - 1,
                                                          "until_s": inter.wall_end_s + 1})
        assert r.status_code == 200 and r.json()["queued"] == 1, r.text
        bench_version = r.json()["version"]
        rulebooks.follow(app_env.engine, analyzer, bundled)
        assert analyzer.rulebook.version == bench_version
        worker.work(threading.Event(), burst=True)
        (after_bench,) = _interactions(app_env)
        assert after_bench.id == inter.id and after_bench.rulebook_version == bench_version
        wall = next(f for f in after_bench.flags if f.rule == "F-SITE-WALL")       # dev05: 墙上贴着
        assert wall.rulebook_version == bench_version and wall.superseded_s is None
        kept = next(f for f in after_bench.flags if f.id == reviewed.id)
        assert (kept.review_state, kept.review_note, kept.superseded_s) == ("confirmed", "录音属实", None)

        # The rulebook is upgraded and no longer has the confirmed finding's rule.
        upgraded = dataclasses.replace(analyzer.rulebook, version=bench_version + "-upgrade",
                                       forbidden=tuple(x for x in analyzer.rulebook.forbidden
                                                       if x.id != reviewed.rule))
        analyzer.set_rulebook(upgraded)
        worker.work(threading.Event(), burst=True)
    finally:
        analyzer.set_rulebook(bundled)

    (final,) = _interactions(app_env)
    assert final.id == inter.id and final.rulebook_version == upgraded.version
    assert final.hold and final.hold_reason == "court case 2026-18"
    with Session(app_env.engine) as s:
        complaint = s.get(Complaint, complaint_id)
        assert complaint is not None and complaint.interaction_id == inter.id and complaint.state == "open"
        flag = s.get(Flag, reviewed.id)
        assert flag is not None and flag.interaction_id == inter.id
        assert (flag.review_state, flag.review_note, flag.superseded_by) == ("confirmed", "录音属实", upgraded.version)
        assert flag.superseded_s is not None and flag.reviewed_by is not None
        assert s.get(Flag, wall.id) is not None and s.get(Flag, wall.id).superseded_s is None
        chunk_keys = set(s.scalars(select(Chunk.key).where(Chunk.session_id == inter.session_id)))

    # The API shows the superseded finding with its review; review lists and counts leave it out.
    view = sup.get(f"/api/v1/interactions/{inter.id}").json()
    shown = next(f for f in view["flags"] if f["id"] == reviewed.id)
    assert shown["superseded_by"] == upgraded.version and shown["review_note"] == "录音属实"
    assert reviewed.id not in {f["id"] for f in sup.get("/api/v1/flags").json()}
    listed = next(c for c in sup.get("/api/v1/complaints").json() if c["id"] == complaint_id)
    assert listed["interaction_id"] == inter.id

    # Retention, a year past the site's retention: the interaction and every chunk it needs stay.
    plan = retention.plan(app_env.engine, now=time.time() + 400 * 86400)
    assert inter.id not in {d.id for d in plan.interactions}
    assert inter.id in {k.interaction_id for k in plan.kept}
    assert not chunk_keys & {k for c in plan.chunks for k in c.keys}


def test_a_transcript_correction_keeps_its_effect_through_a_re_analysis(app_env: AppEnv, analyzer, data_dir: Path):
    """Issue 20 item 5: a supervisor corrects a line (dev05's greeting, to which 谢谢 is added); the
    missing-thanks finding is superseded by the correction; the worker re-analyses the audio
    (a new rulebook version) and the finding stays superseded, the recognised text unchanged."""
    worker = _dev05_uploaded(app_env, analyzer, data_dir, "w-correction")
    bundled = analyzer.rulebook
    try:
        worker.work(threading.Event(), burst=True)
        (inter,) = _interactions(app_env)
        (thanks,) = [f for f in inter.flags if f.rule == "C-THANKS" and f.superseded_s is None]
        greeting = next(g for g in inter.segments if "请坐" in g.text)
        sup = app_env.client(app_env.make_user("supervisor", ["hall"]))
        r = sup.post(f"/api/v1/interactions/{inter.id}/corrections",
                     json={"segment_id": greeting.id, "text": "您好，请坐，谢谢。", "reason": "复听有“谢谢”"})
        assert r.status_code == 201, r.text
        done = r.json()
        assert done["superseded"] == [thanks.id]

        analyzer.set_rulebook(dataclasses.replace(bundled, version=bundled.version + "-again"))
        worker.work(threading.Event(), burst=True)
    finally:
        analyzer.set_rulebook(bundled)

    (final,) = _interactions(app_env)
    assert final.id == inter.id and final.rulebook_version == bundled.version + "-again"
    assert [g.text for g in final.segments] == [g.text for g in inter.segments]      # the recognised text stays
    kept = next(f for f in final.flags if f.id == thanks.id)
    assert kept.superseded_by == f"correction:{done['correction']['id']}", (kept.superseded_by, kept.superseded_s)
    assert not [f for f in final.flags if f.rule == "C-THANKS" and f.superseded_s is None]
    (listed,) = sup.get(f"/api/v1/interactions/{inter.id}/corrections").json()
    assert listed["segment_id"] in {g.id for g in final.segments} and listed["text"] == "您好，请坐，谢谢。"
