"""Big signage files without holding them in memory: an upload is spooled to a temporary file
while it is counted, hashed and its head kept for sniffing; the file then goes to the object
store in parts, and downloads stream from the store in pieces.

The two store calls use the minio client inside :class:`storage.objects.ObjectStore`
(``_client`` and ``_errors``): that class has no streaming put or get yet, and it belongs to
the storage package. They should move there as ``put_stream`` / ``open_stream``.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable, Iterator

from storage.objects import ObjectStore

#: Bytes kept from the start of an upload for sniffing its format.
HEAD_BYTES = 512
#: Multipart part size for the store (S3's minimum is 5 MiB); memory held per upload.
PART_BYTES = 16 * 1024 * 1024
#: Piece size of a streamed download.
READ_BYTES = 256 * 1024


class BadHead(Exception):
    """The first bytes of the upload are not of an accepted format (raised as soon as they are in)."""


class TooLarge(Exception):
    """The upload passed ``limit_bytes`` (raised as soon as it does)."""

    def __init__(self, limit_bytes: int) -> None:
        super().__init__(f"larger than the limit of {limit_bytes} bytes")
        self.limit_bytes = limit_bytes


@dataclass
class Spooled:
    """An upload on disk: ``path`` (delete with :meth:`remove`), its size, SHA-256 and head."""

    path: Path
    size_bytes: int
    sha256: str
    head: bytes

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


async def spool(chunks: AsyncIterator[bytes], *, limit_bytes: int, accept_head: Callable[[bytes], bool] | None = None,
                tmp_dir: str | None = None) -> Spooled:
    """Write ``chunks`` to a temporary file, counting and hashing on the way. ``accept_head``
    is asked once about the first :data:`HEAD_BYTES` bytes (or the whole upload, if shorter),
    so a file of the wrong kind is refused without reading the rest.

    Raises:
        TooLarge: more than ``limit_bytes`` arrived. BadHead: ``accept_head`` said no.
        OSError: the temporary file could not be written. (The partial file is removed.)
    """
    fd, name = tempfile.mkstemp(prefix="cw-upload-", dir=tmp_dir)
    path = Path(name)
    sha, size, head = hashlib.sha256(), 0, bytearray()
    head_checked = accept_head is None
    try:
        with os.fdopen(fd, "wb") as f:
            async for part in chunks:
                if not part:
                    continue
                size += len(part)
                if size > limit_bytes:
                    raise TooLarge(limit_bytes)
                if len(head) < HEAD_BYTES:
                    head += part[:HEAD_BYTES - len(head)]
                if not head_checked and len(head) >= HEAD_BYTES:
                    head_checked = True
                    if not accept_head(bytes(head)):
                        raise BadHead()
                sha.update(part)
                f.write(part)
        if not head_checked and not accept_head(bytes(head)):
            raise BadHead()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path=path, size_bytes=size, sha256=sha.hexdigest(), head=bytes(head))


def put_file_streaming(store: ObjectStore, key: str, path: Path, *, size_bytes: int, sha256: str,
                       content_type: str) -> None:
    """Upload a spooled file in parts of :data:`PART_BYTES` (see ``ObjectStore.put_stream``)."""
    store.put_stream(key, path, size_bytes=size_bytes, sha256=sha256, content_type=content_type,
                     part_size_bytes=PART_BYTES)


def open_streaming(store: ObjectStore, key: str, *, expected_sha256: str | None = None) -> Iterator[bytes]:
    """The object's bytes in pieces of :data:`READ_BYTES` (see ``ObjectStore.open_stream``)."""
    return store.open_stream(key, expected_sha256=expected_sha256, piece_bytes=READ_BYTES)
