"""Waiting-area screens: screens and their tokens, content in the object store, playlists,
schedules, interrupts; each screen's manifest, content download, proof of play and heartbeat;
a preview of what a screen shows at a given time.

Admins and supervisors manage their sites; a screen's token reads its own manifest and its
site's content, and reports its own plays and heartbeats.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import (MAX_ROW_ID, Principal, RowId, SessionDep, StoreDep, Supervisor, require, store_errors,
                      store_http_error)
from signage import upload
from signage.catalog import (SignageError, events_cursor, interrupts_open_at, now_serving, register_screen,
                             screen_ref, set_screen_alarm, site_schedule, site_screens)
from signage.models import (SignageContent, SignageInterrupt, SignagePlay, SignagePlaylist, SignageSchedule,
                            SignageScreen)
from signage.schedule import (Playlist, PlaylistItem, ScheduleError, entry_from_dict, entry_to_dict, resolve,
                              schedule_to_dict, validate, validate_playlist)
from signage.upload import BadHead, Spooled, TooLarge, spool
from storage.db import Alarm, Site, now_s
from storage.objects import ObjectNotFound, ObjectStore, StoreError

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/signage", tags=["signage"])

ScreenOrStaff = Annotated[Principal, Depends(require("admin", "supervisor", "screen"))]
ScreenOnly = Annotated[Principal, Depends(require("screen"))]
MAX_ID = MAX_ROW_ID

#: Largest upload; ``app.state.signage_max_upload_bytes`` overrides it (tests use a small one).
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_NAME_BAD = re.compile(r"[\x00-\x1f\x7f/\\]")
MAGIC: tuple[tuple[int, bytes, str, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "image", "image/png"),
    (0, b"\xff\xd8\xff", "image", "image/jpeg"),
    (0, b"GIF87a", "image", "image/gif"),
    (0, b"GIF89a", "image", "image/gif"),
    (4, b"ftyp", "video", "video/mp4"),
    (0, b"\x1a\x45\xdf\xa3", "video", "video/webm"),
)


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


def check_content_name(name: str) -> str:
    if not name or len(name) > 200 or _NAME_BAD.search(name) or name.startswith(".") or ".." in name:
        raise HTTPException(422,
                            f"content name {name!r} must be 1-200 characters without '/', '\\', '..', "
                            "a leading '.' or control characters")
    return name


# -- models ---------------------------------------------------------------------------------------

class ScreenCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=63, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    groups: list[str] = Field(default_factory=list, max_length=20)


class ScreenPublic(BaseModel):
    id: int
    site: str
    name: str
    groups: list[str]
    last_heartbeat_s: float | None = None
    status: dict = Field(default_factory=dict)
    alarms: list[str] = Field(default_factory=list, description="open alarms, e.g. screen-gone")
    token: str | None = Field(None, description="the screen's bearer token; returned once, at registration")


class TextContentCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=200)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field("", max_length=20000)


class TextContentEdit(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    title: str | None = Field(None, min_length=1, max_length=200)
    body: str | None = Field(None, max_length=20000)


class ContentPublic(BaseModel):
    id: int
    site: str
    kind: str
    name: str
    sha256: str
    size_bytes: int
    content_type: str
    title: str
    body: str
    url: str | None


class PlaylistItemIn(BaseModel):
    content_id: int = Field(ge=1, le=MAX_ID)
    duration_s: float = Field(gt=0, le=86400)


class PlaylistCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=100)
    items: list[PlaylistItemIn] = Field(max_length=500)


class PlaylistPublic(BaseModel):
    id: int
    site: str
    name: str
    items: list[PlaylistItemIn]


class ScheduleCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    playlist_id: int = Field(ge=1, le=MAX_ID)
    screens: list[str] = Field(default_factory=list, max_length=200)
    groups: list[str] = Field(default_factory=list, max_length=50)
    weekdays: list[int] = Field(default_factory=lambda: list(range(7)), description="0 = Monday")
    start_time: str = Field("00:00", description="HH:MM, local to the site")
    end_time: str = Field("24:00", description="HH:MM, exclusive")
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    priority: int = Field(0, ge=-1000, le=1000)


class SchedulePublic(ScheduleCreate):
    id: int


class InterruptCreate(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    title: str = Field(min_length=1, max_length=200)
    body: str = Field("", max_length=5000)
    screens: list[str] = Field(default_factory=list, description="empty: every screen of the site")


class InterruptPublic(InterruptCreate):
    id: int
    started_s: float
    cleared_s: float | None


class PlayIn(BaseModel):
    uid: str = Field(min_length=8, max_length=40)
    kind: str = Field(pattern=r"^(playlist|interrupt|default)$")
    status: str = Field(pattern=r"^(played|skipped)$")
    content_id: int | None = Field(None, ge=1, le=MAX_ID)
    playlist_id: int | None = Field(None, ge=1, le=MAX_ID)
    schedule_id: int | None = Field(None, ge=1, le=MAX_ID)
    interrupt_id: int | None = Field(None, ge=1, le=MAX_ID)
    started_s: float = Field(ge=0, le=1e11)
    ended_s: float | None = Field(None, ge=0, le=1e11)
    reason: str = Field("", max_length=2000)


class PlayPublic(PlayIn):
    id: int
    received_s: float


class Heartbeat(BaseModel):
    playing: str = Field("", max_length=300)
    cache_items: int = 0
    offline_periods: list[tuple[float, float]] = Field(default_factory=list, max_length=100,
                                                       description="(from_s, to_s) the server could not be reached")
    errors: list[str] = Field(default_factory=list, max_length=50)


class Preview(BaseModel):
    screen: str
    at: dt.datetime
    kind: str
    schedule_id: int | None = Field(None, ge=1, le=MAX_ID)
    playlist_id: int | None = Field(None, ge=1, le=MAX_ID)
    playlist: str | None = None
    item_index: int | None = None
    content: ContentPublic | None = None
    item_start: dt.datetime | None = None
    item_end: dt.datetime | None = None
    interrupt: InterruptPublic | None = None


# -- helpers --------------------------------------------------------------------------------------

def _site(db: Session, user: Principal, name: str) -> Site:
    site = db.scalar(select(Site).where(Site.name == name))
    if site is None or not user.can_see(name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {name!r}")
    return site


def _screen(db: Session, user: Principal, name: str) -> tuple[SignageScreen, Site]:
    """The screen, if ``user`` may use it: staff of its site, or the screen's own machine user."""
    row = db.execute(select(SignageScreen, Site).join(Site, SignageScreen.site_id == Site.id)
                     .where(SignageScreen.name == name)).first()
    if row is None or not user.can_see(row[1].name):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no screen {name!r}")
    if user.role == "screen" and row[0].user_id != user.id:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "a screen reads its own manifest only")
    return row[0], row[1]


