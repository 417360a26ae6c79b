"""The hall's queue (排队): service types, the kiosk's tickets, the counter's calls, what the
screens show and say, and the device tokens of kiosks and rating terminals.

A ticket's QR code opens ``/t/<key>`` (:data:`public_router`): a small page with that ticket's
state and the people before it, readable without an account; the key is 144 random bits and
the page shows nothing personal (service, number, place in the queue)."""
from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Callable
from inspect import Parameter, Signature
from typing import TYPE_CHECKING, Annotated, Any, Literal

import segno
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from api.deps import MAX_ROW_ID, Admin, ReadDb, RowId, Supervisor, Writer, audit, clock, cookie_name, require
from domain.errors import Forbidden, NotFound
from services import audit as audit_log
from services import devices, hall_evidence, queue
from services.accounts import SESSION_TTL_S, Principal
from services.devices import DeviceToken, DeviceTokenRow
from services.hall_evidence import Coverage
from services.queue import CounterServing, ServiceView, TicketView
from services.queue_announce import announce, call_text
from services.tokens import issue_agent_token

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

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
    role: Literal["kiosk", "rater", "agent"]
    site: str = Field(min_length=1, max_length=63)
    name: str = Field(min_length=1, max_length=63, description="the kiosk's name, or the rater's (agent's) counter")


@router.get("/services", response_model=list[ServiceView])
def list_services(user: Board, db: ReadDb, request: Request, site: str = SiteQ) -> list[ServiceView]:
    """The site's service types with people waiting and the estimated wait of a ticket taken now."""
    return queue.services(db, user, site=site, now=clock(request))


@router.post("/services", response_model=ServiceView, status_code=201)
def create_service(body: ServiceIn, user: Supervisor, engine: Writer, request: Request) -> ServiceView:
    v = queue.save_service(engine, user, **body.model_dump())
    audit(request, user, action="queue.service", target=f"queue-service:{v.id}", detail=f"新建业务 {v.prefix}")
    return v


@router.put("/services/{service_id}", response_model=ServiceView)
def replace_service(service_id: RowId, body: ServiceIn, user: Supervisor, engine: Writer, request: Request) -> ServiceView:
    v = queue.save_service(engine, user, service_id=service_id, **body.model_dump())
    audit(request, user, action="queue.service", target=f"queue-service:{v.id}", detail=f"修改业务 {v.prefix}")
    return v


def _printed(request: Request, t: TicketView) -> PrintedTicket:
    url = str(request.base_url).rstrip("/") + f"/t/{t.status_key}"
    return PrintedTicket(id=t.id, site=t.site, service_id=t.service_id, service=t.service, code=t.code, state=t.state,
                         taken_s=t.taken_s, waiting_before=t.waiting_before, status_url=url,
                         qr_svg=segno.make(url, error="m").svg_inline(scale=4))


@router.post("/tickets", response_model=PrintedTicket, status_code=201)
def take_ticket(body: TicketIn, user: Kiosk, engine: Writer, request: Request) -> PrintedTicket:
    """A new ticket (the kiosk prints it): service, number, people waiting before it, time, and a
    QR code of its status page."""
    t = queue.take_ticket(engine, user, site=body.site, service_id=body.service_id,
                          now=clock(request))
    audit(request, user, action="queue.ticket", target=f"ticket:{t.id}", detail=t.code)
    return _printed(request, t)


@router.get("/stats", response_model=Stats)
def stats(user: Board, db: ReadDb, request: Request, site: str = SiteQ) -> Stats:
    """For the screens' queue board: waiting count and estimated wait per service, and per counter
    the ticket now served (its call's id: ``/queue/calls/{id}/announcement``) and 暂停服务."""
    return Stats(site=site, services=queue.services(db, user, site=site, now=clock(request)),
                 counters=queue.serving(db, user, site=site))


@router.get("/counters/{counter_id}", response_model=CounterServing)
def counter_state(counter_id: RowId, user: CounterReader, db: ReadDb) -> CounterServing:
    """The counter's ticket now served and whether it is paused (the counter page)."""
    ref = queue.counter_ref(db, user, counter_id)
    return next(c for c in queue.serving(db, user, site=ref.site) if c.counter_id == ref.id)


