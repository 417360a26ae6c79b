"""Shared API fixtures: the app over the real stack (SQLite or PostgreSQL, rclone S3), and
users per role and site with their tokens.

``api_env`` yields an :class:`ApiEnv`; ``api_env.make_user(role, sites)`` creates a user and
returns its bearer token. Sites ``hall`` (counters c1, c2) and ``annex`` (counter a1) exist.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Callable, Iterator, Sequence

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from services.accounts import add_user
from services.catalog import Catalog
from storage.engine import make_engine
from storage.objects import ObjectStore
from storage.tables import Counter, Flag, Interaction, RecordingSession, Segment, Site, Staff

SITES = {"hall": ("c1", "c2"), "annex": ("a1",)}
PASSWORD = "correct horse battery"


@dataclass
class ApiEnv:
    engine: Engine
    store: ObjectStore
    app: FastAPI
    catalog: Catalog
    make_user: Callable[..., str]
    names: dict[str, str] = field(default_factory=dict)   # token -> user name

    def client(self, token: str | None = None) -> TestClient:
        """A client for the app; with ``token`` it sends ``Authorization: Bearer``."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return TestClient(self.app, headers=headers)

    def add_interaction(self, *, site: str = "hall", counter: str = "c1", wall_start_s: float,
                        duration_s: float = 60.0, staff: str | None = None,
                        segments: Sequence[tuple[float, float, str, str]] = (),
                        flags: Sequence[dict] = ()) -> int:
        """Insert an analysed interaction directly (no audio): ``segments`` are
        (start_s, end_s, speaker, text); ``flags`` are dicts of Flag columns (type, rule, ...)."""
        with Session(self.engine) as s, s.begin():
            c = s.query(Counter).join(Site).filter(Site.name == site, Counter.name == counter).one()
            staff_id = None
            if staff:
                st = s.query(Staff).filter(Staff.site_id == c.site_id, Staff.name == staff).one_or_none()
                if st is None:
                    st = Staff(site_id=c.site_id, name=staff)
                    s.add(st)
                    s.flush()
                staff_id = st.id
            sid = uuid.uuid4().hex
            s.add(RecordingSession(id=sid, counter_id=c.id, wall_start_s=wall_start_s, sample_rate_hz=16000, channels=2,
                            ended_s=wall_start_s + duration_s))
            s.flush()
            inter = Interaction(counter_id=c.id, session_id=sid, start_sample=0, end_sample=int(duration_s * 16000),
                                wall_start_s=wall_start_s, wall_end_s=wall_start_s + duration_s, staff_id=staff_id,
                                rulebook_version="test", analyzed_s=wall_start_s + duration_s,
                                text=" ".join(t for *_, t in segments))
            inter.segments = [Segment(start_s=a, end_s=b, speaker=sp, speaker_confidence=1.0, text=t)
                              for a, b, sp, t in segments]
            inter.flags = [Flag(**{"phrase": "", "evidence": "", "start_s": 0.0, "end_s": 0.0, "speaker": "staff",
                                   "confidence": 1.0, **f}) for f in flags]
            s.add(inter)
            s.flush()
            return inter.id


@pytest.fixture()
def api_env(db_url: str, object_store: ObjectStore) -> Iterator[ApiEnv]:
    """The API over a fresh database (both backends) and a fresh bucket."""
    engine = make_engine(db_url)
    catalog = Catalog(engine)
    for site, counters in SITES.items():
        for c in counters:
            catalog.add_counter(site, c)
    names: dict[str, str] = {}

    def make_user(role: str, sites: Sequence[str] | None = None, *, name: str | None = None,
                  password: str | None = None) -> str:
        """Create a user of ``role`` seeing ``sites`` (None: ``hall`` for roles that need a site,
        all sites otherwise) and return a bearer token."""
        if sites is None:
            sites = ["hall"] if role in ("supervisor", "viewer", "screen") else []
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        token = add_user(engine, name, role=role, sites=list(sites), password=password).token
        names[token] = name
        return token

    env = ApiEnv(engine=engine, store=object_store, app=create_app(engine=engine, store=object_store),
                 catalog=catalog, make_user=make_user, names=names)
    try:
        yield env
    finally:
        engine.dispose()


@pytest.fixture()
def auth_headers() -> Callable[[str], dict[str, str]]:
    return lambda token: {"Authorization": f"Bearer {token}"}