def _tz(site: Site) -> dt.tzinfo:
    try:
        return ZoneInfo(site.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return dt.timezone.utc


def _content_public(c: SignageContent, site: str) -> ContentPublic:
    url = f"/api/v1/signage/content/{c.id}" if c.kind != "text" else None
    return ContentPublic(id=c.id, site=site, kind=c.kind, name=c.name, sha256=c.sha256, size_bytes=c.size_bytes,
                         content_type=c.content_type, title=c.title, body=c.body, url=url)


def _schedule_error(e: ScheduleError) -> HTTPException:
    return HTTPException(422,
                         {"code": e.code, "reason": e.reason, "schedule_ids": list(e.entry_ids)})


def _interrupt_public(i: SignageInterrupt, site: str) -> InterruptPublic:
    return InterruptPublic(id=i.id, site=site, title=i.title, body=i.body, screens=i.screens or [],
                           started_s=i.started_s, cleared_s=i.cleared_s)


# -- screens --------------------------------------------------------------------------------------

@router.post("/screens", response_model=ScreenPublic, status_code=201)
def add_screen(body: ScreenCreate, user: Supervisor, db: SessionDep, request: Request) -> ScreenPublic:
    """Register a screen (or re-issue its token, revoking the older ones); the token in the
    answer is shown once. 409 ``name_taken`` when another site has a screen of that name."""
    _site(db, user, body.site)
    db.commit()   # SQLite: release this session's transaction before register_screen writes
    try:
        screen_id, token = register_screen(request.app.state.engine, site=body.site, name=body.name,
                                           groups=body.groups)
    except SignageError as e:
        if e.code == "name_taken":   # another site's screen: never moved, nothing about it told
            raise HTTPException(status.HTTP_409_CONFLICT, {"code": e.code, "reason": e.reason}) from e
        raise HTTPException(422, e.reason) from e
    row = db.get(SignageScreen, screen_id)
    db.refresh(row)
    return ScreenPublic(id=row.id, site=body.site, name=row.name, groups=row.groups or [], token=token)


@router.get("/screens", response_model=list[ScreenPublic])
def list_screens(user: Supervisor, db: SessionDep) -> list[ScreenPublic]:
    q = select(SignageScreen, Site.name).join(Site, SignageScreen.site_id == Site.id).order_by(SignageScreen.name)
    if user.sites:
        q = q.where(Site.name.in_(user.sites))
    alarms: dict[int, list[str]] = {}
    for screen_id, kind in db.execute(select(Alarm.screen_id, Alarm.kind).where(Alarm.screen_id.is_not(None),
                                                                               Alarm.cleared_s.is_(None))):
        alarms.setdefault(screen_id, []).append(kind)
    return [ScreenPublic(id=s.id, site=site, name=s.name, groups=s.groups or [], last_heartbeat_s=s.last_heartbeat_s,
                         status=s.status or {}, alarms=sorted(alarms.get(s.id, []))) for s, site in db.execute(q)]


# -- content --------------------------------------------------------------------------------------

@router.post("/content", response_model=ContentPublic, status_code=201)
async def upload_content(request: Request, user: Supervisor, db: SessionDep, store: StoreDep,
                         site: str = Query(min_length=1, max_length=63),
                         name: str = Query(min_length=1, max_length=300)) -> ContentPublic:
    """Upload a video or image as the raw request body (``Content-Type`` is not trusted: the
    format is read from the file). The body is streamed to a temporary file (counted and hashed
    on the way), then to the store, once per SHA-256, under ``signage/content/<sha256>``.
    413 as soon as it passes the limit, 415 for an unknown format, 422 for a bad name."""
    site_id = (await run_in_threadpool(_site, db, user, site)).id
    check_content_name(name)
    # No transaction (nor pooled connection; on SQLite, no write lock) while the body streams in:
    # a few slow uploads must not hold the pool, or sit "idle in transaction" on PostgreSQL.
    await run_in_threadpool(db.commit)
    limit = getattr(request.app.state, "signage_max_upload_bytes", MAX_UPLOAD_BYTES)
    too_large = f"larger than the upload limit of {limit} bytes ({limit / 2**20:g} MiB)"
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, too_large)
    try:
        up = await spool(request.stream(), limit_bytes=limit, accept_head=lambda head: sniff(head) is not None)
    except TooLarge as e:
        raise HTTPException(413, too_large) from e
    except BadHead as e:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            "not a PNG, JPEG, GIF, WebP image or an MP4, WebM/MKV, MPEG-TS video") from e
    try:
        kind, ctype = sniff(up.head)
        key = content_key(up.sha256)
        with store_errors():
            present = await run_in_threadpool(store.stat, key) is not None
            if not present:
                await run_in_threadpool(_put_spooled, store, key, up, ctype)
        row = SignageContent(site_id=site_id, kind=kind, name=name, sha256=up.sha256, size_bytes=up.size_bytes,
                             content_type=ctype)
        db.add(row)
        await run_in_threadpool(db.commit)
        if present:
            # Another row's file was reused: a delete of that row may have removed it between
            # the stat above and the commit. Put it back from the temporary file, still here.
            await run_in_threadpool(_put_back_if_gone, db, store, row, key, up, ctype)
    finally:
        up.remove()
    return await run_in_threadpool(_content_public, row, site)


