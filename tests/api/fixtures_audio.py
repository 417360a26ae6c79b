"""Fixtures for the search, audio and live API tests: the app over the real stack, real speech
stored as FLAC chunks the way an agent stores them, and a real HTTP server for streaming.

Import with ``from fixtures_audio import *`` (pytest puts this folder on ``sys.path``).
"""
from __future__ import annotations

import hashlib
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from domain.chunks import ChunkMeta
from domain.flac import decode_flac, encode_flac
from services.accounts import add_user
from services.catalog import Catalog
from storage.engine import make_engine
from storage.objects import ObjectStore
from storage.tables import AuditLog, Counter, Flag, Interaction, Segment, Site, Staff

__all__ = ["AudioEnv", "StoredSession", "audio_env", "speech", "live_server", "RATE"]

RATE = 16000
DATA = Path(__file__).parents[1] / "data"


@dataclass(frozen=True)
class StoredSession:
    id: str
    wall0: float
    pcm: np.ndarray            # int16 (frames, channels), everything stored so far
    chunk_samples: int
    metas: list[ChunkMeta]


@dataclass
class AudioEnv:
    engine: Engine
    store: ObjectStore
    app: FastAPI
    catalog: Catalog
    users: dict[str, str] = field(default_factory=dict)     # token -> name

    def token(self, role: str, sites: Sequence[str] = ("hall",)) -> str:
        name = f"{role}-{uuid.uuid4().hex[:8]}"
        tok = add_user(self.engine, name, role=role, sites=list(sites)).token
        self.users[tok] = name
        return tok

    def client(self, token: str | None = None) -> TestClient:
        return TestClient(self.app, headers={"Authorization": f"Bearer {token}"} if token else {})

    def counter_id(self, site: str, counter: str) -> int:
        return self.catalog.counter(site, counter).id

    def store_chunk(self, *, site: str, counter: str, session: str, wall0: float, seq: int, start: int,
                    part: np.ndarray) -> ChunkMeta:
        """Upload one FLAC chunk and register it, as the agent's uploader does."""
        data = encode_flac(part, RATE)
        meta = ChunkMeta(site=site, counter=counter, session=session, seq=seq, start_sample=start,
                         samples=len(part), sample_rate_hz=RATE, channels=part.shape[1], codec="flac",
                         sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), session_wall_start_s=wall0,
                         rms_dbfs=-30.0, peak_dbfs=-6.0)
        self.store.put_bytes(meta.key, data, content_type="audio/flac", metadata={"sha256": meta.sha256})
        self.catalog.register_chunk(meta)
        return meta

    def store_session(self, pcm: np.ndarray, *, site: str = "hall", counter: str = "c1", chunk_s: float = 2.0,
                      wall0: float | None = None) -> StoredSession:
        session, n = uuid.uuid4().hex, int(chunk_s * RATE)
        wall0 = wall0 if wall0 is not None else time.time() - 3600
        metas = [self.store_chunk(site=site, counter=counter, session=session, wall0=wall0, seq=seq, start=start,
                                  part=pcm[start:start + n]) for seq, start in enumerate(range(0, len(pcm), n))]
        return StoredSession(session, wall0, pcm, n, metas)

    def add_interaction(self, *, session: str | None = None, site: str = "hall", counter: str = "c1",
                        start_sample: int = 0, end_sample: int = RATE * 60, wall_start_s: float | None = None,
                        staff: str | None = None, segments: Sequence[tuple[float, float, str, str]] = (),
                        flags: Sequence[dict] = ()) -> int:
        """Insert an interaction row (and a session row if ``session`` is None: no audio)."""
        from storage.tables import RecordingSession

        with Session(self.engine) as s, s.begin():
            c = s.execute(select(Counter).join(Site).where(Site.name == site, Counter.name == counter)).scalar_one()
            if session is None:
                session = uuid.uuid4().hex
                s.add(RecordingSession(id=session, counter_id=c.id, wall_start_s=wall_start_s or time.time(),
                                sample_rate_hz=RATE, channels=2, ended_s=None))
                s.flush()
            sess = s.get(RecordingSession, session)
            wall = wall_start_s if wall_start_s is not None else sess.wall_start_s + start_sample / RATE
            staff_id = None
            if staff:
                st = s.scalar(select(Staff).where(Staff.site_id == c.site_id, Staff.name == staff))
                if st is None:
                    st = Staff(site_id=c.site_id, name=staff)
                    s.add(st)
                    s.flush()
                staff_id = st.id
            inter = Interaction(counter_id=c.id, session_id=session, start_sample=start_sample, end_sample=end_sample,
                                wall_start_s=wall, wall_end_s=wall + (end_sample - start_sample) / RATE,
                                staff_id=staff_id, rulebook_version="test", analyzed_s=time.time(),
                                text=" ".join(t for *_, t in segments))
            inter.segments = [Segment(start_s=a, end_s=b, speaker=sp, speaker_confidence=1.0, text=t)
                              for a, b, sp, t in segments]
            inter.flags = [Flag(**{"phrase": "", "evidence": "", "start_s": 0.0, "end_s": 0.0, "speaker": "staff",
                                   "confidence": 1.0, **f}) for f in flags]
            s.add(inter)
            s.flush()
            return inter.id

    def audit_rows(self, action: str | None = None) -> list[AuditLog]:
        with Session(self.engine) as s:
            q = select(AuditLog).order_by(AuditLog.id)
            if action:
                q = q.where(AuditLog.action == action)
            rows = list(s.scalars(q))
            s.expunge_all()
            return rows


@pytest.fixture()
def audio_env(db_url: str, object_store: ObjectStore) -> Iterator[AudioEnv]:
    """The API over a fresh database (SQLite or PostgreSQL) and bucket; counters hall/c1,
    hall/c2 and annex/a1."""
    engine = make_engine(db_url)
    catalog = Catalog(engine)
    for site, counter in (("hall", "c1"), ("hall", "c2"), ("annex", "a1")):
        catalog.add_counter(site, counter)
    try:
        yield AudioEnv(engine, object_store, create_app(engine=engine, store=object_store), catalog)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """About 25 s of real stereo speech, int16 (frames, 2)."""
    pcm = decode_flac((DATA / "dev01-stereo-clean.flac").read_bytes())
    assert pcm.shape[1] == 2
    return pcm


@pytest.fixture()
def live_server(audio_env: AudioEnv) -> Iterator[Callable[[FastAPI | None], str]]:
    """``live_server(app=None)``: serve ``app`` (default: ``audio_env.app``) with a real uvicorn
    server on a free loopback port and return its base URL (TestClient buffers whole
    responses, so streaming needs a real server). All are stopped at the end of the test."""
    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(app: FastAPI | None = None) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app or audio_env.app, host="127.0.0.1", port=port,
                                               log_level="warning"))
        t = threading.Thread(target=server.run, daemon=True)
        t.start()
        started.append((server, t))
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        return f"http://127.0.0.1:{port}"

    try:
        yield serve
    finally:
        for server, _ in started:
            server.should_exit = True
        for _, t in started:
            t.join(10)
