"""Issue 11, items 1 and 2 through the real API (both backends, the rclone S3 server): what an
agent token may send, and write-once evidence: a second chunk under a stored key is refused
with 409 and both hashes, the stored bytes and catalog row stay, the refusal raises the
counter's ``chunk-conflict`` alarm and is audited; an agent token reads nothing."""
from __future__ import annotations

import hashlib
import time
import uuid

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.chunks import ChunkHeader, ChunkMeta
from domain.flac import encode_flac
from services.tokens import issue_agent_token
from storage.tables import Alarm, Chunk, ChunkClaim
from tests.support.recordings import noise
from tests.support.stack import AppEnv

RATE = 16000


def _agent(app_env: AppEnv, counter: str = "c1", site: str = "hall"):
    token = issue_agent_token(app_env.engine, site=site, counter=counter, actor="test").token
    return app_env.client(token, console=False)


def _params(session: str, seq: int, start: int, pcm: np.ndarray, data: bytes, wall0: float) -> dict:
    return dict(recording=session, seq=seq, start_sample=start, samples=len(pcm), sample_rate_hz=RATE,
                channels=pcm.shape[1], sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                recording_start_s=wall0)


def _send(client, session: str, seq: int, start: int, pcm: np.ndarray, wall0: float):
    data = encode_flac(pcm, RATE)
    return client.post("/api/v1/agent/chunks", params=_params(session, seq, start, pcm, data, wall0), content=data,
                       headers={"Content-Type": "audio/flac"})


def _stored(app_env: AppEnv, session: str) -> list[tuple[int, str, str]]:
    with Session(app_env.engine) as s:
        return [(c.seq, c.key, c.sha256) for c in s.scalars(select(Chunk).where(Chunk.session_id == session)
                                                            .order_by(Chunk.seq))]


def test_a_second_chunk_under_a_stored_key_is_refused_and_the_original_stays(app_env: AppEnv):
    agent = _agent(app_env)
    session, wall0 = uuid.uuid4().hex, time.time() - 600
    first, other = noise(2.0, channels=2, seed=1), noise(2.0, channels=2, seed=2)
    r = _send(agent, session, 0, 0, first, wall0)
    assert r.status_code == 201 and r.json()["new"] is True, r.text
    key, sha = r.json()["key"], r.json()["sha256"]
    original = app_env.store.get_bytes(key)
    assert hashlib.sha256(original).hexdigest() == sha

    again = _send(agent, session, 0, 0, first, wall0)            # a retry after a lost answer
    assert again.status_code == 200 and again.json() == {"key": key, "sha256": sha, "new": False}

    refused = _send(agent, session, 0, 0, other, wall0)          # other audio, same session and number
    assert refused.status_code == 409, refused.text
    body = refused.json()["detail"]
    offered = hashlib.sha256(encode_flac(other, RATE)).hexdigest()
    assert body["code"] == "chunk_conflict" and (body["stored_sha256"], body["offered_sha256"]) == (sha, offered), body
    assert app_env.store.get_bytes(key) == original              # the stored bytes are unchanged
    assert _stored(app_env, session) == [(0, key, sha)]
    with Session(app_env.engine) as s:
        claim = s.get(ChunkClaim, (session, 0))
        assert claim is not None and claim.sha256 == sha
        alarm = s.scalar(select(Alarm).where(Alarm.kind == "chunk-conflict", Alarm.cleared_s.is_(None)))
        assert alarm is not None and sha in alarm.detail and offered in alarm.detail
    rows = app_env.audit_rows("chunk.conflict")
    assert len(rows) == 1 and rows[0].target == f"chunk:{key}" and offered in rows[0].detail

    # Shifted start sample under the same number: refused too; the next number is taken.
    shifted = _send(agent, session, 0, 100, first, wall0)
    assert shifted.status_code == 409, shifted.text
    nxt = _send(agent, session, 1, len(first), other, wall0)
    assert nxt.status_code == 201, nxt.text
    assert app_env.store.get_bytes(key) == original and [s for s, *_ in _stored(app_env, session)] == [0, 1]