def _put_spooled(store: ObjectStore, key: str, up: Spooled, content_type: str) -> None:
    store.put_stream(key, up.path, size_bytes=up.size_bytes, sha256=up.sha256, content_type=content_type,
                     part_size_bytes=upload.PART_BYTES)


def _put_back_if_gone(db: Session, store: ObjectStore, row: SignageContent, key: str, up: Spooled,
                      content_type: str) -> None:
    """After the row is committed: if the file it shares was deleted meanwhile, store it again;
    if that fails, the row goes too (no content row without its file)."""
    try:
        if store.stat(key) is None:
            logger.info("signage: %s was deleted while content %s was uploaded; storing it again", key, row.id)
            _put_spooled(store, key, up, content_type)
    except StoreError as e:
        db.delete(row)
        db.commit()
        raise store_http_error(e) from e


@router.post("/content/text", response_model=ContentPublic, status_code=201)
def add_text(body: TextContentCreate, user: Supervisor, db: SessionDep) -> ContentPublic:
    """A text announcement (办事指南, 收费标准, 温馨提示 ...): screens render it into slides."""
    s = _site(db, user, body.site)
    check_content_name(body.name)
    row = SignageContent(site_id=s.id, kind="text", name=body.name, title=body.title, body=body.body,
                         content_type="text/plain")
    db.add(row)
    db.commit()
    return _content_public(row, body.site)


