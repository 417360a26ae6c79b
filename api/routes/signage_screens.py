"""Waiting-area screens: registration, and per screen its manifest, the now-serving poll, a
preview of what it shows, its heartbeats and its proof of play.

Admins and supervisors manage their sites' screens; a screen's token reads its own manifest and
reports its own plays and heartbeats.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ReadDb, StoreDep, Supervisor, Writer, audit, fresh, require
from api.schemas_signage import Heartbeat, PlayIn, PlayPublic, ScreenCreate, ScreenEdit, ScreenEdited, ScreenPublic
from domain.errors import Invalid, TooLarge
from services import names, signage, signage_preview, signage_screenshots
from services.accounts import Principal
from services.catalog import visible_site
from services.signage import PreviewView

router = APIRouter(prefix="/signage/screens", tags=["signage"])

ScreenOrStaff = Annotated[Principal, Depends(require("admin", "supervisor", "screen"))]
ScreenOnly = Annotated[Principal, Depends(require("screen"))]
MAX_PLAYS_PER_REQUEST = 5000


@router.post("", response_model=ScreenPublic, status_code=201)
def add_screen(body: ScreenCreate, user: Supervisor, db: ReadDb, engine: Writer, request: Request) -> ScreenPublic:
    """Register a screen (or re-issue its token, revoking the older ones); the token in the
    answer is shown once. 409 ``name_taken`` when another site has a screen of that name."""
    visible_site(db, user, body.site)
    if body.display_name is not None:
        names.check_display_name(body.display_name)
    screen_id, token = signage.register_screen(engine, site=body.site, name=body.name,
                                               groups=body.groups, token_ttl_days=body.token_ttl_days,
                                               display_name=body.display_name)
    screen = next(s for s in signage.list_screens(fresh(db), user) if s.id == screen_id)
    audit(request, user, action="screen.register", target=f"screen:{body.name}",
          detail=f"服务点 {body.site}：已签发新令牌，旧令牌作废；"
                 + (f"{body.token_ttl_days} 天后失效" if body.token_ttl_days else "长期有效"))
    return ScreenPublic(id=screen.id, site=body.site, name=screen.name, groups=screen.groups, token=token,
                        display_name=screen.display_name)


@router.get("", response_model=list[ScreenPublic])
def list_screens(user: Supervisor, db: ReadDb) -> list[ScreenPublic]:
    return [ScreenPublic.model_validate(s) for s in signage.list_screens(db, user)]


@router.patch("/{name}", response_model=ScreenEdited)
def edit_screen(name: str, body: ScreenEdit, user: Supervisor, db: ReadDb, engine: Writer,
                request: Request) -> ScreenEdited:
    """Set the screen's display name (一楼大厅屏) and/or replace its display groups; schedules
    aimed at a group follow the change at the screen's next manifest. 422 ``conflict`` when the
    new groups would bring two schedules of the same priority onto the screen at once."""
    if body.display_name is None and body.groups is None:
        raise Invalid("screen", "give display_name or groups", code="invalid", field="display_name")
    if body.display_name is not None:
        shown = names.set_screen_display_name(engine, name, body.display_name, user=user)
        audit(request, user, action="screen.edit", target=f"screen:{name}", detail=shown.display_name)
    if body.groups is not None:
        before, now = signage.set_screen_groups(engine, user, name, body.groups)
        audit(request, user, action="screen.groups", target=f"screen:{name}",
              detail=f"分组：{'、'.join(now) or '无'}（原：{'、'.join(before) or '无'}）")
    view = next(s for s in signage.list_screens(fresh(db), user) if s.name == name)
    return ScreenEdited(id=view.id, name=view.name, display_name=view.display_name,
                        label=view.display_name or view.name, groups=view.groups)


@router.get("/{name}/manifest")
def manifest(name: str, user: ScreenOrStaff, db: ReadDb) -> dict:
    """Everything the screen needs to play on its own: its schedule (contents with SHA-256 and
    download URLs, playlists, the entries that reach it, open interrupts for it), the site's time
    zone and title, and what the counters are serving."""
    return signage.manifest(db, user, name)


@router.get("/{name}/serving", responses={204: {"description": "nothing new since ``since``"}})
def serving(name: str, user: ScreenOrStaff, db: ReadDb,
            since: int = Query(0, ge=0, le=2**63 - 1, description="``cursor`` of the previous answer"),
            notices: str | None = Query(None, max_length=64, description="``notices`` of the previous answer")) -> Response:
    """What the site's counters serve, for a screen polling several times a second: 204 while
    no event was recorded since ``since`` (a primary-key lookup) and the emergency notices in
    force are still ``notices`` (when sent), else ``{cursor, now_serving, notices}``."""
    news = signage.serving_since(db, user, name, since, notices)
    return Response(status_code=204) if news is None else JSONResponse(news)


@router.get("/{name}/preview", response_model=PreviewView)
def preview(name: str, user: Supervisor, db: ReadDb,
            at: dt.datetime | None = Query(None, description="ISO time; without a zone: the site's local time")) -> PreviewView:
    """What the screen would show at ``at`` (default: now): ``interrupt`` (the notice open then),
    ``playlist`` (the scheduled item, its window position) or ``default`` (the board)."""
    return signage.preview(db, user, name, at)


@router.get("/{name}/preview.png", response_class=Response, responses={200: {"content": {"image/png": {}}}})
def preview_png(name: str, user: Supervisor, db: ReadDb, store: StoreDep,
                at: dt.datetime | None = Query(None, description="ISO time; without a zone: the site's local time")) -> Response:
    """The screen's picture at ``at`` (default now), drawn by the player's own renderer, ticker included."""
    png = signage_preview.render_png(db, store, user, name, at)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


@router.post("/{name}/heartbeat", status_code=204)
def heartbeat(name: str, body: Heartbeat, user: ScreenOnly, engine: Writer) -> Response:
    signage.heartbeat(engine, user, name, playing=body.playing, cache_items=body.cache_items,
                      offline_periods=list(body.offline_periods), errors=body.errors)
    return Response(status_code=204)


@router.post("/{name}/plays", status_code=200)
def report_plays(name: str, body: list[PlayIn], user: ScreenOnly, engine: Writer, request: Request) -> dict:
    """Proof of play from the screen; rows already received (same ``uid``) are ignored."""
    if len(body) > MAX_PLAYS_PER_REQUEST:
        raise TooLarge("proof of play", f"at most {MAX_PLAYS_PER_REQUEST} rows per request", code="too_many_plays")
    added = signage.report_plays(engine, user, name, [p.model_dump() for p in body])
    return {"received": len(body), "added": added}


@router.get("/{name}/plays", response_model=list[PlayPublic])
def list_plays(name: str, user: Supervisor, db: ReadDb, since_s: float | None = None,
               limit: int = Query(1000, ge=1, le=10000)) -> list[PlayPublic]:
    return [PlayPublic.model_validate(r) for r in signage.list_plays(db, user, name, since_s=since_s, limit=limit)]


@router.post("/{name}/screenshot", status_code=204,
             openapi_extra={"requestBody": {"content": {"image/jpeg": {}, "image/png": {}}, "required": True}})
async def put_screenshot(name: str, user: ScreenOnly, db: ReadDb, engine: Writer, request: Request,
                         taken_s: float = Query(..., ge=0, le=1e11),
                         playing: str = Query("", max_length=300),
                         loop_late_s: float = Query(0.0, ge=0, le=1e9, description="how long the loop had not run"),
                         skipped: list[str] = Query([], max_length=20, description="content skipped lately, why")) -> Response:
    """The screen's picture of itself (raw PNG or JPEG body, at most 4 MiB, counted as it comes:
    413 past it), with what it plays and any skip or stall; replaces the one before."""
    if any(len(x) > 300 for x in skipped):
        raise TooLarge("skipped", "at most 300 characters each", code="too_long")
    limit = signage_screenshots.MAX_SCREENSHOT_BYTES
    await run_in_threadpool(db.close)   # early release: hold no connection (nor a slot of the gate) while the body comes
    buf = bytearray()
    async for chunk in request.stream():
        buf += chunk
        if len(buf) > limit:
            raise TooLarge("screenshot", f"at most {limit // (1024 * 1024)} MiB", code="screenshot_too_large")
    state = {"playing": playing, "loop_late_s": loop_late_s, "skipped": skipped}
    await run_in_threadpool(signage_screenshots.put_screenshot, engine, user, name, bytes(buf),
                            taken_s=taken_s, state=state)
    return Response(status_code=204)


@router.get("/{name}/screenshot")
def screenshot_info(name: str, user: Supervisor, db: ReadDb) -> dict:
    """When the screen's last picture was taken and received, its size, and what the player said
    with it (``state``: ``playing``, ``loop_late_s``, ``skipped``); ``requested_s`` while a
    request is open. 404 ``no_screenshot`` before the first."""
    view, _ = signage_screenshots.screenshot(db, user, name)
    return {"screen": view.screen, "taken_s": view.taken_s, "received_s": view.received_s,
            "content_type": view.content_type, "width_px": view.width_px, "height_px": view.height_px,
            "state": view.state, "requested_s": view.requested_s}


@router.get("/{name}/screenshot.img", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}})
def screenshot_image(name: str, user: Supervisor, db: ReadDb) -> Response:
    """The screen's last picture of itself, as it sent it."""
    view, data = signage_screenshots.screenshot(db, user, name)
    return Response(data, media_type=view.content_type, headers={"Cache-Control": "private, no-store"})


@router.post("/{name}/screenshot/request", status_code=202)
def request_screenshot(name: str, user: Supervisor, engine: Writer) -> dict:
    """Ask the screen for a picture now: it sends one at its next manifest poll (about a second)."""
    return {"requested_s": signage_screenshots.request_screenshot(engine, user, name)}
