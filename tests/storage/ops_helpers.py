"""Helpers for the operations tests: chunks stored as an agent would, the CLI in a subprocess."""
from __future__ import annotations

import subprocess

from services.catalog import Catalog
from tests.support.cli import run_cli
from tests.support.recordings import noise, store_session

RATE = 16000


def store_chunks(catalog: Catalog, object_store, *, wall0: float, n: int, chunk_s: float = 1.0, counter: str = "c1",
                 site: str = "hall") -> list[str]:
    """``n`` short chunks of noise in one session: objects in the store, rows in the catalog."""
    stored = store_session(catalog, object_store, noise(n * chunk_s), site=site, counter=counter, wall0=wall0,
                           chunk_s=chunk_s)
    return [m.key for m in stored.metas]


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return run_cli(*args, env=env)


def stack_env(db_url: str, s3_server, object_store) -> dict[str, str]:
    return {"COUNTERWATCH_DATABASE_URL": db_url, "COUNTERWATCH_S3_ENDPOINT": s3_server.endpoint,
            "COUNTERWATCH_S3_ACCESS_KEY": s3_server.access_key, "COUNTERWATCH_S3_SECRET_KEY": s3_server.secret_key,
            "COUNTERWATCH_S3_BUCKET": object_store.bucket}