@router.get("/content", response_model=list[ContentPublic])
def list_content(user: Supervisor, db: SessionDep, site: str = Query(min_length=1, max_length=63)) -> list[ContentPublic]:
    s = _site(db, user, site)
    return [_content_public(c, site) for c in
            db.scalars(select(SignageContent).where(SignageContent.site_id == s.id).order_by(SignageContent.id))]


@router.get("/content/{content_id}", response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def download_content(content_id: RowId, user: ScreenOrStaff, db: SessionDep, store: StoreDep) -> Response:
    """The file of a video or image (staff of its site, or a screen of its site), streamed
    from the store."""
    c, _ = _content_row(db, user, content_id, files_only=True)
    with store_errors():
        try:
            body = store.open_stream(content_key(c.sha256), expected_sha256=c.sha256, piece_bytes=upload.READ_BYTES)
        except ObjectNotFound as e:
            raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"content {content_id} is missing from the store") from e
    return StreamingResponse(body, media_type=c.content_type or "application/octet-stream",
                             headers={"ETag": f'"{c.sha256}"', "Content-Length": str(c.size_bytes),
                                      "Cache-Control": "private, max-age=31536000, immutable"})


def _content_row(db: Session, user: Principal, content_id: int, *,
                 files_only: bool = False) -> tuple[SignageContent, str]:
    """The content row and its site's name, if ``user`` sees that site (404 otherwise; also for
    a text announcement when ``files_only``)."""
    row = db.execute(select(SignageContent, Site.name).join(Site, SignageContent.site_id == Site.id)
                     .where(SignageContent.id == content_id)).first()
    if row is None or not user.can_see(row[1]) or (files_only and row[0].kind == "text"):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {'file ' if files_only else ''}content {content_id}")
    return row[0], row[1]


def _playlists_using(db: Session, site_id: int, content_id: int) -> list[SignagePlaylist]:
    return [p for p in db.scalars(select(SignagePlaylist).where(SignagePlaylist.site_id == site_id)
                                  .order_by(SignagePlaylist.id))
            if any(int(i["content_id"]) == content_id for i in p.items or ())]