def test_a_chunk_whose_body_is_not_its_metadata_is_refused_and_nothing_is_stored(app_env: AppEnv):
    agent = _agent(app_env)
    session, wall0, pcm = uuid.uuid4().hex, time.time() - 600, noise(1.0, channels=2, seed=3)
    data = encode_flac(pcm, RATE)
    params = _params(session, 0, 0, pcm, data, wall0)
    for change, field in ((dict(sha256="0" * 64), "sha256"), (dict(size_bytes=len(data) + 1), "size_bytes"),
                          (dict(samples=len(pcm) + 1), "samples"), (dict(channels=1), "channels")):
        r = agent.post("/api/v1/agent/chunks", params={**params, **change}, content=data)
        assert r.status_code == 422 and field in r.text, (field, r.status_code, r.text)
    r = agent.post("/api/v1/agent/chunks", params={**params, "sha256": hashlib.sha256(b"x" * 10).hexdigest(),
                                                   "size_bytes": 10}, content=b"x" * 10)
    assert r.status_code == 422 and "FLAC" in r.text, r.text
    assert _stored(app_env, session) == [] and list(app_env.store.iter_keys("")) == []


def test_an_agent_token_reads_nothing_and_touches_no_other_counter(app_env: AppEnv):
    interaction = app_env.add_interaction(wall_start_s=time.time() - 60, segments=[(0.0, 2.0, "staff", "您好")],
                                          flags=[dict(type="forbidden", rule="F-RUDE")])
    agent = _agent(app_env, "c1")
    assert agent.get("/api/v1/agent/hello").json()["counter"] == "c1"
    counter_id = app_env.counter_id("hall", "c1")
    for path in (f"/api/v1/interactions/{interaction}", f"/api/v1/interactions/{interaction}/audio",
                 f"/api/v1/interactions/{interaction}/evidence", "/api/v1/interactions/search?q=您好",
                 "/api/v1/flags", "/api/v1/counters", f"/api/v1/counters/{counter_id}/live", "/api/v1/audit",
                 "/api/v1/complaints", "/api/v1/reports/monthly?month=2026-03", "/api/v1/events/now-serving",
                 "/api/v1/signage/screens", "/api/v1/signage/content"):
        r = agent.get(path)
        assert r.status_code == 403, (path, r.status_code, r.text)

    # Another counter's recording session: its chunks and its end are refused.
    other = _agent(app_env, "c2")
    session, wall0, pcm = uuid.uuid4().hex, time.time() - 600, noise(1.0, channels=2, seed=4)
    assert _send(other, session, 0, 0, pcm, wall0).status_code == 201
    before = _stored(app_env, session)
    r = _send(agent, session, 1, len(pcm), pcm, wall0)
    assert r.status_code == 403 and r.json()["detail"]["code"] == "agent_binding", r.text
    r = agent.post(f"/api/v1/agent/recordings/{session}/end")
    assert r.status_code == 403, r.text
    assert _stored(app_env, session) == before
    # Its own chunks land under its own counter's key, whatever it claims.
    mine = uuid.uuid4().hex      # other audio: c2's audio again would be a replay (issue 18)
    r = _send(agent, mine, 0, 0, noise(1.0, channels=2, seed=5), wall0)
    assert r.status_code == 201 and r.json()["key"].startswith("hall/c1/"), r.text
    # An unbound "agent" role account (no counter) cannot send at all.
    loose = app_env.client(app_env.make_user("agent", []), console=False)
    r = _send(loose, uuid.uuid4().hex, 0, 0, pcm, wall0)
    assert r.status_code == 403 and r.json()["detail"]["code"] == "agent_unbound", r.text


def test_the_agent_client_and_the_route_share_one_chunk_header(app_env: AppEnv):
    """Issue 22: the chunk's fields have one home (domain.chunks.ChunkHeader): the client sends
    exactly its wire names, and the route takes exactly those query parameters."""
    op = app_env.app.openapi()["paths"]["/api/v1/agent/chunks"]["post"]
    assert [p["name"] for p in op["parameters"] if p["in"] == "query"] == list(ChunkHeader.wire_names())
    meta = ChunkMeta(site="hall", counter="c1", session="a" * 32, seq=3, start_sample=480, samples=160,
                     sample_rate_hz=RATE, channels=1, codec="flac", sha256="b" * 64, size_bytes=99,
                     session_wall_start_s=1.5e9, rms_dbfs=float("-inf"), peak_dbfs=-3.25)
    params = meta.to_params()
    assert tuple(params) == ChunkHeader.wire_names()
    assert params["recording"] == "a" * 32 and params["recording_start_s"] == "1500000000.0"
    assert params["rms_dbfs"] == "-200.000" and params["peak_dbfs"] == "-3.250"
