"""The hall's queue (排队): service types, the kiosk's tickets, the counter's calls, what the
screens show and say, and the device tokens of kiosks and rating terminals.

A ticket's QR code opens ``/t/<key>`` (:data:`public_router`): a small page with that ticket's
state and the people before it, readable without an account; the key is 144 random bits and
the page shows nothing personal (service, number, place in the queue)."""
from __future__ import annotations

import html
from typing import Annotated, Literal

import segno
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import MAX_ROW_ID, Admin, ReadDb, RowId, Supervisor, audit, clock, cookie_name, require
from domain.errors import Forbidden, NotFound
from services import devices, hall_evidence, queue
from services.accounts import SESSION_TTL_S, Principal
from services.devices import DeviceToken
from services.hall_evidence import Coverage
from services.queue import CounterServing, ServiceView, TicketView
from services.queue_announce import announce, call_text

router = APIRouter(prefix="/queue", tags=["queue"])
device_router = APIRouter(prefix="/devices", tags=["devices"])
public_router = APIRouter()

Kiosk = Annotated[Principal, Depends(require("admin", "supervisor", "kiosk"))]
#: A counter's operator: a person of its site (the counter page), or its own capture agent (a call button).
Operator = Annotated[Principal, Depends(require("admin", "supervisor", "agent"))]
Board = Annotated[Principal, Depends(require("admin", "supervisor", "viewer", "screen", "kiosk"))]
Announcer = Annotated[Principal, Depends(require("admin", "supervisor", "screen"))]
CounterReader = Annotated[Principal, Depends(require("admin", "supervisor"))]
Device = Annotated[Principal, Depends(require("kiosk", "rater"))]
SiteQ = Query(max_length=63, min_length=1)


class ServiceIn(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=100)
    prefix: str = Field(min_length=1, max_length=2, description="one or two capital letters")
    counters: list[str] = Field(default_factory=list, max_length=200)
    priority: int = Field(0, ge=0, le=9, description="绿色通道: higher is called first")
    active: bool = True


class TicketIn(BaseModel):
    site: str = Field(min_length=1, max_length=63)
    service_id: int = Field(ge=1, le=MAX_ROW_ID)


class PrintedTicket(BaseModel):
    """What a kiosk prints: part of :class:`services.queue.TicketView` (kept to hide its
    ``status_key``, counter and call) plus the status page's URL and its QR code (issue 22)."""

    id: int
    site: str
    service_id: int
    service: str
    code: str
    state: str
    taken_s: float
    waiting_before: int
    status_url: str
    qr_svg: str


class TransferIn(BaseModel):
    service_id: int = Field(ge=1, le=MAX_ROW_ID)


class Stats(BaseModel):
    site: str
    services: list[ServiceView]
    counters: list[CounterServing]


class DeviceIn(BaseModel):
    role: Literal["kiosk", "rater"]
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=63, description="the kiosk's name, or the rater's counter")


@router.get("/services", response_model=list[ServiceView])
def list_services(user: Board, db: ReadDb, request: Request, site: str = SiteQ) -> list[ServiceView]:
    """The site's service types with people waiting and the estimated wait of a ticket taken now."""
    return queue.services(db, user, site=site, now=clock(request))


@router.post("/services", response_model=ServiceView, status_code=201)
def create_service(body: ServiceIn, user: Supervisor, request: Request) -> ServiceView:
    v = queue.save_service(request.app.state.engine, user, **body.model_dump())
    audit(request, user, action="queue.service", target=f"queue-service:{v.id}", detail=f"create {v.prefix}")
    return v


@router.put("/services/{service_id}", response_model=ServiceView)
def replace_service(service_id: RowId, body: ServiceIn, user: Supervisor, request: Request) -> ServiceView:
    v = queue.save_service(request.app.state.engine, user, service_id=service_id, **body.model_dump())
    audit(request, user, action="queue.service", target=f"queue-service:{v.id}", detail=f"edit {v.prefix}")
    return v


def _printed(request: Request, t: TicketView) -> PrintedTicket:
    url = str(request.base_url).rstrip("/") + f"/t/{t.status_key}"
    return PrintedTicket(id=t.id, site=t.site, service_id=t.service_id, service=t.service, code=t.code, state=t.state,
                         taken_s=t.taken_s, waiting_before=t.waiting_before, status_url=url,
                         qr_svg=segno.make(url, error="m").svg_inline(scale=4))


