"""The API over the real stack (SQLite or PostgreSQL, the rclone S3 server): users per role and
site with their tokens, interactions seeded without audio, real speech stored as chunks the way
an agent stores them."""
from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.app import create_app
from domain.chunks import ChunkMeta
from domain.vocab import SITE_BOUND_ROLES
from services.accounts import add_user
from services.catalog import Catalog
from storage.engine import make_engine, writer
from storage.objects import ObjectStore
from storage.tables import AuditLog, Counter, Flag, Interaction, RecordingSession, Segment, Site, Staff
from tests.support import recordings
from tests.support.recordings import StoredSession
from transcribe.soundalike import sound_key

RATE = 16000
#: The sites and counters every test stack has.
COUNTERS = {"hall": ("c1", "c2", "c3"), "annex": ("a1",)}
PASSWORD = "correct horse battery"


@dataclass
class AppEnv:
    engine: Engine
    store: ObjectStore
    app: FastAPI
    catalog: Catalog
    names: dict[str, str] = field(default_factory=dict)   # token -> user name

    # -- people ------------------------------------------------------------------------------------

    def make_user(self, role: str, sites: Sequence[str] | None = None, *, name: str | None = None,
                  password: str | None = None) -> str:
        """Create a user of ``role`` seeing ``sites`` (None: ``hall`` for roles that need a site,
        all sites otherwise) and return a bearer token."""
        if sites is None:
            sites = ["hall"] if role in SITE_BOUND_ROLES else []
        name = name or f"{role}-{uuid.uuid4().hex[:8]}"
        token = add_user(self.engine, name, role=role, sites=list(sites), password=password).token
        self.names[token] = name
        return token

    def token(self, role: str, sites: Sequence[str] = ("hall",)) -> str:
        return self.make_user(role, sites)

    def client(self, token: str | None = None, *, console: bool = True) -> TestClient:
        """A client for the app; with ``token`` it sends ``Authorization: Bearer``; ``console``: it
        sends the console's ``X-Counterwatch: 1`` too (cookie sessions need it for changes)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if console:
            headers["X-Counterwatch"] = "1"
        return TestClient(self.app, headers=headers)

    def counter_id(self, site: str, counter: str) -> int:
        return self.catalog.counter(site, counter).id

    # -- recordings ----------------------------------------------------------------------------------

    def store_chunk(self, *, site: str, counter: str, session: str, wall0: float, seq: int, start: int,
                    part: np.ndarray) -> ChunkMeta:
        """Upload one FLAC chunk and register it, as the agent's uploader does."""
        return recordings.store_chunk(self.catalog, self.store, site=site, counter=counter, session=session,
                                      wall0=wall0, seq=seq, start=start, part=part)

    def store_session(self, pcm: np.ndarray, *, site: str = "hall", counter: str = "c1", chunk_s: float = 2.0,
                      wall0: float | None = None) -> StoredSession:
        return recordings.store_session(self.catalog, self.store, pcm, site=site, counter=counter, chunk_s=chunk_s,
                                        wall0=wall0)

    def add_interaction(self, *, session: str | None = None, site: str = "hall", counter: str = "c1",
                        start_sample: int = 0, end_sample: int | None = None, wall_start_s: float | None = None,
                        duration_s: float | None = None, staff: str | None = None,
                        segments: Sequence[tuple[float, float, str, str]] = (), flags: Sequence[dict] = (),
                        **columns: object) -> int:
        """Insert an analysed interaction directly. Without ``session`` a session row without audio
        is made (ended at the interaction's end). ``segments``: (start_s, end_s, speaker, text);
        ``flags``: dicts of Flag columns (type, rule, ...); ``columns``: more Interaction columns
        (assessable, assessable_reason, turns, signals, ...)."""
        if end_sample is None:
            end_sample = start_sample + int((duration_s if duration_s is not None else 60.0) * RATE)
        length_s = (end_sample - start_sample) / RATE
        with Session(writer(self.engine)) as s, s.begin():
            c = s.execute(select(Counter).join(Site).where(Site.name == site, Counter.name == counter)).scalar_one()
            if session is None:
                session = uuid.uuid4().hex
                start = wall_start_s if wall_start_s is not None else time.time()
                s.add(RecordingSession(id=session, counter_id=c.id, wall_start_s=start - start_sample / RATE,
                                       sample_rate_hz=RATE, channels=2, ended_s=start + length_s))
                s.flush()
            sess = s.get(RecordingSession, session)
            assert sess is not None
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
                                wall_start_s=wall, wall_end_s=wall + length_s, staff_id=staff_id,
                                rulebook_version="test", analyzed_s=wall + length_s,
                                text=" ".join(t for *_, t in segments), **columns)
            inter.segments = [Segment(start_s=a, end_s=b, speaker=sp, speaker_confidence=1.0, text=t, sound=sound_key(t))
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


def make_app_env(db_url: str, store: ObjectStore, counters: dict[str, tuple[str, ...]] = COUNTERS) -> AppEnv:
    """The app over a fresh, migrated database and a fresh bucket, with ``counters`` registered."""
    engine = make_engine(db_url)
    catalog = Catalog(engine)
    for site, names in counters.items():
        for c in names:
            catalog.add_counter(site, c)
    env = AppEnv(engine=engine, store=store, app=create_app(engine=engine, store=store), catalog=catalog)
    env.app.state.signage_max_upload_bytes = 2 * 1024 * 1024   # the signage tests' small limit
    return env