def _counter_action(path: str, act: Callable[[Engine, queue.CounterRef, float, Any], TicketView | None], *,
                    name: str, action: str, doc: str | None = None, body: type[BaseModel] | None = None,
                    detail: Callable[[TicketView, queue.CounterRef, Any], str] = lambda t, ref, body: t.code,
                    ticket: bool = True) -> None:
    """Add ``POST /counters/{counter_id}/<path>``, one of the counter's queue actions, for an
    operator of the counter (:data:`Operator`): ``act(engine, counter, now, body)`` does it and
    returns the ticket it acted on, answered and audited (``action`` on ``ticket:<id>``, with
    ``detail``); with ``ticket=False`` it changes the counter itself (暂停/恢复): 204, audited on
    ``counter:<id>``. ``body``: the request body's model, where it takes one. ``name`` and ``doc``
    are the operation's (its OpenAPI id, summary and description)."""

    def endpoint(counter_id: int, user: Principal, db: Session, engine: Engine, request: Request,
                 body: Any = None) -> TicketView | Response:
        ref = queue.counter_ref(db, user, counter_id)
        t = act(engine, ref, clock(request), body)
        if t is None:
            audit(request, user, action=action, target=f"counter:{ref.id}")
            return Response(status_code=204)
        audit(request, user, action=action, target=f"ticket:{t.id}", detail=detail(t, ref, body))
        return t

    # FastAPI reads the parameters from the signature: the path's id, the body where there is one, the role gate.
    arg = Parameter.POSITIONAL_OR_KEYWORD
    endpoint.__signature__ = Signature([  # type: ignore[attr-defined]
        Parameter("counter_id", arg, annotation=RowId), *([Parameter("body", arg, annotation=body)] if body else []),
        Parameter("user", arg, annotation=Operator), Parameter("db", arg, annotation=ReadDb),
        Parameter("engine", arg, annotation=Writer), Parameter("request", arg, annotation=Request)])
    endpoint.__name__ = endpoint.__qualname__ = name
    endpoint.__doc__ = doc
    router.add_api_route(f"/counters/{{counter_id}}/{path}", endpoint, methods=["POST"], name=name,
                         response_model=TicketView if ticket else None, status_code=200 if ticket else 204)


_counter_action("call-next", lambda e, ref, now, _: queue.call_next(e, ref, now=now), name="call_next",
                action="queue.call", detail=lambda t, ref, _: f"{t.code}，{ref.label}",
                doc="办结 the current ticket and call the next: a queue_call event, which starts the next interaction.")
_counter_action("recall", lambda e, ref, now, _: queue.recall(e, ref, now=now), name="recall",
                action="queue.call", detail=lambda t, ref, _: f"重呼 {t.code}，{ref.label}")
_counter_action("skip", lambda e, ref, now, _: queue.end_current(e, ref, state="skipped", now=now), name="skip",
                action="queue.skip", doc="过号: the customer did not come.")
_counter_action("finish", lambda e, ref, now, _: queue.end_current(e, ref, state="done", now=now), name="finish",
                action="queue.finish", doc="办结: the service is done (the rating terminal asks for its rating).")
_counter_action("transfer", lambda e, ref, now, body: queue.transfer(e, ref, service_id=body.service_id),
                name="transfer", body=TransferIn, action="queue.transfer",
                detail=lambda t, ref, body: f"{t.code} 转至业务 #{body.service_id}")
_counter_action("pause", lambda e, ref, now, _: queue.set_paused(e, ref, paused=True, now=now), name="pause",
                action="queue.pause", ticket=False,
                doc="暂停服务 (the screens show it; the kiosk's waits count only the open counters).")
_counter_action("resume", lambda e, ref, now, _: queue.set_paused(e, ref, paused=False, now=now), name="resume",
                action="queue.resume", ticket=False)


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
             wait_limit_min: float | None = Query(None, gt=0, le=600)) -> Coverage:
    """How many of the day's called tickets have a usable recording, each gap explained (采集端离线,
    无语音, 无法判定), and the calls whose recording the rule of a long wait (C-WAIT-APOLOGY) found
    without an apology; ``wait_limit_min`` narrows those to the tickets that waited longer (the
    rule's own limit applies without it)."""
    return hall_evidence.coverage(db, user, site=site, day=day,
                                  wait_limit_s=None if wait_limit_min is None else wait_limit_min * 60.0)


