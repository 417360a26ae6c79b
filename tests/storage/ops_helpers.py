"""Helpers for the operations tests: chunks stored as an agent would, the CLI in a subprocess."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid

import numpy as np

from domain.chunks import ChunkMeta
from domain.flac import encode_flac
from services.catalog import Catalog

RATE = 16000


def store_chunks(catalog: Catalog, store, *, wall0: float, n: int, chunk_s: float = 1.0, counter: str = "c1",
                 site: str = "hall") -> list[str]:
    """``n`` short chunks of one session: objects in the store, rows in the catalog."""
    session, size = uuid.uuid4().hex, int(chunk_s * RATE)
    rng = np.random.default_rng(0)
    keys = []
    for seq in range(n):
        pcm = (rng.standard_normal((size, 1)) * 1000).astype(np.int16)
        data = encode_flac(pcm, RATE)
        meta = ChunkMeta(site=site, counter=counter, session=session, seq=seq, start_sample=seq * size,
                         samples=size, sample_rate_hz=RATE, channels=1, codec="flac",
                         sha256=hashlib.sha256(data).hexdigest(), size_bytes=len(data),
                         session_wall_start_s=wall0, rms_dbfs=-30.0, peak_dbfs=-6.0)
        store.put_bytes(meta.key, data, content_type="audio/flac")
        assert catalog.register_chunk(meta)
        keys.append(meta.key)
    return keys


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "counterwatch", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def stack_env(db_url: str, s3_server, store) -> dict[str, str]:
    return {"COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
            "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
            "COUNTERWATCH_S3_BUCKET": store.bucket}
