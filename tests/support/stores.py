"""Object stores on a real ``rclone serve s3`` server, one fresh bucket each."""
from __future__ import annotations

import uuid

from storage.objects import ObjectStore
from storage.s3server import S3Server


def gen_bucket_name() -> str:
    """A bucket name no other test uses (like minio-py's ``_gen_bucket_name``)."""
    return f"cw-test-{uuid.uuid4().hex[:24]}"


def store_on(server: S3Server, bucket: str | None = None, *, timeout_s: float = 5.0) -> ObjectStore:
    """An ObjectStore on ``server`` (a fresh bucket name unless given; not created)."""
    return ObjectStore(endpoint=server.endpoint, access_key=server.access_key, secret_key=server.secret_key,
                       bucket=bucket or gen_bucket_name(), timeout_s=timeout_s)
