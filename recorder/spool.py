"""A crash-safe local spool of encoded chunks waiting for upload, one directory per counter.

Layout: ``<root>/<site>/<counter>/<session>-<seq:08d>.flac`` with its ``.json`` sidecar
(:meth:`ChunkMeta.to_dict`); chunks the API refused for good are moved to
``quarantine/`` below that, with a ``.reason`` file, for an operator (:meth:`Spool.quarantine`).
Both files are written to a temporary name, fsynced, renamed
into place, and the directory fsynced, audio first: a chunk counts as spooled once its
sidecar exists, so a crash leaves either a whole chunk or debris that the next
:class:`Spool` on the directory removes. Removal goes the other way (sidecar first).
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path

from domain.chunks import ChunkMeta
from domain.names import check_name

logger = logging.getLogger("recorder")

NEAR_QUOTA_FRACTION = 0.8
_TMP_PREFIX = ".tmp-"
QUARANTINE = "quarantine"
_CHUNK_FILE = re.compile(r"^([0-9a-f]{32})-(\d{8,})\.(flac|json)$")


class SpoolError(Exception):
    """The spool directory cannot be written or holds something it cannot use."""


class SpoolFull(SpoolError):
    """Adding the chunk would take the spool past its quota; nothing was written."""

    def __init__(self, *, needed_bytes: int, usage_bytes: int, quota_bytes: int) -> None:
        super().__init__(f"spool full: {usage_bytes} of {quota_bytes} bytes used, "
                         f"chunk needs {needed_bytes}")
        self.needed_bytes = needed_bytes
        self.usage_bytes = usage_bytes
        self.quota_bytes = quota_bytes


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    tmp = path.with_name(f"{_TMP_PREFIX}{path.name}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _order(meta: ChunkMeta) -> tuple[float, str, int]:
    return (meta.session_wall_start_s, meta.session, meta.seq)


class Spool:
    """Chunks of one (site, counter) on local disk, at most ``quota_bytes`` in all.

    Thread-safe: the capture thread puts while the uploader lists and removes.
    """

    def __init__(self, root: str | Path, *, site: str, counter: str, quota_bytes: int) -> None:
        if quota_bytes <= 0:
            raise ValueError(f"quota_bytes must be positive, not {quota_bytes}")
        self.site = check_name("site", site)
        self.counter = check_name("counter", counter)
        self.quota_bytes = quota_bytes
        self.dir = Path(root) / site / counter
        self.quarantine_dir = self.dir / QUARANTINE
        self._lock = threading.Lock()
        self._chunks: dict[tuple[str, int], tuple[ChunkMeta, int]] = {}  # -> (meta, bytes on disk)
        self._usage = 0
        try:
            # Recordings wait here: readable by the agent's user only (issue 11).
            self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.dir.stat().st_mode & 0o077:
                self.dir.chmod(0o700)
        except OSError as e:
            raise SpoolError(f"cannot create spool directory {self.dir}: {e}") from e
        self._recover()

    def _recover(self) -> None:
        """Index whole chunks left by an earlier run; delete temp files and half chunks."""
        names = {p.name for p in self.dir.iterdir()}
        removed = 0
        for name in sorted(names):
            path = self.dir / name
            m = _CHUNK_FILE.match(name)
            if name.startswith(_TMP_PREFIX):
                path.unlink(missing_ok=True)
                removed += 1
            elif m and m.group(3) == "flac" and name[:-5] + ".json" not in names:
                # Audio renamed into place but the sidecar never was: put() never returned.
                path.unlink(missing_ok=True)
                removed += 1
            elif m and m.group(3) == "json":
                audio = self.dir / (name[:-5] + ".flac")
                try:
                    meta = ChunkMeta.from_dict(json.loads(path.read_text(encoding="utf-8")))
                    size = audio.stat().st_size
                except (OSError, ValueError, KeyError, TypeError) as e:
                    # Sidecars are renamed in whole, after their audio; this is outside damage.
                    logger.error("counter %s: spool %s: unusable chunk %s (%s), moving it aside",
                                 self.counter, self.dir, name, e)
                    for p in (path, audio):
                        if p.exists():
                            os.replace(p, p.with_name(p.name + ".bad"))
                    continue
                if size != meta.size_bytes:
                    logger.error("counter %s: spool %s: %s is %d bytes, sidecar says %d; moving aside",
                                 self.counter, self.dir, audio.name, size, meta.size_bytes)
                    for p in (path, audio):
                        os.replace(p, p.with_name(p.name + ".bad"))
                    continue
                total = size + path.stat().st_size
                self._chunks[(meta.session, meta.seq)] = (meta, total)
                self._usage += total
        if removed:
            _fsync_dir(self.dir)
            logger.warning("counter %s: spool %s: removed %d half-written file(s) from a crash",
                           self.counter, self.dir, removed)
        if self._chunks:
            logger.info("counter %s: spool %s: %d chunk(s), %d bytes waiting from before",
                        self.counter, self.dir, len(self._chunks), self._usage)

    def _stem(self, meta: ChunkMeta) -> str:
        return f"{meta.session}-{meta.seq:08d}"

    def path_of(self, meta: ChunkMeta) -> Path:
        """Where the encoded audio of ``meta`` is spooled."""
        return self.dir / f"{self._stem(meta)}.{meta.codec}"

    def put(self, meta: ChunkMeta, data: bytes) -> Path:
        """Write a chunk durably; it is pending once this returns.

        Raises:
            SpoolFull: the chunk would take the spool past its quota (nothing written).
            SpoolError: the disk refused the write (nothing left half-written that counts).
            ValueError: ``meta`` belongs to another counter or does not describe ``data``.
        """
        if (meta.site, meta.counter) != (self.site, self.counter):
            raise ValueError(f"chunk for {meta.site}/{meta.counter} put in spool of {self.site}/{self.counter}")
        if meta.size_bytes != len(data):
            raise ValueError(f"meta says {meta.size_bytes} bytes, data has {len(data)}")
        sidecar = json.dumps(meta.to_dict(), sort_keys=True).encode("utf-8")
        needed = len(data) + len(sidecar)
        with self._lock:
            if (meta.session, meta.seq) in self._chunks:
                raise ValueError(f"chunk {self._stem(meta)} is already spooled")
            if self._usage + needed > self.quota_bytes:
                raise SpoolFull(needed_bytes=needed, usage_bytes=self._usage, quota_bytes=self.quota_bytes)
            # Reserve the space now so concurrent puts cannot overshoot the quota together.
            self._usage += needed
        audio = self.path_of(meta)
        try:
            _write_durably(audio, data)
            _write_durably(audio.with_suffix(".json"), sidecar)
            _fsync_dir(self.dir)
        except OSError as e:
            with self._lock:
                self._usage -= needed
            for p in (audio.with_suffix(".json"), audio):
                p.unlink(missing_ok=True)
            raise SpoolError(f"cannot write chunk {audio}: {e}") from e
        with self._lock:
            self._chunks[(meta.session, meta.seq)] = (meta, needed)
        return audio

    def pending(self) -> list[ChunkMeta]:
        """Spooled chunks, oldest session first, then by sequence number."""
        with self._lock:
            metas = [m for m, _ in self._chunks.values()]
        return sorted(metas, key=_order)

    def remove(self, meta: ChunkMeta) -> None:
        """Delete a chunk (after its upload was confirmed). Removing twice is harmless."""
        with self._lock:
            entry = self._chunks.pop((meta.session, meta.seq), None)
            if entry is not None:
                self._usage -= entry[1]
        audio = self.path_of(meta)
        audio.with_suffix(".json").unlink(missing_ok=True)
        audio.unlink(missing_ok=True)
        _fsync_dir(self.dir)

    def quarantine(self, meta: ChunkMeta, reason: str) -> Path:
        """Move a chunk the API refused for good (another chunk holds its number, or it is not
        what its metadata says) out of the queue into :attr:`quarantine_dir`, with ``reason``
        beside it; it is never sent again, and never deleted here. Returns its new path."""
        self.quarantine_dir.mkdir(mode=0o700, exist_ok=True)
        audio = self.path_of(meta)
        target = self.quarantine_dir / audio.name
        _write_durably(target.with_suffix(".reason"), reason.encode("utf-8") + b"\n")
        for p in (audio, audio.with_suffix(".json")):
            if p.exists():
                os.replace(p, self.quarantine_dir / p.name)
        _fsync_dir(self.quarantine_dir)
        with self._lock:
            entry = self._chunks.pop((meta.session, meta.seq), None)
            if entry is not None:
                self._usage -= entry[1]
        _fsync_dir(self.dir)
        return target

    @property
    def quarantined(self) -> int:
        """Chunks in the quarantine folder (an operator empties it after looking)."""
        try:
            return sum(1 for p in self.quarantine_dir.iterdir() if p.suffix == ".json")
        except FileNotFoundError:
            return 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._chunks)

    @property
    def usage_bytes(self) -> int:
        with self._lock:
            return self._usage

    @property
    def near_quota(self) -> bool:
        """True at or above 80 % of the quota."""
        return self.usage_bytes >= NEAR_QUOTA_FRACTION * self.quota_bytes