@router.patch("/content/{content_id}", response_model=ContentPublic)
def edit_text(content_id: RowId, body: TextContentEdit, user: Supervisor, db: SessionDep) -> ContentPublic:
    """Change a text announcement's name, title or body; screens render the new text at their
    next manifest poll. 422 for a video or image (upload a new file instead)."""
    c, site = _content_row(db, user, content_id)
    if c.kind != "text":
        raise HTTPException(422, f"content {content_id} is a {c.kind}: only text announcements can be edited; "
                                 "upload a new file and put it in the playlists instead")
    if body.name is not None:
        c.name = check_content_name(body.name)
    if body.title is not None:
        c.title = body.title
    if body.body is not None:
        c.body = body.body
    db.commit()
    return _content_public(c, site)


@router.delete("/content/{content_id}", status_code=204)
def delete_content(content_id: RowId, user: Supervisor, db: SessionDep, store: StoreDep) -> Response:
    """Delete content that no playlist uses (409 naming the playlists that do). Its file leaves
    the store unless another content row (any site) has the same SHA-256."""
    c, _ = _content_row(db, user, content_id)
    users = _playlists_using(db, c.site_id, c.id)
    if users:
        raise HTTPException(status.HTTP_409_CONFLICT, {
            "code": "in_use", "playlist_ids": [p.id for p in users],
            "reason": f"content {c.id} ({c.name!r}) is in playlist(s) "
                      f"{', '.join(f'{p.id} ({p.name!r})' for p in users)}: take it out of them first"})
    sha = c.sha256
    db.delete(c)
    db.commit()
    # Asked after the commit, right before the file goes: an upload of the same file that
    # committed its row by now keeps it (one committing later puts it back: see upload_content).
    shared = bool(sha) and db.scalar(select(SignageContent.id).where(SignageContent.sha256 == sha).limit(1))
    db.commit()
    if sha and not shared:
        try:
            store.delete(content_key(sha))
        except StoreError as e:   # the row is gone; an orphan file is harmless and logged
            logger.warning("signage: content %s deleted, its file %s stays in the store: %s", content_id, sha, e)
    return Response(status_code=204)


# -- playlists and schedules -----------------------------------------------------------------------

@router.post("/playlists", response_model=PlaylistPublic, status_code=201)
def add_playlist(body: PlaylistCreate, user: Supervisor, db: SessionDep) -> PlaylistPublic:
    s = _site(db, user, body.site)
    _check_playlist(db, s.id, body)
    row = SignagePlaylist(site_id=s.id, name=body.name, items=[i.model_dump() for i in body.items])
    db.add(row)
    db.commit()
    return PlaylistPublic(id=row.id, site=body.site, name=row.name, items=body.items)


@router.put("/playlists/{playlist_id}", response_model=PlaylistPublic)
def replace_playlist(playlist_id: RowId, body: PlaylistCreate, user: Supervisor, db: SessionDep) -> PlaylistPublic:
    """Replace a playlist's name and items (validated like a new one); schedules that play it
    play the new items from their next manifest poll."""
    row = _playlist_row(db, user, playlist_id)
    s = _site(db, user, body.site)
    if s.id != row.site_id:
        raise HTTPException(422, f"playlist {playlist_id} belongs to another site; a playlist cannot move")
    _check_playlist(db, s.id, body)
    row.name, row.items = body.name, [i.model_dump() for i in body.items]
    db.commit()
    return PlaylistPublic(id=row.id, site=body.site, name=row.name, items=body.items)


@router.delete("/playlists/{playlist_id}", status_code=204)
def delete_playlist(playlist_id: RowId, user: Supervisor, db: SessionDep) -> Response:
    """Delete a playlist no schedule plays (409 naming the schedules that do)."""
    row = _playlist_row(db, user, playlist_id)
    users = list(db.scalars(select(SignageSchedule.id).where(SignageSchedule.playlist_id == row.id)
                            .order_by(SignageSchedule.id)))
    if users:
        raise HTTPException(status.HTTP_409_CONFLICT, {
            "code": "in_use", "schedule_ids": users,
            "reason": f"playlist {row.id} ({row.name!r}) is played by schedule(s) {', '.join(map(str, users))}: "
                      "delete those first"})
    db.delete(row)
    db.commit()
    return Response(status_code=204)