# -- device tokens ---------------------------------------------------------------------------

@device_router.post("", response_model=DeviceToken, status_code=201)
def issue_device(body: DeviceIn, user: Admin, engine: Writer) -> DeviceToken:
    """A token for a ticket kiosk of the site, or for the rating terminal (the capture agent) of
    counter ``name`` (shown once; audited). Older tokens keep working until revoked."""
    if body.role == "agent":
        a = issue_agent_token(engine, site=body.site, counter=body.name, actor=user.name)
        return DeviceToken(name=a.user, role="agent", site=a.site, counter=a.counter, token=a.token, expires_s=a.expires_s)
    return devices.issue(engine, role=body.role, site=body.site, name=body.name, actor=user.name)


@device_router.get("/tokens", response_model=list[DeviceTokenRow])
def list_device_tokens(user: Admin, db: ReadDb, site: str = SiteQ) -> list[DeviceTokenRow]:
    """The tokens of the site's devices (kiosks, rating terminals, screens, capture agents,
    event sources), newest first: never their values, only when each was made and last used."""
    return devices.list_tokens(db, user, site=site)


@device_router.delete("/tokens/{row_id}", status_code=204)
def revoke_device_token(row_id: RowId, user: Admin, engine: Writer, request: Request) -> Response:
    """Revoke the device token ``row_id`` (the list's ``token_id``; never a credential in a URL)
    now: the device is refused from its next request (404 ``token_not_found`` for a person's token
    or an unknown one)."""
    r = devices.revoke(engine, user, token_id=row_id)
    audit(request, user, action="token.revoke", target=f"user:{r.account}",
          detail=audit_log.token_detail(row_id, audit_log.role_label(r.role)))
    return Response(status_code=204)


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
#: The page follows the ticket in place every 15 s (its status block, a polite live region, is
#: replaced by the same block fetched again), not by a <meta> refresh that reloads the page under a
#: screen reader's or a reader's eyes (WCAG 2.2.1; axe-core's meta-refresh). The one inline
#: script is allowed by its hash; without script the page is still complete (reload to update).
_FOLLOW = ("setInterval(async()=>{try{const r=await fetch(location.href,{cache:'no-store'});if(!r.ok)return;"
           "const n=new DOMParser().parseFromString(await r.text(),'text/html').getElementById('status');"
           "if(n)document.getElementById('status').innerHTML=n.innerHTML}catch(e){}},15000)")
_PAGE_CSP = ("default-src 'none'; style-src 'unsafe-inline'; connect-src 'self'; "
             f"script-src 'sha256-{base64.b64encode(hashlib.sha256(_FOLLOW.encode()).digest()).decode()}'; "
             "frame-ancestors 'none'; base-uri 'none'")


@public_router.get("/t/{key}", include_in_schema=False, response_class=HTMLResponse)
def ticket_status(key: str, db: ReadDb) -> HTMLResponse:
    t = queue.ticket_by_key(db, key) if 16 <= len(key) <= 32 else None
    if t is None:
        raise NotFound("ticket", "not found (numbers are kept for the day they were taken)", code="ticket_not_found")
    where = f"<p class=big>请到 {html.escape(t.counter_label)} 办理</p>" if t.state == "serving" and t.counter_label else ""
    before = f"<p>您前面还有 <b>{t.waiting_before}</b> 人</p>" if t.state == "waiting" else ""
    body = (f"<!doctype html><html lang=zh-CN><head><meta charset=utf-8><meta name=viewport "
            f"content='width=device-width,initial-scale=1'>"
            f"<title>排队号 {html.escape(t.code)}</title><style>body{{font:20px sans-serif;text-align:center;"
            f"padding:1em}}h1{{font-size:20px;font-weight:normal}}.code{{font-size:64px;font-weight:bold}}.big{{font-size:28px}}</style></head><body>"
            f"<main id=status aria-live=polite><h1>{html.escape(t.service)}</h1><p class=code>{html.escape(t.code)}</p>"
            f"<p class=big>{_STATE.get(t.state, t.state)}</p>{where}{before}</main><footer><p>本页每15秒自动更新</p></footer>"
            f"<script>{_FOLLOW}</script></body></html>")
    return HTMLResponse(body, headers={"Content-Security-Policy": _PAGE_CSP, "Cache-Control": "no-store"})
