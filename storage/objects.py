"""A thin, typed wrapper over the minio SDK for one bucket.

Every upload is a single PUT carrying ``Content-MD5``, so the server checks the body it
received; the returned ETag is compared with our MD5 as well, and the SHA-256 of the data
is stored as user metadata ``sha256`` for readers. Errors come out as :class:`StoreError`
subclasses; :class:`StoreUnavailable` means "try again later".

The minio client's own urllib3 retries are kept to one connection retry: callers retry with
backoff themselves, and a server that is down must fail within about ``timeout_s``.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error, ServerError
from minio.helpers import check_bucket_name

logger = logging.getLogger(__name__)

MAX_KEY_BYTES = 1024
# S3's limit for one PUT; everything we store (audio chunks, small JSON) is far below it.
MAX_PUT_BYTES = 5 * 1024**3
SHA256_META = "sha256"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
# S3 error codes that mean "the server is busy or broken right now", not "your request is wrong".
_TEMPORARY_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})
_CHECKSUM_CODES = frozenset({"BadDigest", "XAmzContentSHA256Mismatch"})
_NOT_FOUND_CODES = frozenset({"NoSuchKey"})


class StoreError(Exception):
    """An object-store operation failed; ``code`` is the S3 error code or our own."""

    def __init__(self, code: str, message: str = "", *, bucket_name: str | None = None,
                 object_name: str | None = None) -> None:
        self.code = code
        self.bucket_name = bucket_name
        self.object_name = object_name
        where = f"bucket={bucket_name!r} key={object_name!r}"
        super().__init__(f"{code}: {message} ({where})" if message else f"{code} ({where})")


class StoreUnavailable(StoreError):
    """Temporary: connection refused or reset, timeout, HTTP 5xx or SlowDown; retry later."""


class ChecksumMismatch(StoreError):
    """The stored or received object's checksum differs from the one sent or expected."""


class ObjectNotFound(StoreError):
    """No object at that key."""


