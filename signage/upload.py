"""Big signage files without holding them in memory: an upload is spooled to a temporary file
while it is counted, hashed and its head kept for sniffing; the route then puts the file into
the store in parts of :data:`PART_BYTES` (``ObjectStore.put_stream``), and downloads stream
from the store in pieces of :data:`READ_BYTES` (``ObjectStore.open_stream``).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import AsyncIterator, Callable

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