def _playlist_row(db: Session, user: Principal, playlist_id: int) -> SignagePlaylist:
    row = db.execute(select(SignagePlaylist, Site.name).join(Site, SignagePlaylist.site_id == Site.id)
                     .where(SignagePlaylist.id == playlist_id)).first()
    if row is None or not user.can_see(row[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no playlist {playlist_id}")
    return row[0]


def _check_playlist(db: Session, site_id: int, body: PlaylistCreate) -> None:
    contents = site_schedule(db, site_id).contents
    try:
        validate_playlist(Playlist(0, body.name, tuple(PlaylistItem(i.content_id, i.duration_s) for i in body.items)),
                          contents)
    except ScheduleError as e:
        raise _schedule_error(e) from e


@router.get("/playlists", response_model=list[PlaylistPublic])
def list_playlists(user: Supervisor, db: SessionDep, site: str = Query(min_length=1, max_length=63)) -> list[PlaylistPublic]:
    s = _site(db, user, site)
    return [PlaylistPublic(id=p.id, site=site, name=p.name, items=p.items or []) for p in
            db.scalars(select(SignagePlaylist).where(SignagePlaylist.site_id == s.id).order_by(SignagePlaylist.id))]


def _schedule_public(e: SignageSchedule, site: str) -> SchedulePublic:
    return SchedulePublic(id=e.id, site=site, playlist_id=e.playlist_id, screens=e.screens, groups=e.groups,
                          weekdays=e.weekdays, start_time=e.start_time, end_time=e.end_time,
                          start_date=e.start_date, end_date=e.end_date, priority=e.priority)


@router.post("/schedules", response_model=SchedulePublic, status_code=201)
def add_schedule(body: ScheduleCreate, user: Supervisor, db: SessionDep) -> SchedulePublic:
    """Assign a playlist to screens and groups. 422 with ``code`` and ``reason`` when invalid
    or when it overlaps a schedule of the same priority on a shared screen (both named)."""
    s = _site(db, user, body.site)
    current = site_schedule(db, s.id)
    raw = body.model_dump(exclude={"site"})
    raw.update(id=0, start_date=body.start_date.isoformat() if body.start_date else None,
               end_date=body.end_date.isoformat() if body.end_date else None)
    try:
        entry = entry_from_dict(raw)
        # id 0 stands for the new schedule in messages until it has one
        validate(type(current)(contents=current.contents, playlists=current.playlists,
                               entries=(*current.entries, entry)), screens=site_screens(db, s.id))
    except ScheduleError as e:
        raise _schedule_error(e) from e
    wire = entry_to_dict(entry)
    row = SignageSchedule(site_id=s.id, **{k: v for k, v in wire.items() if k != "id"})
    db.add(row)
    db.commit()
    return _schedule_public(row, body.site)


@router.get("/schedules", response_model=list[SchedulePublic])
def list_schedules(user: Supervisor, db: SessionDep, site: str = Query(min_length=1, max_length=63)) -> list[SchedulePublic]:
    s = _site(db, user, site)
    return [_schedule_public(e, site) for e in
            db.scalars(select(SignageSchedule).where(SignageSchedule.site_id == s.id).order_by(SignageSchedule.id))]


@router.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: RowId, user: Supervisor, db: SessionDep) -> Response:
    row = db.execute(select(SignageSchedule, Site.name).join(Site, SignageSchedule.site_id == Site.id)
                     .where(SignageSchedule.id == schedule_id)).first()
    if row is None or not user.can_see(row[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no schedule {schedule_id}")
    db.delete(row[0])
    db.commit()
    return Response(status_code=204)


# -- interrupts -----------------------------------------------------------------------------------

@router.post("/interrupts", response_model=InterruptPublic, status_code=201)
def add_interrupt(body: InterruptCreate, user: Supervisor, db: SessionDep) -> InterruptPublic:
    """An emergency notice: pre-empts every schedule on its screens until cleared."""
    s = _site(db, user, body.site)
    row = SignageInterrupt(site_id=s.id, title=body.title, body=body.body, screens=body.screens, started_s=now_s())
    db.add(row)
    db.commit()
    return _interrupt_public(row, body.site)


@router.get("/interrupts", response_model=list[InterruptPublic])
def list_interrupts(user: Supervisor, db: SessionDep, site: str = Query(min_length=1, max_length=63),
                    open_only: bool = Query(True, alias="open")) -> list[InterruptPublic]:
    """The site's emergency notices, newest first: only those still open unless ``open=false``."""
    s = _site(db, user, site)
    q = select(SignageInterrupt).where(SignageInterrupt.site_id == s.id)
    if open_only:
        q = q.where(SignageInterrupt.cleared_s.is_(None))
    rows = db.scalars(q.order_by(SignageInterrupt.started_s.desc(), SignageInterrupt.id.desc()).limit(500))
    return [_interrupt_public(r, site) for r in rows]


@router.post("/interrupts/{interrupt_id}/clear", response_model=InterruptPublic)
def clear_interrupt(interrupt_id: RowId, user: Supervisor, db: SessionDep) -> InterruptPublic:
    row = db.execute(select(SignageInterrupt, Site.name).join(Site, SignageInterrupt.site_id == Site.id)
                     .where(SignageInterrupt.id == interrupt_id)).first()
    if row is None or not user.can_see(row[1]):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no interrupt {interrupt_id}")
    if row[0].cleared_s is None:
        row[0].cleared_s = now_s()
        db.commit()
    return _interrupt_public(row[0], row[1])


# -- per screen: manifest, preview, reports --------------------------------------------------------

@router.get("/screens/{name}/manifest")
def manifest(name: str, user: ScreenOrStaff, db: SessionDep) -> dict:
    """Everything the screen needs to play on its own: its schedule (contents with SHA-256 and
    download URLs, playlists, the entries that reach it, open interrupts for it), the site's time
    zone and title, and what the counters are serving."""
    screen, site = _screen(db, user, name)
    ref = screen_ref(screen)
    full = site_schedule(db, site.id)
    entries = tuple(e for e in full.entries if e.targets(ref))
    playlists = {e.playlist_id: full.playlists[e.playlist_id] for e in entries if e.playlist_id in full.playlists}
    needed = {i.content_id for p in playlists.values() for i in p.items}
    mine = type(full)(contents={k: v for k, v in full.contents.items() if k in needed}, playlists=playlists,
                      entries=entries, interrupts=tuple(i for i in full.interrupts if i.targets(ref)))
    wire = schedule_to_dict(mine)
    for c in wire["contents"]:
        c["url"] = f"/api/v1/signage/content/{c['id']}" if c["kind"] != "text" else None
    cursor = events_cursor(db)
    return {"screen": screen.name, "groups": screen.groups or [], "site": site.name, "hall": site.title or site.name,
            "timezone": site.timezone, "generated_s": now_s(), "schedule": wire,
            "now_serving": now_serving(db, site.id), "serving_cursor": cursor}


@router.get("/screens/{name}/serving", responses={204: {"description": "nothing new since ``since``"}})
def serving(name: str, user: ScreenOrStaff, db: SessionDep,
            since: int = Query(0, ge=0, le=2**63 - 1, description="``cursor`` of the previous answer")) -> Response:
    """What the site's counters serve, for a screen polling several times a second: 204 while
    no event was recorded since ``since`` (a primary-key lookup), else ``{cursor, now_serving}``."""
    screen, site = _screen(db, user, name)
    cursor = events_cursor(db)
    if cursor == since:
        return Response(status_code=204)
    return JSONResponse({"cursor": cursor, "now_serving": now_serving(db, site.id)})


@router.get("/screens/{name}/preview", response_model=Preview)
def preview(name: str, user: Supervisor, db: SessionDep,
            at: dt.datetime | None = Query(None, description="ISO time; without a zone: the site's local time")) -> Preview:
    """What the screen would show at ``at`` (default: now): ``interrupt`` (the notice open then),
    ``playlist`` (the scheduled item, its window position) or ``default`` (the board)."""
    screen, site = _screen(db, user, name)
    tz = _tz(site)
    when = (at or dt.datetime.now(tz))
    when = when.astimezone(tz) if when.tzinfo else when.replace(tzinfo=tz)
    sched = site_schedule(db, site.id)
    # the interrupts open at that moment pre-empt, as on the screen (one never cleared: from its start on)
    sched = type(sched)(contents=sched.contents, playlists=sched.playlists, entries=sched.entries,
                        interrupts=interrupts_open_at(db, site.id, when.timestamp()))
    np = resolve(sched, screen_ref(screen), when.replace(tzinfo=None))
    out = Preview(screen=name, at=when, kind=np.kind)
    if np.kind == "playlist":
        c = db.get(SignageContent, np.content.id)
        out = out.model_copy(update=dict(schedule_id=np.entry.id, playlist_id=np.playlist.id,
                                         playlist=np.playlist.name, item_index=np.item_index,
                                         content=_content_public(c, site.name),
                                         item_start=np.item_start.replace(tzinfo=tz),
                                         item_end=np.item_end.replace(tzinfo=tz)))
    elif np.kind == "interrupt":
        out = out.model_copy(update=dict(interrupt=_interrupt_public(db.get(SignageInterrupt, np.interrupt.id),
                                                                     site.name)))
    return out


@router.post("/screens/{name}/heartbeat", status_code=204)
def heartbeat(name: str, body: Heartbeat, user: ScreenOnly, db: SessionDep) -> Response:
    screen, _ = _screen(db, user, name)
    screen.last_heartbeat_s = now_s()
    old = dict(screen.status or {})
    periods = [list(p) for p in (old.get("offline_periods") or [])] + [list(p) for p in body.offline_periods]
    screen.status = {"playing": body.playing, "cache_items": body.cache_items, "errors": body.errors[-20:],
                     "offline_periods": periods[-50:]}
    set_screen_alarm(db, screen.id, gone=False, at_s=screen.last_heartbeat_s)   # heard from again
    db.commit()
    return Response(status_code=204)


@router.post("/screens/{name}/plays", status_code=200)
def report_plays(name: str, body: list[PlayIn], user: ScreenOnly, db: SessionDep) -> dict:
    """Proof of play from the screen; rows already received (same ``uid``) are ignored."""
    if len(body) > 5000:
        raise HTTPException(413, "at most 5000 rows per request")
    screen, _ = _screen(db, user, name)
    uids = [p.uid for p in body]
    known = set(db.scalars(select(SignagePlay.uid).where(SignagePlay.uid.in_(uids)))) if uids else set()
    added = 0
    for p in body:
        if p.uid in known:
            continue
        known.add(p.uid)
        db.add(SignagePlay(screen_id=screen.id, received_s=now_s(), **p.model_dump()))
        added += 1
    try:
        db.commit()
    except IntegrityError as e:   # the same rows sent twice at once
        db.rollback()
        raise HTTPException(status.HTTP_409_CONFLICT, "rows already being stored; send again") from e
    return {"received": len(body), "added": added}


@router.get("/screens/{name}/plays", response_model=list[PlayPublic])
def list_plays(name: str, user: Supervisor, db: SessionDep, since_s: float | None = None,
               limit: int = Query(1000, ge=1, le=10000)) -> list[PlayPublic]:
    screen, _ = _screen(db, user, name)
    q = select(SignagePlay).where(SignagePlay.screen_id == screen.id)
    if since_s is not None:
        q = q.where(SignagePlay.started_s >= since_s)
    rows = db.scalars(q.order_by(SignagePlay.started_s, SignagePlay.id).limit(limit))
    return [PlayPublic(id=r.id, uid=r.uid, kind=r.kind, status=r.status, content_id=r.content_id,
                       playlist_id=r.playlist_id, schedule_id=r.schedule_id, interrupt_id=r.interrupt_id,
                       started_s=r.started_s, ended_s=r.ended_s, reason=r.reason, received_s=r.received_s)
            for r in rows]

