"""A thin, typed wrapper over the minio SDK for one bucket.

Every upload is a single PUT carrying ``Content-MD5``, so the server checks the body it
received; the returned ETag is compared with our MD5 as well, and the SHA-256 of the data
is stored as user metadata ``sha256`` for readers. Errors come out as :class:`StoreError`
subclasses; :class:`StoreUnavailable` means "try again later".

The minio client's own urllib3 retries are kept to one connection retry: callers retry with
backoff themselves, and a server that is down must fail within about ``timeout_s``.

Issue 6: every PUT carries the configured server-side encryption (``sse``: SSE-S3 or SSE-KMS;
never SSE-C, whose keys we would have to keep), and a PUT given ``retain_until`` is written
under Object Lock retention when the bucket has Object Lock enabled (probed once,
:meth:`ObjectStore.object_lock`); a retain-until date already past is not sent (the store
would refuse the PUT). In a versioned bucket (every bucket with Object Lock is) or one whose
versioning the store will not tell, :meth:`ObjectStore.delete` removes every version of the
key, and a version still under retention raises :class:`ObjectLocked`.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import DictType, check_bucket_name, genheaders
from minio.sse import Sse, SseKMS, SseS3

from storage.object_lock import OBJECT_LOCK_SETTINGS, ObjectLockMixin, ObjectLockState
from storage.store_errors import (
    CHECKSUM_CODES,
    EXISTS_CODES,
    NOT_FOUND_CODES,
    TEMPORARY_CODES,
    ChecksumMismatch,
    ObjectExists,
    ObjectNotFound,
    StoreError,
    StoreUnavailable,
    check_key,
    check_prefix,
    etag_md5,
    user_metadata,
    xml_error_code,
)

logger = logging.getLogger(__name__)

# S3's limit for one PUT; everything we store (audio chunks, small JSON) is far below it.
MAX_PUT_BYTES = 5 * 1024**3
SHA256_META = "sha256"
_SSE_SETTING = re.compile(r"^(off|s3|kms:[A-Za-z0-9][A-Za-z0-9._:/-]{0,255})$")


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size_bytes: int
    md5_hex: str | None
    metadata: dict[str, str] = field(default_factory=dict)
    # From stat(): when the store wrote it (Unix time); not part of equality (put has none).
    last_modified_s: float | None = field(default=None, compare=False)




def parse_sse(value: str) -> Sse | None:
    """``off`` -> None, ``s3`` -> SSE-S3, ``kms:KEY_ID`` -> SSE-KMS with that key.

    Raises:
        ValueError: any other value (SSE-C is deliberately not offered).
    """
    if not isinstance(value, str) or not _SSE_SETTING.match(value):
        raise ValueError(f"server-side encryption {value!r}: use off, s3 or kms:KEY_ID")
    if value == "off":
        return None
    if value == "s3":
        return SseS3()
    return SseKMS(value[len("kms:"):], {})



class ObjectStore(ObjectLockMixin):
    """Objects in one bucket of an S3 server.

    ``endpoint`` is ``host:port`` without a scheme; ``secure`` picks https.
    """

    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, bucket: str,
                 region: str = "us-east-1", secure: bool = False,
                 timeout_s: float = 10.0, sse: str = "off", object_lock: str = "auto") -> None:
        """``sse``: ``off``, ``s3`` or ``kms:KEY_ID`` (see :func:`parse_sse`), sent with every
        PUT. ``object_lock``: ``auto`` (governance mode when the bucket has Object Lock),
        ``governance``, ``compliance`` or ``off``.

        Raises:
            ValueError: a bad bucket name, ``sse`` or ``object_lock`` value, or SSE-KMS
                without ``secure`` (the key id and data travel only over TLS).
        """
        check_bucket_name(bucket, strict=True)
        if object_lock not in OBJECT_LOCK_SETTINGS:
            raise ValueError(f"object lock {object_lock!r}: use one of {', '.join(OBJECT_LOCK_SETTINGS)}")
        self.sse: Sse | None = parse_sse(sse)
        if self.sse is not None and self.sse.tls_required() and not secure:
            # minio-py's put_object refuses the same; we send headers ourselves, so check here.
            raise ValueError(f"server-side encryption {sse!r} needs a TLS endpoint (secure=True)")
        self.object_lock_setting = object_lock
        self._lock_state: ObjectLockState | None = None
        self._sse_unconfirmed_logged = False
        self._past_retention_run = 0        # PUTs in a row whose retain-until date was past
        self._versioned: bool | None = None
        self._versioning_probed = False
        self.endpoint = endpoint
        self.bucket = bucket
        self.timeout_s = timeout_s
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
            maxsize=10,
            # One quick retry of a refused/dropped connection; no read or status retries, so a
            # hung or failing server costs about one timeout_s. Callers do the real retrying.
            retries=urllib3.Retry(total=1, connect=1, read=0, status=0, other=0, redirect=0,
                                  backoff_factor=0.2, raise_on_status=False),
        )
        # A fixed region: minio signs with it and skips its GetBucketLocation lookup.
        self._client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                             secure=secure, region=region, http_client=http)

    def __repr__(self) -> str:
        return f"ObjectStore(endpoint={self.endpoint!r}, bucket={self.bucket!r})"

    def _error(self, code: str, status: int, message: str, key: str | None) -> StoreError:
        if code in NOT_FOUND_CODES:
            cls: type[StoreError] = ObjectNotFound
        elif code in EXISTS_CODES:
            cls = ObjectExists
        elif code in CHECKSUM_CODES:
            cls = ChecksumMismatch
        elif code in TEMPORARY_CODES or status >= 500:
            cls = StoreUnavailable
        else:
            cls = StoreError
        return cls(code, message, bucket_name=self.bucket, object_name=key)

    @contextmanager
    def _errors(self, key: str | None = None) -> Iterator[None]:
        """Turn minio and urllib3 exceptions raised inside the block into StoreError types."""
        try:
            yield
        except S3Error as exc:
            status = exc.response.status if exc.response is not None else 0
            raise self._error(exc.code or "S3Error", status, exc.message or "", key) from exc
        except InvalidResponseError as exc:
            # rclone sends its XML errors as text/xml, which minio only parses when the type is
            # application/xml; it raises this instead, with the S3 error XML still in the body.
            status = int(getattr(exc, "_code", 0) or 0)
            code = xml_error_code(getattr(exc, "_body", None)) or f"HTTP{status}"
            raise self._error(code, status, f"HTTP {status}", key) from exc
        except ServerError as exc:
            raise self._error(f"HTTP{exc.status_code}", exc.status_code, str(exc), key) from exc
        except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
            reason = getattr(exc, "reason", None) or exc
            raise StoreUnavailable("Unavailable", f"{self.endpoint}: {reason}",
                                   bucket_name=self.bucket, object_name=key) from exc

    def ensure_bucket(self) -> None:
        """Create the bucket unless it exists."""
        with self._errors():
            if self._client.bucket_exists(self.bucket):
                return
            try:
                self._client.make_bucket(self.bucket)
                logger.info("store %s: created bucket %s", self.endpoint, self.bucket)
            except S3Error as exc:
                if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                    raise

    def put_bytes(self, key: str, data: bytes, *,
                  content_type: str = "application/octet-stream",
                  metadata: dict[str, str] | None = None,
                  retain_until: dt.datetime | None = None, if_absent: bool = False) -> ObjectInfo:
        """Upload ``data`` in one PUT that the server checks against ``Content-MD5``.

        ``if_absent``: a write-once PUT (``If-None-Match: *``): a store that honours it (MinIO,
        AWS) refuses to replace an object at the key (:class:`ObjectExists`); one that does not
        (rclone serve s3) ignores the header, so callers check first as well (issue 11).

        ``metadata`` keys are stored as ``x-amz-meta-<key>`` (ASCII values); ``sha256`` is
        always set to the data's SHA-256. The store's server-side encryption goes with every
        PUT. With ``retain_until`` (timezone-aware) and a bucket with Object Lock enabled, the
        object is written under retention until then (see :meth:`object_lock`); elsewhere
        ``retain_until`` is ignored. A ``retain_until`` already past, or less than
        :data:`RETAIN_UNTIL_MARGIN_S` ahead, is not sent (the store would refuse the PUT, and
        the caller would retry it forever): the object is written without retention and a
        warning is logged once per run of such PUTs.

        Raises:
            BadKey: ``key`` is not a clean relative path.
            ChecksumMismatch: the server rejected the body's MD5, or its ETag differs.
            ObjectExists: ``if_absent`` and the key holds an object already.
            StoreUnavailable: the server cannot be reached or is failing; retry later.
            StoreError: any other refusal (code says which).
        """
        check_key(key)
        retention = None
        if retain_until is not None:
            mode = self.object_lock().write_mode
            if mode is not None:
                retention = self._retention(key, mode, retain_until.astimezone(dt.UTC))
        if len(data) > MAX_PUT_BYTES:
            raise ValueError(f"{len(data)} bytes is over the single-PUT limit of {MAX_PUT_BYTES}")
        md5 = hashlib.md5(data, usedforsecurity=False)
        sha256 = hashlib.sha256(data).hexdigest()
        user_meta = {str(k).lower(): str(v) for k, v in (metadata or {}).items()}
        user_meta[SHA256_META] = sha256
        headers: DictType = {  # minio-py's header dict: values may also be lists (genheaders() gives one)
            "Content-Type": content_type,
            "Content-MD5": base64.b64encode(md5.digest()).decode("ascii"),
        }
        headers.update({f"x-amz-meta-{k}": v for k, v in user_meta.items()})
        # The SDK's own helper makes the SSE and Object Lock headers (x-amz-object-lock-mode,
        # x-amz-object-lock-retain-until-date); only those, as it would also rename ours
        # (Content-MD5) to user metadata. Object Lock needs the Content-MD5 we send.
        headers.update(genheaders(None, self.sse, None, retention, False))
        if if_absent:
            headers["If-None-Match"] = "*"
        with self._errors(key):
            # Minio.put_object() turns any header it does not know (Content-MD5 included) into
            # x-amz-meta-*; _put_object() is the single PUT it calls underneath and sends our
            # headers as they are (minio-py 7.2.x).
            result = self._client._put_object(self.bucket, key, data, headers)
        if self.sse is not None:
            self._check_encrypted(key, result.http_headers)
        # SSE-KMS objects have an ETag that is not the MD5 of the data (S3 semantics); the
        # server checked Content-MD5 already, and readers check the sha256.
        server_md5 = None if isinstance(self.sse, SseKMS) else etag_md5(result.etag)
        if server_md5 is not None and server_md5 != md5.hexdigest():
            raise ChecksumMismatch("ETagMismatch", f"server ETag {server_md5} != sent md5 "
                                   f"{md5.hexdigest()}", bucket_name=self.bucket, object_name=key)
        logger.debug("store %s: put %s/%s (%d bytes, md5 %s)", self.endpoint, self.bucket, key,
                     len(data), md5.hexdigest())
        return ObjectInfo(key=key, size_bytes=len(data), md5_hex=md5.hexdigest(),
                          metadata=user_meta)


    def put_file(self, key: str, path: Path, *,
                 content_type: str = "application/octet-stream",
                 metadata: dict[str, str] | None = None,
                 retain_until: dt.datetime | None = None) -> ObjectInfo:
        """Upload the file at ``path`` (read whole; meant for chunk-sized files) like
        :meth:`put_bytes`. Raises what it raises, and OSError if the file cannot be read."""
        check_key(key)
        data = Path(path).read_bytes()
        return self.put_bytes(key, data, content_type=content_type, metadata=metadata,
                              retain_until=retain_until)

    def put_stream(self, key: str, path: Path, *, size_bytes: int, sha256: str,
                   content_type: str = "application/octet-stream",
                   part_size_bytes: int = 16 * 1024 * 1024) -> None:
        """Upload a large file at ``path`` without reading it whole: one PUT when it fits in
        ``part_size_bytes``, else a multipart upload in parts of that size (the memory held).
        ``sha256`` (computed by the caller while it spooled the file) is stored as user metadata
        like :meth:`put_bytes` does; the store's server-side encryption goes with it.

        Raises:
            BadKey, StoreUnavailable, StoreError (see :meth:`put_bytes`), OSError.
        """
        check_key(key)
        with open(path, "rb") as f, self._errors(key):
            self._client.put_object(self.bucket, key, f, size_bytes, content_type=content_type,
                                    metadata={SHA256_META: sha256}, sse=self.sse,
                                    part_size=part_size_bytes, num_parallel_uploads=1)
        logger.debug("store %s: put %s (%d bytes, streamed)", self.endpoint, key, size_bytes)

    def open_stream(self, key: str, *, expected_sha256: str | None = None,
                    piece_bytes: int = 256 * 1024) -> Iterator[bytes]:
        """The object's bytes in pieces of ``piece_bytes``. The object is opened before this
        returns (a missing object or a store that is down raises here, not while streaming); a
        body whose SHA-256 is not ``expected_sha256`` is logged and cut short before its last
        piece (OSError), so a client sees a broken transfer rather than a complete wrong file.

        Raises:
            ObjectNotFound, StoreUnavailable, StoreError, BadKey.
        """
        check_key(key)
        with self._errors(key):
            response = self._client.get_object(self.bucket, key)

        def pieces() -> Iterator[bytes]:
            sha, held = hashlib.sha256(), b""
            try:
                for piece in response.stream(piece_bytes):
                    sha.update(piece)
                    if held:
                        yield held
                    held = piece
                if expected_sha256 and sha.hexdigest() != expected_sha256.lower():
                    logger.error("store %s: %s has sha256 %s, expected %s", self.endpoint, key,
                                 sha.hexdigest(), expected_sha256)
                    raise OSError(f"{key}: sha256 mismatch")
                if held:
                    yield held
            finally:
                response.close()
                response.release_conn()

        return pieces()

    def _check_encrypted(self, key: str, response_headers: Mapping[str, str]) -> None:
        # S3 and MinIO answer an encrypted PUT with x-amz-server-side-encryption; a server that
        # ignores the request (rclone serve s3) does not. The data is stored either way: say so
        # once rather than refuse evidence.
        if response_headers.get("x-amz-server-side-encryption"):
            return
        if not self._sse_unconfirmed_logged:
            self._sse_unconfirmed_logged = True
            logger.warning("store %s: the server did not confirm server-side encryption of %s; objects "
                           "may be stored unencrypted (this server ignores SSE?)", self.endpoint, key)

    def get_bytes(self, key: str, *, expected_sha256: str | None = None) -> bytes:
        """Download the whole object.

        Checks the body against the ETag when that is a plain MD5, and against
        ``expected_sha256`` when given.

        Raises:
            ObjectNotFound, ChecksumMismatch, StoreUnavailable, StoreError, BadKey.
        """
        check_key(key)
        with self._errors(key):
            response = self._client.get_object(self.bucket, key)
            try:
                data = response.read()
                etag = response.headers.get("etag")
                # SSE-KMS objects: the ETag is not an MD5 of the data (sha256 checks remain).
                if response.headers.get("x-amz-server-side-encryption") == "aws:kms":
                    etag = None
            finally:
                response.close()
                response.release_conn()
        server_md5 = etag_md5(etag)
        if server_md5 is not None:
            got_md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if got_md5 != server_md5:
                raise ChecksumMismatch("ETagMismatch", f"body md5 {got_md5} != ETag {server_md5}",
                                       bucket_name=self.bucket, object_name=key)
        if expected_sha256 is not None:
            got = hashlib.sha256(data).hexdigest()
            if got != expected_sha256.lower():
                raise ChecksumMismatch("SHA256Mismatch",
                                       f"body sha256 {got} != expected {expected_sha256}",
                                       bucket_name=self.bucket, object_name=key)
        return data

    def stat(self, key: str) -> ObjectInfo | None:
        """Size, MD5 and user metadata of the object, or None if there is none.

        ``metadata`` may lack ``sha256``: rclone serve s3 keeps metadata in memory only.
        """
        check_key(key)
        with self._errors(key):
            try:
                obj = self._client.stat_object(self.bucket, key)
            except S3Error as exc:
                if exc.code in NOT_FOUND_CODES:
                    return None
                raise
        return ObjectInfo(key=key, size_bytes=int(obj.size or 0), md5_hex=etag_md5(obj.etag),
                          metadata=user_metadata(obj.metadata or {}),
                          last_modified_s=obj.last_modified.timestamp() if obj.last_modified else None)

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield every key under ``prefix`` (recursively), page by page as the server lists."""
        check_prefix(prefix)
        with self._errors(prefix or None):
            for obj in self._client.list_objects(self.bucket, prefix=prefix or None,
                                                 recursive=True):
                if not obj.is_dir:
                    yield obj.object_name


    def ping(self) -> bool:
        """True if the server answers an authenticated request, False if it cannot be reached.

        Raises:
            StoreError: the server answered with a refusal (e.g. wrong credentials).
        """
        try:
            with self._errors():
                self._client.bucket_exists(self.bucket)
        except StoreUnavailable as exc:
            logger.debug("store %s: ping failed: %s", self.endpoint, exc)
            return False
        return True

