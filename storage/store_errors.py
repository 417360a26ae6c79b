"""Errors of the object store, and the checks on keys and server answers they come from.

Every error is a :class:`StoreError` (a :class:`domain.errors.DomainError`) whose ``code`` is the
S3 error code or our own; callers branch on the subclass or on ``code``, never on message text.
:class:`StoreUnavailable` means "try again later".
"""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from xml.etree import ElementTree

from minio.error import InvalidResponseError, S3Error, ServerError

from domain.errors import Conflict, Damaged, Forbidden, Invalid, NotFound, Unavailable, Upstream

MAX_KEY_BYTES = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MD5_ETAG = re.compile(r"^[0-9a-f]{32}$")
# S3 error codes that mean "the server is busy or broken right now", not "your request is wrong".
TEMPORARY_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout"})
CHECKSUM_CODES = frozenset({"BadDigest", "XAmzContentSHA256Mismatch"})
NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchVersion"})
# A conditional PUT (If-None-Match: *) found an object at the key (MinIO, AWS: 412).
EXISTS_CODES = frozenset({"PreconditionFailed", "HTTP412"})
# A bucket without Object Lock (MinIO, AWS), or a server that does not implement it.
NO_LOCK_CODES = frozenset({"ObjectLockConfigurationNotFoundError", "ObjectLockConfigurationNotFound"})
UNSUPPORTED_CODES = frozenset({"NotImplemented", "MethodNotAllowed", "InvalidRequest", "InvalidArgument"})


class StoreError(Upstream):
    """An object-store operation failed; ``code`` is the S3 error code or our own."""

    def __init__(self, code: str, message: str = "", *, bucket_name: str | None = None,
                 object_name: str | None = None) -> None:
        super().__init__(f"object {object_name!r} in bucket {bucket_name!r}", message or code, code=code)
        self.bucket_name = bucket_name
        self.object_name = object_name
        where = f"bucket={bucket_name!r} key={object_name!r}"
        self.args = (f"{code}: {message} ({where})" if message else f"{code} ({where})",)

    def __str__(self) -> str:
        return str(self.args[0])


class StoreUnavailable(StoreError, Unavailable):
    """Temporary: connection refused or reset, timeout, HTTP 5xx or SlowDown; retry later."""


class ChecksumMismatch(StoreError, Damaged):
    """The stored or received object's checksum differs from the one sent or expected."""


class ObjectNotFound(StoreError, NotFound):
    """No object at that key."""


class ObjectExists(StoreError, Conflict):
    """A write-once PUT found an object at the key already; nothing was written."""


class EvidenceProtected(StoreError, Forbidden):
    """A delete of a recorded chunk outside retention: evidence is write-once."""


class ObjectLocked(StoreError, Conflict):
    """The object (a version of it) is under Object Lock retention or legal hold and cannot be
    deleted yet; ``retain_until`` says until when (``None`` for a legal hold)."""

    def __init__(self, code: str, message: str = "", *, bucket_name: str | None = None,
                 object_name: str | None = None, mode: str | None = None,
                 retain_until: dt.datetime | None = None) -> None:
        super().__init__(code, message, bucket_name=bucket_name, object_name=object_name)
        self.mode = mode
        self.retain_until = retain_until


class BadKey(StoreError, Invalid):
    """A key that is not a plain relative path: '..', '.', leading '/', backslash, empty
    parts, control characters, or longer than 1024 bytes."""




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


def check_prefix(prefix: str) -> str:
    # A prefix may end in '/' or stop mid-name; what comes before must still be a clean key.
    if prefix:
        check_key(prefix[:-1] if prefix.endswith("/") else prefix)
    return prefix



def user_metadata(headers: Mapping[str, str]) -> dict[str, str]:
    out = {}
    for name, value in headers.items():
        lower = name.lower()
        if lower.startswith("x-amz-meta-"):
            out[lower[len("x-amz-meta-"):]] = value
    return out


def xml_error_code(body: str | None) -> str | None:
    if not body:
        return None
    try:
        return ElementTree.fromstring(body).findtext("Code")
    except ElementTree.ParseError:
        return None


def exception_code(exc: Exception) -> tuple[str | None, int]:
    """(S3 error code, HTTP status) of a minio exception; rclone's text/xml errors included."""
    if isinstance(exc, S3Error):
        return exc.code, exc.response.status if exc.response is not None else 0
    if isinstance(exc, InvalidResponseError):
        return xml_error_code(getattr(exc, "_body", None)), int(getattr(exc, "_code", 0) or 0)
    if isinstance(exc, ServerError):
        return None, exc.status_code
    return None, 0


def etag_md5(etag: str | None) -> str | None:
    etag = (etag or "").strip('"').lower()
    return etag if _MD5_ETAG.match(etag) else None


