"""Signage content: videos and images in the object store (once per SHA-256, under
``signage/content/<sha256>``) and text announcements rendered by the screens, shared by the API
and the CLI.

Big files are never held in memory: an upload is spooled to a temporary file while it is
counted, hashed and its head kept for sniffing (:func:`spool`); it is then put into the store in
parts of :data:`PART_BYTES`, and downloads stream in pieces of :data:`READ_BYTES`. The format is
read from the file's first bytes (:func:`sniff`), never from the client's ``Content-Type``.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.displaynames import check_display_name
from domain.errors import Conflict, Invalid, NotFound, TooLarge, Unsupported
from services.accounts import Principal
from services.catalog import visible_site
from storage.engine import read_session, write_session
from storage.objects import ObjectStore
from storage.store_errors import ObjectNotFound, StoreError
from storage.tables import SignageContent, SignagePlaylist, Site

logger = logging.getLogger(__name__)

#: Largest upload, unless the API is given another limit.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
#: Bytes kept from the start of an upload for sniffing its format.
HEAD_BYTES = 512
#: Multipart part size for the store (S3's minimum is 5 MiB); memory held per upload.
PART_BYTES = 16 * 1024 * 1024
#: Piece size of a streamed download.
READ_BYTES = 256 * 1024


class BadHead(Unsupported):
    """The first bytes of the upload are not of an accepted format (raised as soon as they are in)."""

    code = "unsupported_format"

    def __init__(self) -> None:
        super().__init__("upload", "not a PNG, JPEG, GIF, WebP image or an MP4, WebM/MKV, MPEG-TS video")


class UploadTooLarge(TooLarge):
    """The upload passed ``limit_bytes`` (raised as soon as it does)."""

    code = "upload_too_large"

    def __init__(self, limit_bytes: int) -> None:
        super().__init__("upload", f"larger than the upload limit of {limit_bytes} bytes ({limit_bytes / 2**20:g} MiB)",
                         limit_bytes=limit_bytes)
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
        UploadTooLarge: more than ``limit_bytes`` arrived. BadHead: ``accept_head`` said no.
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
                    raise UploadTooLarge(limit_bytes)
                if len(head) < HEAD_BYTES:
                    head += part[:HEAD_BYTES - len(head)]
                if accept_head is not None and not head_checked and len(head) >= HEAD_BYTES:
                    head_checked = True
                    if not accept_head(bytes(head)):
                        raise BadHead()
                sha.update(part)
                f.write(part)
        if accept_head is not None and not head_checked and not accept_head(bytes(head)):
            raise BadHead()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path=path, size_bytes=size, sha256=sha.hexdigest(), head=bytes(head))


_NAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\]")
MAGIC: tuple[tuple[int, bytes, str, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image", "image/png"),
    (0, b"\xff\xd8\xff", "image", "image/jpeg"),
    (0, b"GIF87a", "image", "image/gif"),
    (0, b"GIF89a", "image", "image/gif"),
    (4, b"ftyp", "video", "video/mp4"),
    (0, b"\x1a\x45\xdf\xa3", "video", "video/webm"),
)


class ContentNotFound(NotFound):
    code = "content_not_found"

    def __init__(self, content_id: int, *, files_only: bool = False) -> None:
        super().__init__(f"{'file ' if files_only else ''}content {content_id}", "not found", content_id=content_id)


class ContentInUse(Conflict):
    code = "in_use"


class NotText(Invalid):
    code = "not_text"


def content_key(sha256: str) -> str:
    return f"signage/content/{sha256}"


def sniff(head: bytes) -> tuple[str, str] | None:
    """(kind, content type) from the first bytes of a file, or None if not a known format."""
    for offset, magic, kind, ctype in MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return kind, ctype
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image", "image/webp"
    if len(head) > 188 and head[0] == 0x47 and head[188] == 0x47:
        return "video", "video/mp2t"
    return None


#: The largest image a screen is asked to show: 8192 px a side, 40 megapixels (a 4K screen is
#: 8.3); a PNG that declares 30000 x 30000 would take 3.6 GB to decode on every screen.
MAX_IMAGE_SIDE_PX = 8192
MAX_IMAGE_PIXELS = 40_000_000


class ImageTooLarge(Invalid):
    code = "image_too_large"


def check_image(path: Path) -> None:
    """Refuse an image that does not open as one (its header is read, not its pixels) or whose
    size is past :data:`MAX_IMAGE_SIDE_PX` / :data:`MAX_IMAGE_PIXELS`.

    Raises:
        ImageTooLarge; BadHead: the file does not open as an image.
    """
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            width, height = im.size
    except Image.DecompressionBombError as e:
        raise ImageTooLarge("image", f"declares far more pixels than {MAX_IMAGE_PIXELS // 1_000_000} megapixels") from e
    except (UnidentifiedImageError, OSError) as e:
        raise BadHead() from e
    if max(width, height) > MAX_IMAGE_SIDE_PX or width * height > MAX_IMAGE_PIXELS:
        raise ImageTooLarge("image", f"is {width} x {height} px; at most {MAX_IMAGE_SIDE_PX} px a side and "
                            f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels", width_px=width, height_px=height)


def check_content_name(name: str) -> str:
    """``name`` if it is a fit name for content; raise :class:`~domain.errors.Invalid` otherwise."""
    # no '/' or '\\', so a name is never a path: '..' is harmless inside one (a..b.png) and refused
    # only as a name of its own (a leading '.')
    if not name or len(name) > 200 or _NAME_BAD.search(name) or name.startswith("."):
        raise Invalid(f"content name {name!r}", "must be 1-200 characters without '/', '\\', a leading '.' "
                      "or control characters", code="bad_content_name")
    return check_display_name("content name", name, max_chars=200)


@dataclass(frozen=True)
class ContentView:
    id: int
    site: str
    kind: str
    name: str
    sha256: str
    size_bytes: int
    content_type: str
    title: str
    body: str
    url: str | None        # where a screen downloads the file (None for text)


def content_view(c: SignageContent, site: str) -> ContentView:
    return ContentView(id=c.id, site=site, kind=c.kind, name=c.name, sha256=c.sha256, size_bytes=c.size_bytes,
                       content_type=c.content_type, title=c.title, body=c.body,
                       url=f"/api/v1/signage/content/{c.id}" if c.kind != "text" else None)


def _put_spooled(store: ObjectStore, key: str, up: Spooled, content_type: str) -> None:
    store.put_stream(key, up.path, size_bytes=up.size_bytes, sha256=up.sha256, content_type=content_type,
                     part_size_bytes=PART_BYTES)


def store_upload(engine: Engine, store: ObjectStore, user: Principal, *, site: str, name: str,
                 up: Spooled) -> ContentView:
    """Put a spooled upload into the store (unless a file of that SHA-256 is there) and add its
    content row.

    Raises:
        SiteNotFound, BadHead, StoreError.
    """
    head = sniff(up.head)
    if head is None:
        raise BadHead()
    kind, ctype = head
    if kind == "image":
        check_image(up.path)
    key = content_key(up.sha256)
    with write_session(engine) as s:
        site_id = visible_site(s, user, site).id
    present = store.stat(key) is not None
    if not present:
        _put_spooled(store, key, up, ctype)
    with write_session(engine) as s:
        row = SignageContent(site_id=site_id, kind=kind, name=name, sha256=up.sha256, size_bytes=up.size_bytes,
                             content_type=ctype)
        s.add(row)
        s.flush()
        view = content_view(row, site)
    if present:
        # Another row's file was reused: a delete of that row may have removed it between the
        # stat above and the commit. Put it back from the temporary file, still here; if that
        # fails, the row goes too (no content row without its file).
        try:
            if store.stat(key) is None:
                logger.info("signage: %s was deleted while content %s was uploaded; storing it again", key, view.id)
                _put_spooled(store, key, up, ctype)
        except StoreError:
            with write_session(engine) as s:
                s.execute(delete(SignageContent).where(SignageContent.id == view.id))
            raise
    return view


def add_text(engine: Engine, user: Principal, *, site: str, name: str, title: str, body: str) -> ContentView:
    """A text announcement (办事指南, 收费标准, 温馨提示 ...): screens render it into slides."""
    name = check_content_name(name)
    with write_session(engine) as s:
        row = SignageContent(site_id=visible_site(s, user, site).id, kind="text", name=name, title=title, body=body,
                             content_type="text/plain")
        s.add(row)
        s.flush()
        return content_view(row, site)


def list_content(db: Session, user: Principal, site: str) -> list[ContentView]:
    s = visible_site(db, user, site)
    return [content_view(c, site) for c in
            db.scalars(select(SignageContent).where(SignageContent.site_id == s.id).order_by(SignageContent.id))]


def content_row(db: Session, user: Principal, content_id: int, *, files_only: bool = False) -> tuple[SignageContent, str]:
    """The content row and its site's name, if ``user`` sees that site.

    Raises:
        ContentNotFound: no such content there (also for a text announcement when ``files_only``).
    """
    row = db.execute(select(SignageContent, Site.name).join(Site, SignageContent.site_id == Site.id)
                     .where(SignageContent.id == content_id)).first()
    if row is None or not user.can_see(row[1]) or (files_only and row[0].kind == "text"):
        raise ContentNotFound(content_id, files_only=files_only)
    return row[0], row[1]


def open_file(db: Session, store: ObjectStore, user: Principal, content_id: int) -> tuple[ContentView, Iterator[bytes]]:
    """A video's or image's row and its bytes, streamed from the store.

    Raises:
        ContentNotFound; StoreError (``content_missing``: the file is gone from the store).
    """
    c, site = content_row(db, user, content_id, files_only=True)
    try:
        body = store.open_stream(content_key(c.sha256), expected_sha256=c.sha256, piece_bytes=READ_BYTES)
    except ObjectNotFound as e:
        raise StoreError("content_missing", f"content {content_id} is missing from the store",
                         bucket_name=store.bucket, object_name=content_key(c.sha256)) from e
    return content_view(c, site), body


def playlists_using(db: Session, site_id: int, content_id: int) -> list[SignagePlaylist]:
    return [p for p in db.scalars(select(SignagePlaylist).where(SignagePlaylist.site_id == site_id)
                                  .order_by(SignagePlaylist.id))
            if any(int(i["content_id"]) == content_id for i in p.items or ())]


def edit_text(engine: Engine, user: Principal, content_id: int, *, name: str | None = None,
              title: str | None = None, body: str | None = None) -> ContentView:
    """Change a text announcement; screens render the new text at their next manifest poll.

    Raises:
        ContentNotFound; NotText (a video or image: upload a new file instead).
    """
    with write_session(engine) as s:
        c, site = content_row(s, user, content_id)
        if c.kind != "text":
            raise NotText(f"content {content_id}", f"is a {c.kind}: only text announcements can be edited; upload a "
                          "new file and put it in the playlists instead")
        if name is not None:
            c.name = check_content_name(name)
        if title is not None:
            c.title = title
        if body is not None:
            c.body = body
        s.flush()
        return content_view(c, site)


def delete_content(engine: Engine, store: ObjectStore, user: Principal, content_id: int) -> None:
    """Delete content that no playlist uses. Its file leaves the store unless another content
    row (any site) has the same SHA-256.

    Raises:
        ContentNotFound; ContentInUse (naming the playlists that use it).
    """
    with write_session(engine) as s:
        c, _ = content_row(s, user, content_id)
        users = playlists_using(s, c.site_id, c.id)
        if users:
            raise ContentInUse(f"content {c.id} ({c.name!r})", f"is in playlist(s) "
                               f"{', '.join(f'{p.id} ({p.name!r})' for p in users)}: take it out of them first",
                               playlist_ids=[p.id for p in users])
        sha = c.sha256
        s.delete(c)
    # Asked after the commit, right before the file goes: an upload of the same file that
    # committed its row by now keeps it (one committing later puts it back: see store_upload).
    with read_session(engine) as s:
        shared = bool(sha) and s.scalar(select(SignageContent.id).where(SignageContent.sha256 == sha).limit(1))
    if sha and not shared:
        try:
            store.delete(content_key(sha))
        except StoreError as e:   # the row is gone; an orphan file is harmless and logged
            logger.warning("signage: content %s deleted, its file %s stays in the store: %s", content_id, sha, e)
