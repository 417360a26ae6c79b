"""Object Lock, versioning and deletes of an :class:`~storage.objects.ObjectStore`.

A PUT given ``retain_until`` is written under Object Lock retention when the bucket has Object
Lock enabled (probed once, :meth:`ObjectLockMixin.object_lock`); a retain-until date already past
is not sent (the store would refuse the PUT). In a versioned bucket (every bucket with Object
Lock is) or one whose versioning the store will not tell, :meth:`ObjectLockMixin.delete` removes
every version of the key, and a version still under retention raises
:class:`~storage.store_errors.ObjectLocked`.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING
from xml.etree import ElementTree

from minio.error import InvalidResponseError, S3Error, ServerError
from minio.objectlockconfig import ObjectLockConfig
from minio.retention import COMPLIANCE, GOVERNANCE, Retention
from minio.xml import unmarshal

from domain.chunks import CHUNK_KEY
from storage.store_errors import (
    NO_LOCK_CODES,
    NOT_FOUND_CODES,
    UNSUPPORTED_CODES,
    EvidenceProtected,
    ObjectLocked,
    StoreError,
    check_key,
    exception_code,
    xml_error_code,
)

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

    from minio import Minio

    from storage.objects import ObjectInfo

# The object store's own logger: Object Lock and deletes are part of what the store does.
logger = logging.getLogger("storage.objects")

OBJECT_LOCK_SETTINGS = ("auto", "off", "governance", "compliance")
# A retain-until date this close to now (or past) is not sent: the store refuses a past date
# (MinIO and S3: 400), and a request signed more than 15 minutes off the server's clock is
# refused anyway (RequestTimeTooSkewed), so the server's clock is within this of ours.
RETAIN_UNTIL_MARGIN_S = 15 * 60.0
_S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


@dataclass(frozen=True)
class ObjectLockState:
    """What :meth:`ObjectStore.object_lock` found out about the bucket, once.

    ``supported``: the server implements Object Lock; ``enabled``: the bucket was created with
    it (it is then versioned); ``default_mode``/``default_days``: the bucket's default retention,
    if any; ``write_mode``: ``GOVERNANCE`` or ``COMPLIANCE`` for PUTs given ``retain_until``,
    ``None`` when nothing is written locked. ``known``: False when the store refused to say
    (AccessDenied); ``supported`` and ``enabled`` are then False only as far as writing goes.
    """

    supported: bool
    enabled: bool
    write_mode: str | None
    default_mode: str | None = None
    default_days: int | None = None
    known: bool = True



class ObjectLockMixin:
    """The Object Lock and delete half of :class:`~storage.objects.ObjectStore`."""

    _client: Minio
    bucket: str
    endpoint: str
    object_lock_setting: str
    _lock_state: ObjectLockState | None
    _past_retention_run: int
    _versioned: bool | None
    _versioning_probed: bool

    def _errors(self, key: str | None = None) -> AbstractContextManager[None]:
        raise NotImplementedError

    def stat(self, key: str) -> ObjectInfo | None:
        raise NotImplementedError

    def _retention(self, key: str, mode: str, until: dt.datetime) -> Retention | None:
        # A chunk captured while the agent's clock was wrong, or spooled for longer than its
        # retention, has a date already past: evidence is stored all the same, unlocked.
        if until > dt.datetime.now(dt.UTC) + dt.timedelta(seconds=RETAIN_UNTIL_MARGIN_S):
            if self._past_retention_run:
                logger.info("store %s: writing with retention again, after %d object(s) written unlocked "
                            "because their retention date had passed", self.endpoint, self._past_retention_run)
                self._past_retention_run = 0
            return Retention(mode, until)
        self._past_retention_run += 1
        log = logger.warning if self._past_retention_run == 1 else logger.debug
        log("store %s: %s: retention date %s is past (captured while the clock was wrong, or older than its "
            "retention period); written without Object Lock", self.endpoint, key, until.isoformat())
        return None


    def object_lock(self) -> ObjectLockState:
        """Whether PUTs given ``retain_until`` are written locked, probed once per store.

        Asks the bucket's Object Lock configuration (``GET ?object-lock``, what the SDK's
        ``get_object_lock_config`` sends) and caches the answer. A store that does not
        implement it is logged once at INFO.

        Raises:
            StoreUnavailable: the store cannot be reached (nothing cached; asked again later).
            StoreError: another refusal.
        """
        if self._lock_state is None:
            self._lock_state = self._probe_lock()
        return self._lock_state

    def _probe_lock(self) -> ObjectLockState:
        supported, enabled, default = True, False, None
        with self._errors():
            try:
                # Not get_object_lock_config(): rclone serve s3 ignores ?object-lock and lists
                # the bucket, which that call parses as an empty (= enabled, no default)
                # configuration. The root element tells the two apart.
                response = self._client._execute("GET", self.bucket, query_params={"object-lock": ""})
                body = response.data.decode()
            except S3Error as exc:
                if exc.code in NO_LOCK_CODES:
                    body = None
                elif exc.code in UNSUPPORTED_CODES:
                    supported, body = False, None
                elif exc.code == "AccessDenied":
                    # Never let a narrow policy stop evidence uploads: write unlocked, loudly.
                    logger.warning("store %s: may not read the Object Lock configuration of bucket %s "
                                   "(grant s3:GetBucketObjectLockConfiguration); chunks are written "
                                   "unlocked", self.endpoint, self.bucket)
                    return ObjectLockState(supported=False, enabled=False, write_mode=None, known=False)
                else:
                    raise
            except InvalidResponseError as exc:
                # An S3 error sent as text/xml (see _errors): branch on its code all the same.
                code = xml_error_code(getattr(exc, "_body", None))
                if code in NO_LOCK_CODES:
                    body = None
                elif code in UNSUPPORTED_CODES or int(getattr(exc, "_code", 0) or 0) in (405, 501):
                    supported, body = False, None
                else:
                    raise
            except ServerError as exc:
                if exc.status_code != 501:
                    raise
                supported, body = False, None
        if body is not None:
            try:
                root = ElementTree.fromstring(body)
            except ElementTree.ParseError:
                root = None
            if root is None or root.tag.removeprefix(_S3_NS) != "ObjectLockConfiguration":
                supported = False
            else:
                enabled = (root.findtext(f"{_S3_NS}ObjectLockEnabled") or root.findtext("ObjectLockEnabled")) == "Enabled"
                try:
                    default = unmarshal(ObjectLockConfig, body)
                except ValueError:      # a rule the SDK cannot read: only the default is unknown
                    default = None
        wanted = self.object_lock_setting
        mode = None
        if enabled and wanted != "off":
            mode = COMPLIANCE if wanted == "compliance" else GOVERNANCE
        state = ObjectLockState(supported=supported, enabled=enabled, write_mode=mode,
                                default_mode=default.mode if default else None,
                                default_days=(default.duration * (365 if default.duration_unit == "Years" else 1)
                                              if default and default.duration else None))
        if not supported:
            log = logger.warning if wanted in ("governance", "compliance") else logger.info
            log("store %s: Object Lock not supported by this server; chunks are written unlocked", self.endpoint)
        elif not enabled:
            log = logger.warning if wanted in ("governance", "compliance") else logger.info
            log("store %s: bucket %s has no Object Lock (create it with `mc mb --with-lock`); chunks are "
                "written unlocked", self.endpoint, self.bucket)
        elif mode is None:
            logger.info("store %s: bucket %s has Object Lock, but object lock is off here; chunks are "
                        "written without retention of their own", self.endpoint, self.bucket)
        else:
            logger.info("store %s: bucket %s has Object Lock; chunks are written in %s mode until their "
                        "retention date", self.endpoint, self.bucket, mode)
        if state.default_mode:
            logger.warning("store %s: bucket %s has a default retention (%s, %s days) that also locks live "
                           "segments; remove it (counterwatch locks chunks itself)", self.endpoint,
                           self.bucket, state.default_mode, state.default_days)
        return state


    def delete(self, key: str, *, evidence: bool = False) -> None:
        """Remove the object; removing one that is not there is not an error.

        Evidence (a key of the chunk layout, :data:`domain.chunks.CHUNK_KEY`) is write-once: it
        is deleted only when the caller says ``evidence=True``, which retention does after its
        legal-hold and open-complaint checks (issue 11); anything else raises
        :class:`EvidenceProtected` and deletes nothing.

        In a versioned bucket (every bucket with Object Lock is), or one whose versioning the
        store would not tell (see :meth:`versioned`), every version of the key is removed, not
        just hidden behind a delete marker.

        Raises:
            ObjectLocked: a version is under retention (or legal hold) and stays.
            StoreError: AccessDenied listing the versions of a bucket whose versioning is
                unknown (a plain delete could leave the data in the bucket).
            EvidenceProtected: a chunk key without ``evidence=True``.
            StoreUnavailable, StoreError, BadKey.
        """
        check_key(key)
        if not evidence and CHUNK_KEY.match(key):
            raise EvidenceProtected("EvidenceProtected", "recorded chunks are write-once; only retention deletes them",
                                    bucket_name=self.bucket, object_name=key)
        versioned = self.versioned()
        if versioned is False:
            self._delete_plain(key)
        else:
            self._delete_versions(key, versioned_known=versioned is True)


    def versioned(self) -> bool | None:
        """Whether the bucket keeps versions (deletes must remove them), asked once.

        True where it has Object Lock, or its versioning (``GET ?versioning``) is ``Enabled`` or
        ``Suspended`` (versions made before stay); False where it never had versioning or the
        store does not implement it (rclone serve s3 answers with an empty configuration);
        None where the store refused to say (AccessDenied).

        Raises:
            StoreUnavailable: the store cannot be reached (nothing cached; asked again later).
            StoreError: another refusal.
        """
        if not self._versioning_probed:
            self._versioned = self._probe_versioning()
            self._versioning_probed = True
        return self._versioned

    def _probe_versioning(self) -> bool | None:
        if self.object_lock().enabled:
            return True
        with self._errors():
            try:
                status = self._client.get_bucket_versioning(self.bucket).status
            except (S3Error, InvalidResponseError, ServerError) as exc:
                code, http_status = exception_code(exc)
                if code == "AccessDenied":
                    logger.warning("store %s: may not read the versioning of bucket %s (grant "
                                   "s3:GetBucketVersioning); deletes list and remove every version of a key",
                                   self.endpoint, self.bucket)
                    return None
                if code in UNSUPPORTED_CODES or http_status in (405, 501):
                    return False
                raise
        return status in ("Enabled", "Suspended")

    def _delete_plain(self, key: str) -> None:
        with self._errors(key):
            try:
                self._client.remove_object(self.bucket, key)
            except S3Error as exc:
                if exc.code not in NOT_FOUND_CODES:
                    raise
        logger.debug("store %s: deleted %s/%s", self.endpoint, self.bucket, key)

    def _list_versions(self, key: str, *, versioned_known: bool) -> list[tuple[str | None, bool]] | None:
        """(version id, is delete marker) of ``key``; None where the store keeps no versions."""
        with self._errors(key):
            try:
                return [(o.version_id, o.is_delete_marker) for o in
                        self._client.list_objects(self.bucket, prefix=key, include_version=True)
                        if o.object_name == key]
            except (S3Error, InvalidResponseError, ServerError) as exc:
                code, http_status = exception_code(exc)
                if versioned_known:
                    raise
                if code in UNSUPPORTED_CODES or http_status in (405, 501):
                    return None         # no versions kept here (rclone serve s3: NotImplemented)
                if code == "AccessDenied":
                    raise StoreError("AccessDenied", "may neither read the bucket's versioning nor list the "
                                     "versions of the key, and a plain delete in a versioned bucket would keep "
                                     "the data: grant s3:GetBucketVersioning or s3:ListBucketVersions",
                                     bucket_name=self.bucket, object_name=key) from exc
                raise

    def _delete_versions(self, key: str, *, versioned_known: bool = True) -> None:
        versions = self._list_versions(key, versioned_known=versioned_known)
        if not versions:
            # The store keeps no versions, or listed none: a store that ignores ?versions answers
            # with a plain listing, which holds no versions. Whatever is there goes the plain way.
            if versions is None or self.stat(key) is not None:
                self._delete_plain(key)
            return
        with self._errors(key):
            # Data versions first, so a locked one leaves its delete markers (the key stays hidden
            # rather than half-deleted); then the markers.
            for version_id, _marker in sorted(versions, key=lambda v: v[1]):
                try:
                    self._client.remove_object(self.bucket, key, version_id=version_id)
                except S3Error as exc:
                    if exc.code in NOT_FOUND_CODES:
                        continue
                    locked = self._locked_until(key, version_id)
                    if locked is None:
                        raise
                    mode, until = locked
                    raise ObjectLocked("ObjectLocked", f"version {version_id} is locked ({mode}) until "
                                       f"{until.isoformat() if until else 'its legal hold is released'}",
                                       bucket_name=self.bucket, object_name=key, mode=mode,
                                       retain_until=until) from exc
        logger.debug("store %s: deleted %s/%s (%d version(s))", self.endpoint, self.bucket, key, len(versions))

    def _locked_until(self, key: str, version_id: str | None) -> tuple[str, dt.datetime | None] | None:
        """(mode, retain-until) if that version is under retention or legal hold now, else None."""
        retention = self._client.get_object_retention(self.bucket, key, version_id=version_id)
        if retention is not None and retention.retain_until_date is not None \
                and retention.retain_until_date > dt.datetime.now(dt.UTC):
            return retention.mode, retention.retain_until_date
        if self._client.is_object_legal_hold_enabled(self.bucket, key, version_id=version_id):
            return "LEGAL_HOLD", None
        return None

