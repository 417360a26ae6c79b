"""Recordings made for tests: real speech joined with silences, stored as FLAC chunks the way an
agent stores them (objects in the store, rows in the catalog)."""
from __future__ import annotations

import hashlib
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from domain.chunks import ChunkMeta
from domain.flac import encode_flac
from services.catalog import Catalog
from storage.objects import ObjectStore

RATE = 16000


@dataclass(frozen=True)
class StoredSession:
    id: str
    wall0: float
    pcm: np.ndarray            # int16 (frames, channels), everything stored
    chunk_samples: int
    metas: list[ChunkMeta]


def join_speech(data_dir: Path, *names: str, gap_s: float = 12.0) -> np.ndarray:
    """The files ``names`` of ``data_dir`` back to back with ``gap_s`` of silence between them, as
    int16 (frames, 2)."""
    from transcribe.audio import load_audio

    parts = []
    for i, n in enumerate(names):
        if i:
            parts.append(np.zeros((2, int(gap_s * RATE)), dtype=np.float32))
        parts.append(load_audio(data_dir / n).samples)
    return (np.clip(np.concatenate(parts, axis=1), -1, 1) * 32767).astype(np.int16).T


def store_chunk(catalog: Catalog, store: ObjectStore, *, site: str, counter: str, session: str, wall0: float,
                seq: int, start: int, part: np.ndarray) -> ChunkMeta:
    """Upload one FLAC chunk and register it, as the agent's uploader does."""
    data = encode_flac(part, RATE)
    meta = ChunkMeta(site=site, counter=counter, session=session, seq=seq, start_sample=start,
                     samples=len(part), sample_rate_hz=RATE, channels=part.shape[1], codec="flac",
                     sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data), session_wall_start_s=wall0,
                     rms_dbfs=-30.0, peak_dbfs=-6.0)
    store.put_bytes(meta.key, data, content_type="audio/flac", metadata={"sha256": meta.sha256})
    assert catalog.register_chunk(meta)
    return meta


def store_session(catalog: Catalog, store: ObjectStore, pcm: np.ndarray, *, site: str = "hall", counter: str = "c1",
                  wall0: float | None = None, chunk_s: float = 10.0, end: bool = False) -> StoredSession:
    """Store ``pcm`` (int16 (frames, channels)) as one agent session of ``chunk_s`` chunks;
    ``end``: then mark the session ended, as an agent stopping cleanly does."""
    session, n = uuid.uuid4().hex, int(chunk_s * RATE)
    wall0 = wall0 if wall0 is not None else time.time() - 3600
    metas = [store_chunk(catalog, store, site=site, counter=counter, session=session, wall0=wall0, seq=seq,
                         start=start, part=pcm[start:start + n]) for seq, start in enumerate(range(0, len(pcm), n))]
    if end:
        catalog.end_session(session)
    return StoredSession(session, wall0, pcm, n, metas)


def noise(seconds: float, *, channels: int = 1, level: float = 1000.0, seed: int = 0) -> np.ndarray:
    """Gaussian noise as int16 (frames, channels): audio that needs no model to store."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((int(seconds * RATE), channels)) * level).astype(np.int16)


def chunk_params(*, session: str, seq: int, start: int, pcm: np.ndarray, data: bytes, wall0: float) -> dict:
    """The query an agent sends with chunk ``data`` (``pcm`` encoded) to ``POST /agent/chunks``."""
    return dict(recording=session, seq=seq, start_sample=start, samples=len(pcm), sample_rate_hz=RATE,
                channels=pcm.shape[1], sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                recording_start_s=wall0)


def agent_upload(client, pcm: np.ndarray, *, wall0: float, chunk_s: float = 10.0, end: bool = True,
                 session: str | None = None) -> str:
    """Send ``pcm`` through the agent API as one recording of ``chunk_s`` chunks (``client``
    holds an agent token) and, with ``end``, end it; returns the recording's id."""
    session, n = session or uuid.uuid4().hex, int(chunk_s * RATE)
    for seq, start in enumerate(range(0, len(pcm), n)):
        part = pcm[start:start + n]
        data = encode_flac(part, RATE)
        r = client.post("/api/v1/agent/chunks", content=data, headers={"Content-Type": "audio/flac"},
                        params=chunk_params(session=session, seq=seq, start=start, pcm=part, data=data, wall0=wall0))
        assert r.status_code == 201, r.text
    if end:
        r = client.post(f"/api/v1/agent/recordings/{session}/end")
        assert r.status_code == 204, r.text
    return session