class BadKey(StoreError):
    """A key that is not a plain relative path: '..', '.', leading '/', backslash, empty
    parts, control characters, or longer than 1024 bytes."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size_bytes: int
    md5_hex: str | None
    metadata: dict[str, str] = field(default_factory=dict)


def check_key(key: str) -> str:
    """Return ``key`` if it is a canonical relative object path; raise :class:`BadKey`."""
    if not isinstance(key, str) or not key:
        raise BadKey("BadKey", "key must be a non-empty string", object_name=repr(key))
    reason = None
    if len(key.encode("utf-8", errors="surrogatepass")) > MAX_KEY_BYTES:
        reason = f"longer than {MAX_KEY_BYTES} bytes"
    elif _CONTROL.search(key):
        reason = "control character"
    elif "\\" in key:
        reason = "backslash"
    elif key.startswith("/"):
        reason = "leading '/'"
    else:
        parts = key.split("/")
        if "" in parts:
            reason = "empty path part ('//' or trailing '/')"
        elif "." in parts or ".." in parts:
            reason = "'.' or '..' path part"
    if reason:
        raise BadKey("BadKey", reason, object_name=key)
    return key


def _check_prefix(prefix: str) -> str:
    # A prefix may end in '/' or stop mid-name; what comes before must still be a clean key.
    if prefix:
        check_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix


def _user_metadata(headers) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-meta-"):
            out[lower[len("x-amz-meta-"):]] = value
    return out


def _xml_error_code(body: str | None) -> str | None:
    if not body:
        return None
    try:
        return ElementTree.fromstring(body).findtext("Code")
    except ElementTree.ParseError:
        return None


def _etag_md5(etag: str | None) -> str | None:
    etag = (etag or "").strip('"').lower()
    return etag if _MD5_ETAG.match(etag) else None


class ObjectStore:
    """Objects in one bucket of an S3 server.

    ``endpoint`` is ``host:port`` without a scheme; ``secure`` picks https.
    """

    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, bucket: str,
                 region: str = "us-east-1", secure: bool = False,
                 timeout_s: float = 10.0) -> None:
        check_bucket_name(bucket, strict=True)
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
        if code in _NOT_FOUND_CODES:
            cls: type[StoreError] = ObjectNotFound
        elif code in _CHECKSUM_CODES:
            cls = ChecksumMismatch
        elif code in _TEMPORARY_CODES or status >= 500:
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
            code = _xml_error_code(getattr(exc, "_body", None)) or f"HTTP{status}"
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
                  metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Upload ``data`` in one PUT that the server checks against ``Content-MD5``.

        ``metadata`` keys are stored as ``x-amz-meta-<key>`` (ASCII values); ``sha256`` is
        always set to the data's SHA-256.

        Raises:
            BadKey: ``key`` is not a clean relative path.
            ChecksumMismatch: the server rejected the body's MD5, or its ETag differs.
            StoreUnavailable: the server cannot be reached or is failing; retry later.
            StoreError: any other refusal (code says which).
        """
        check_key(key)
        if len(data) > MAX_PUT_BYTES:
            raise ValueError(f"{len(data)} bytes is over the single-PUT limit of {MAX_PUT_BYTES}")
        md5 = hashlib.md5(data, usedforsecurity=False)
        sha256 = hashlib.sha256(data).hexdigest()
        user_meta = {str(k).lower(): str(v) for k, v in (metadata or {}).items()}
        user_meta[SHA256_META] = sha256
        headers: dict[str, str] = {
            "Content-Type": content_type,
            "Content-MD5": base64.b64encode(md5.digest()).decode("ascii"),
        }
        headers.update({f"x-amz-meta-{k}": v for k, v in user_meta.items()})
        with self._errors(key):
            # Minio.put_object() turns any header it does not know (Content-MD5 included) into
            # x-amz-meta-*; _put_object() is the single PUT it calls underneath and sends our
            # headers as they are (minio-py 7.2.x).
            result = self._client._put_object(self.bucket, key, data, headers)
        etag_md5 = _etag_md5(result.etag)
        if etag_md5 is not None and etag_md5 != md5.hexdigest():
            raise ChecksumMismatch("ETagMismatch", f"server ETag {etag_md5} != sent md5 "
                                   f"{md5.hexdigest()}", bucket_name=self.bucket, object_name=key)
        logger.debug("store %s: put %s/%s (%d bytes, md5 %s)", self.endpoint, self.bucket, key,
                     len(data), md5.hexdigest())
        return ObjectInfo(key=key, size_bytes=len(data), md5_hex=md5.hexdigest(),
                          metadata=user_meta)

    def put_file(self, key: str, path: Path, *,
                 content_type: str = "application/octet-stream",
                 metadata: dict[str, str] | None = None) -> ObjectInfo:
        """Upload the file at ``path`` (read whole; meant for chunk-sized files) like
        :meth:`put_bytes`. Raises what it raises, and OSError if the file cannot be read."""
        check_key(key)
        data = Path(path).read_bytes()
        return self.put_bytes(key, data, content_type=content_type, metadata=metadata)

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
            finally:
                response.close()
                response.release_conn()
        etag_md5 = _etag_md5(etag)
        if etag_md5 is not None:
            got_md5 = hashlib.md5(data, usedforsecurity=False).hexdigest()
            if got_md5 != etag_md5:
                raise ChecksumMismatch("ETagMismatch", f"body md5 {got_md5} != ETag {etag_md5}",
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
                if exc.code in _NOT_FOUND_CODES:
                    return None
                raise
        return ObjectInfo(key=key, size_bytes=int(obj.size or 0), md5_hex=_etag_md5(obj.etag),
                          metadata=_user_metadata(obj.metadata or {}))

    def iter_keys(self, prefix: str = "") -> Iterator[str]:
        """Yield every key under ``prefix`` (recursively), page by page as the server lists."""
        _check_prefix(prefix)
        with self._errors(prefix or None):
            for obj in self._client.list_objects(self.bucket, prefix=prefix or None,
                                                 recursive=True):
                if not obj.is_dir:
                    yield obj.object_name

    def delete(self, key: str) -> None:
        """Remove the object; removing one that is not there is not an error."""
        check_key(key)
        with self._errors(key):
            try:
                self._client.remove_object(self.bucket, key)
            except S3Error as exc:
                if exc.code not in _NOT_FOUND_CODES:
                    raise
        logger.debug("store %s: deleted %s/%s", self.endpoint, self.bucket, key)

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
