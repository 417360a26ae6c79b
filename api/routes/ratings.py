"""The rating terminal (评价器) and the rating reports: the terminal's state and presses (its own
device token, bound to one counter), presses per staff/counter/service/month with 满意率, and
today's presses live."""
from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.deps import ReadDb, StoreDep, Supervisor, Writer, audit, clock, require
from domain.errors import TooLarge
from domain.vocab import LABELS
from services import ratings_report, ratings_terminal, staff_photos
from services.accounts import Principal
from services.ratings_terminal import PressResult, TerminalState

router = APIRouter(prefix="/ratings", tags=["ratings"])
Rater = Annotated[Principal, Depends(require("rater"))]


class PressIn(BaseModel):
    key: str = Field(min_length=8, max_length=80, description="ticket:<id>, or press:<random> without a ticket")
    level: str = Field(min_length=1, max_length=10)
    dimensions: dict[str, str] = Field(default_factory=dict, max_length=4)
    reasons: list[str] = Field(default_factory=list, max_length=6)
    waited_s: float = Field(0.0, ge=0, le=7 * 86400.0,
                            description="seconds since the press (one kept on the terminal while offline)")


@router.get("/terminal", response_model=TerminalState)
def terminal(user: Rater, db: ReadDb, request: Request) -> TerminalState:
    """What the terminal shows: the staff member on duty, the scale, the service waiting for its rating."""
    return ratings_terminal.terminal(db, user, now=clock(request))


@router.post("/presses", response_model=PressResult)
def press(body: PressIn, user: Rater, engine: Writer, request: Request) -> PressResult:
    """A press; the same key again is the same press (a resend after the network came back).
    A 差评 opens a work order."""
    r = ratings_terminal.press(engine, user, key=body.key, level=body.level,
                               dimensions=body.dimensions, reasons=body.reasons, waited_s=body.waited_s,
                               now=clock(request))
    if r.new:
        audit(request, user, action="rating.press", target=f"event:{r.event_id}", detail=body.level)
    return r


class StaffNoIn(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=100)
    staff_no: str = Field(max_length=40, pattern=r"^[0-9A-Za-z-]*$", description="工号")


@router.put("/staff-no", status_code=204)
def staff_no(body: StaffNoIn, user: Supervisor, engine: Writer, request: Request) -> Response:
    """Record a staff member's 工号, shown on the rating terminal beside their name."""
    ratings_terminal.set_staff_no(engine, user, site=body.site, name=body.name,
                                  staff_no=body.staff_no)
    audit(request, user, action="staff.edit", target=f"staff:{body.site}/{body.name}", detail=f"工号 {body.staff_no}")
    return Response(status_code=204)


_IMAGE: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}, "image/png": {}}}}


def _picture(photo: staff_photos.Photo, data: bytes) -> Response:
    # nosniff (api.edge) and a sandbox: a polyglot picture is never run as a page or script.
    return Response(data, media_type=photo.content_type,
                    headers={"ETag": f'"{photo.sha256}"', "Cache-Control": "private, no-cache",
                             "Content-Security-Policy": "default-src 'none'; sandbox"})


@router.put("/staff-photo", status_code=200, openapi_extra={"requestBody": {"required": True, "content": {
            "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
            "image/png": {"schema": {"type": "string", "format": "binary"}}}}})
async def put_staff_photo(user: Supervisor, db: ReadDb, store: StoreDep, engine: Writer, request: Request,
                          site: str = Query(min_length=1, max_length=63),
                          name: str = Query(min_length=1, max_length=100)) -> dict:
    """A staff member's photo (the raw body, a PNG or JPEG of at most 3 MiB and 4096 px a side,
    checked by decoding it), shown on the rating terminal while they are on duty. 413
    ``photo_too_large``; 422 ``bad_photo`` for anything that is not such a picture."""
    limit = staff_photos.MAX_PHOTO_BYTES
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge("photo", f"at most {limit // (1024 * 1024)} MiB", code="photo_too_large", limit_bytes=limit)
    await run_in_threadpool(db.close)   # early release: hold no connection (nor a slot of the gate) while the body comes
    buf = bytearray()
    async for part in request.stream():
        buf += part
        if len(buf) > limit:
            raise TooLarge("photo", f"at most {limit // (1024 * 1024)} MiB", code="photo_too_large", limit_bytes=limit)
    p = await run_in_threadpool(staff_photos.set_photo, engine, store, user, site=site, name=name,
                                data=bytes(buf))
    await run_in_threadpool(audit, request, user, action="staff.photo", target=f"staff:{site}/{name}",
                            detail=f"照片 {p.width_px}×{p.height_px}（{p.content_type}），sha256 {p.sha256}")
    return {"sha256": p.sha256, "content_type": p.content_type, "width_px": p.width_px, "height_px": p.height_px}


@router.get("/staff-photo", response_class=Response, responses=_IMAGE)
def get_staff_photo(user: Supervisor, db: ReadDb, store: StoreDep, site: str = Query(min_length=1, max_length=63),
                    name: str = Query(min_length=1, max_length=100)) -> Response:
    """A staff member's photo (404 ``no_photo`` when none was given)."""
    return _picture(*staff_photos.staff_photo(db, store, user, site=site, name=name))


@router.get("/terminal/photo", response_class=Response, responses=_IMAGE)
def terminal_photo(user: Rater, db: ReadDb, store: StoreDep, request: Request) -> Response:
    """The photo of the staff member on duty at the terminal's own counter (404 ``no_photo``)."""
    return _picture(*staff_photos.terminal_photo(db, store, user, now=clock(request)))


class ScaleIn(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    scale: Literal["four", "five"] = Field(description="four: 非常满意/满意/一般/不满意; five: 好差评 with dimensions")


@router.put("/scale", status_code=204)
def scale(body: ScaleIn, user: Supervisor, engine: Writer, request: Request) -> Response:
    """The site's rating scale, used by its terminals from their next poll."""
    ratings_terminal.set_scale(engine, user, site=body.site, scale=body.scale)
    audit(request, user, action="rating.scale", target=f"site:{body.site}", detail=LABELS["rating_scale"].get(body.scale, body.scale))
    return Response(status_code=204)


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@router.get("/report")
def report(user: Supervisor, db: ReadDb, request: Request, site: str = Query(min_length=1, max_length=63),
           month: str = Query(pattern=_MONTH.pattern)) -> dict:
    """Presses of the month per staff member, counter and service type, 满意率, and the presses
    marked as possible rating coercion (诱导好评)."""
    out = ratings_report.monthly(db, user, site=site, month=month)
    audit(request, user, action="ratings.report", target=f"site:{site}", detail=f"月份：{month}")
    return out


@router.get("/today")
def today(user: Supervisor, db: ReadDb, request: Request, site: str = Query(min_length=1, max_length=63)) -> dict:
    """Today's presses, newest first, with the day's 满意率 (the live view polls it)."""
    return ratings_report.today(db, user, site=site, now=clock(request))