@router.post("/tickets", response_model=PrintedTicket, status_code=201)
def take_ticket(body: TicketIn, user: Kiosk, request: Request) -> PrintedTicket:
    """A new ticket (the kiosk prints it): service, number, people waiting before it, time, and a
    QR code of its status page."""
    t = queue.take_ticket(request.app.state.engine, user, site=body.site, service_id=body.service_id,
                          now=clock(request))
    audit(request, user, action="queue.ticket", target=f"ticket:{t.id}", detail=t.code)
    return _printed(request, t)


@router.get("/stats", response_model=Stats)
def stats(user: Board, db: ReadDb, request: Request, site: str = SiteQ) -> Stats:
    """For the screens' queue board: waiting count and estimated wait per service, and per counter
    the ticket now served (its call's id: ``/queue/calls/{id}/announcement``) and 暂停服务."""
    return Stats(site=site, services=queue.services(db, user, site=site, now=clock(request)),
                 counters=queue.serving(db, user, site=site))


def _counter(request: Request, user: Principal, counter_id: int) -> queue.CounterRef:
    from storage.engine import read_session

    with read_session(request.app.state.engine) as s:
        return queue.counter_ref(s, user, counter_id)


@router.get("/counters/{counter_id}", response_model=CounterServing)
def counter_state(counter_id: RowId, user: CounterReader, db: ReadDb) -> CounterServing:
    """The counter's ticket now served and whether it is paused (the counter page)."""
    ref = queue.counter_ref(db, user, counter_id)
    return next(c for c in queue.serving(db, user, site=ref.site) if c.counter_id == ref.id)


@router.post("/counters/{counter_id}/call-next", response_model=TicketView)
def call_next(counter_id: RowId, user: Operator, request: Request) -> TicketView:
    """办结 the current ticket and call the next: a queue_call event, which starts the next interaction."""
    ref = _counter(request, user, counter_id)
    t = queue.call_next(request.app.state.engine, ref, now=clock(request))
    audit(request, user, action="queue.call", target=f"ticket:{t.id}", detail=f"{t.code} counter:{ref.id}")
    return t


@router.post("/counters/{counter_id}/recall", response_model=TicketView)
def recall(counter_id: RowId, user: Operator, request: Request) -> TicketView:
    ref = _counter(request, user, counter_id)
    t = queue.recall(request.app.state.engine, ref, now=clock(request))
    audit(request, user, action="queue.call", target=f"ticket:{t.id}", detail=f"recall {t.code} counter:{ref.id}")
    return t


@router.post("/counters/{counter_id}/skip", response_model=TicketView)
def skip(counter_id: RowId, user: Operator, request: Request) -> TicketView:
    """过号: the customer did not come."""
    ref = _counter(request, user, counter_id)
    t = queue.end_current(request.app.state.engine, ref, state="skipped", now=clock(request))
    audit(request, user, action="queue.skip", target=f"ticket:{t.id}", detail=t.code)
    return t


@router.post("/counters/{counter_id}/finish", response_model=TicketView)
def finish(counter_id: RowId, user: Operator, request: Request) -> TicketView:
    """办结: the service is done (the rating terminal asks for its rating)."""
    ref = _counter(request, user, counter_id)
    t = queue.end_current(request.app.state.engine, ref, state="done", now=clock(request))
    audit(request, user, action="queue.finish", target=f"ticket:{t.id}", detail=t.code)
    return t


@router.post("/counters/{counter_id}/transfer", response_model=TicketView)
def transfer(counter_id: RowId, body: TransferIn, user: Operator, request: Request) -> TicketView:
    ref = _counter(request, user, counter_id)
    t = queue.transfer(request.app.state.engine, ref, service_id=body.service_id)
    audit(request, user, action="queue.transfer", target=f"ticket:{t.id}", detail=f"{t.code} to {body.service_id}")
    return t


@router.post("/counters/{counter_id}/pause", status_code=204)
def pause(counter_id: RowId, user: Operator, request: Request) -> Response:
    """暂停服务 (the screens show it; the kiosk's waits count only the open counters)."""
    ref = _counter(request, user, counter_id)
    queue.set_paused(request.app.state.engine, ref, paused=True, now=clock(request))
    audit(request, user, action="queue.pause", target=f"counter:{ref.id}")
    return Response(status_code=204)


@router.post("/counters/{counter_id}/resume", status_code=204)
def resume(counter_id: RowId, user: Operator, request: Request) -> Response:
    ref = _counter(request, user, counter_id)
    queue.set_paused(request.app.state.engine, ref, paused=False, now=clock(request))
    audit(request, user, action="queue.resume", target=f"counter:{ref.id}")
    return Response(status_code=204)


class AnnouncementText(BaseModel):
    event_id: int
    text: str
    audio_url: str


@router.get("/calls/{event_id}/announcement", response_model=AnnouncementText)
def announcement_text(event_id: RowId, user: Announcer, db: ReadDb) -> AnnouncementText:
    """What the screens show and say for a queue call (请 A012 号到 3号窗口 办理)."""
    ticket, label = queue.call_event(db, user, event_id)
    return AnnouncementText(event_id=event_id, text=call_text(ticket=ticket, counter_label=label),
                            audio_url=f"/api/v1/queue/calls/{event_id}/announcement.wav")


@router.get("/calls/{event_id}/announcement.wav", response_class=Response,
            responses={200: {"content": {"audio/wav": {}}}})
def announcement_audio(event_id: RowId, user: Announcer, db: ReadDb) -> Response:
    """The call spoken in Mandarin (espeak-ng), or a chime where espeak-ng is not installed
    (header ``X-Announcement-Source``: ``espeak-ng`` or ``chime``)."""
    ticket, label = queue.call_event(db, user, event_id)
    a = announce(call_text(ticket=ticket, counter_label=label))
    return Response(a.wav, media_type="audio/wav", headers={"X-Announcement-Source": a.source,
                                                           "Cache-Control": "private, max-age=3600"})


@router.get("/coverage", response_model=Coverage)
def coverage(user: Supervisor, db: ReadDb, site: str = SiteQ,
             day: str = Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="the site's date, YYYY-MM-DD"),
             wait_limit_min: float = Query(30.0, gt=0, le=600)) -> Coverage:
    """How many of the day's called tickets have a usable recording, each gap explained (采集端离线,
    无语音, 无法判定), and the calls of tickets that waited longer than ``wait_limit_min`` minutes
    whose recording has no 让您久等了."""
    return hall_evidence.coverage(db, user, site=site, day=day, wait_limit_s=wait_limit_min * 60.0)


# -- device tokens ---------------------------------------------------------------------------

@device_router.post("", response_model=DeviceToken, status_code=201)
def issue_device(body: DeviceIn, user: Admin, request: Request) -> DeviceToken:
    """A token for a ticket kiosk of the site, or for the rating terminal of counter ``name``
    (shown once; audited)."""
    return devices.issue(request.app.state.engine, role=body.role, site=body.site, name=body.name, actor=user.name)


@device_router.post("/session", status_code=204)
def device_session(user: Device, request: Request, response: Response) -> Response:
    """Bind this browser to the device: the bearer token becomes its HttpOnly cookie (the kiosk
    and the terminal pages then run without the token in any script or URL)."""
    token = request.headers.get("authorization", "")[7:].strip()
    if not token:
        raise Forbidden("device session", "send the device token as a bearer token", code="bearer_needed")
    response.set_cookie(cookie_name(request), token, max_age=max(SESSION_TTL_S, 365 * 86400), httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    audit(request, user, action="device.bind", target=f"user:{user.name}")
    response.status_code = 204
    return response


# -- the ticket's status page (its QR code) ---------------------------------------------------

_STATE = {"waiting": "等候中", "serving": "请到窗口办理", "done": "已办结", "skipped": "已过号"}
_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"


@public_router.get("/t/{key}", include_in_schema=False, response_class=HTMLResponse)
def ticket_status(key: str, db: ReadDb) -> HTMLResponse:
    t = queue.ticket_by_key(db, key) if 16 <= len(key) <= 32 else None
    if t is None:
        raise NotFound("ticket", "not found (numbers are kept for the day they were taken)", code="ticket_not_found")
    where = f"<p class=big>请到 {html.escape(t.counter_label)} 办理</p>" if t.state == "serving" and t.counter_label else ""
    before = f"<p>您前面还有 <b>{t.waiting_before}</b> 人</p>" if t.state == "waiting" else ""
    body = (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8><meta name=viewport "
            f"content='width=device-width,initial-scale=1'><meta http-equiv=refresh content=15>"
            f"<title>排队号 {html.escape(t.code)}</title><style>body{{font:20px sans-serif;text-align:center;"
            f"padding:1em}}.code{{font-size:64px;font-weight:bold}}.big{{font-size:28px}}</style></head><body>"
            f"<p>{html.escape(t.service)}</p><p class=code>{html.escape(t.code)}</p>"
            f"<p class=big>{_STATE.get(t.state, t.state)}</p>{where}{before}<p>本页每15秒自动刷新</p></body></html>")
    return HTMLResponse(body, headers={"Content-Security-Policy": _PAGE_CSP, "Cache-Control": "no-store"})
