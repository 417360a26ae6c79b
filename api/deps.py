"""Dependencies shared by the routers: database sessions, the object store, the current user.

Every request is authenticated: a bearer token (``Authorization: Bearer cw_...``) or the
console's session cookie (the same kind of token, HttpOnly). Tokens never go in URLs.

A route gets its database from two dependencies, opened and released here only:
``ReadDb`` is the request's session for queries (on SQLite it never takes the write lock), closed
when the route function returns, before a streamed body goes out (``scope="function"``);
``Writer`` is the engine that services open their own short write transactions on
(``storage.engine.write_session``), so no request holds a write lock while it reads or streams.
A route closes its session itself only to hold no connection while it waits or works long (a
long poll, an evidence file), and says so where it does.
"""
from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.db_gate import gated_session
from domain.errors import Forbidden, Unauthenticated
from services import audit as audit_log
from services.accounts import Principal, principal_for_token
from storage.objects import ObjectStore
from transcribe.rules import Rulebook

COOKIE = "cw_session"
#: The cookie's name over HTTPS: the __Host- prefix makes the browser refuse it unless it is
#: Secure, for Path=/ and without a Domain, so no other host of the domain can set or read it.
SECURE_COOKIE = "__Host-cw_session"
#: The largest row id the database keeps (32-bit integer columns).
MAX_ROW_ID = 2_147_483_647
#: A row id in a path: out-of-range values get 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def get_writer(request: Request) -> Engine:
    """The app's engine: what services open their write transactions on (and what a stream that
    outlives the request's read session opens its own sessions on)."""
    return request.app.state.engine


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's read session (api.db_gate: bounded so the pool never runs dry)."""
    async for s in gated_session(request.app, get_writer(request)):
        yield s


#: The request's read session, closed as the route function returns (before the body is sent).
#: Always this alias: a ``Depends(get_db)`` of another scope would open a second session.
ReadDb = Annotated[Session, Depends(get_db, scope="function")]
Writer = Annotated[Engine, Depends(get_writer)]


def fresh(db: Session) -> Session:
    """``db`` after ending its snapshot, so that its next query sees what this request has just
    written (a SQLite reader keeps the snapshot of its first query until its transaction ends).
    It keeps its slot of the gate; nothing was written through it, so nothing is lost."""
    db.rollback()
    return db


def get_store(request: Request) -> ObjectStore:
    return request.app.state.store


def get_rulebook(request: Request, db: ReadDb) -> Rulebook:
    """The rulebook in force: the one applied in the rule bench, else the settings' file."""
    from services.rulebooks import current

    return current(db, request.app.state.rulebook)


StoreDep = Annotated[ObjectStore, Depends(get_store)]
RulebookDep = Annotated[Rulebook, Depends(get_rulebook)]


class RoleForbidden(Forbidden):
    code = "role_forbidden"

    def __init__(self, roles: tuple[str, ...]) -> None:
        super().__init__("this operation", f"needs role {' or '.join(roles)}", roles=list(roles))


def cookie_name(request: Request) -> str:
    """The session cookie's name for this request (``__Host-`` prefixed over HTTPS)."""
    return SECURE_COOKIE if request.url.scheme == "https" else COOKIE


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(cookie_name(request))


def current_user(request: Request, db: ReadDb) -> Principal:
    token = _token(request)
    if not token:
        raise Unauthenticated("request", "authentication required")
    user = principal_for_token(db, get_writer(request), token)
    if user is None:
        raise Unauthenticated("token", "invalid or expired token", code="bad_token")
    request.state.principal = user      # for the audit of refused attempts (api.errors)
    return user


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency letting only ``roles`` through (403 for the others)."""

    def check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise RoleForbidden(roles)
        return user

    return check


Supervisor = Annotated[Principal, Depends(require("admin", "supervisor"))]
Person = Annotated[Principal, Depends(require("admin", "supervisor", "viewer"))]
Admin = Annotated[Principal, Depends(require("admin"))]
#: A member of the counter staff: their own interactions and findings only (services.appeals).
StaffMember = Annotated[Principal, Depends(require("staff"))]
#: A person who may hear recordings: the readers of a site and the counter staff (who see only
#: their own: services.interactions.visible_interaction). A department's handler (issue 21) hears none.
AnyPerson = Annotated[Principal, Depends(require("admin", "supervisor", "viewer", "staff"))]
Agent = Annotated[Principal, Depends(require("admin", "agent"))]
#: A capture agent's token (bound to its counter: :func:`services.ingest.binding`).
CaptureAgent = Annotated[Principal, Depends(require("agent"))]


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def audit(request: Request, user: Principal | None, *, action: str, target: str = "", detail: str = "",
          user_name: str | None = None) -> None:
    """Append an audit row (committed before the data is served)."""
    audit_log.record(get_writer(request), user, action=action, target=target, client=client_of(request),
                     detail=detail, user_name=user_name)


#: The vocabulary (domain.vocab.LABELS) that names the values of a filter in an audit detail.
_FILTER_VALUES = {"review_state": "review_state", "certainty": "certainty", "type": "flag_type",
                  "assessable": "assessable", "action": "audit_action", "state": "complaint_state"}
#: Counts of what was answered: "返回 100 条".
_COUNTS = {"rows": "返回 {} 条", "total": "共 {} 条", "hits": "命中 {} 条"}


def review_detail(state: str, note: str) -> str:
    """A review's audit detail: "已驳回：误报，已听录音" (the state in Chinese, then the note)."""
    from domain.vocab import LABELS

    said = LABELS["review_state"].get(state, state)
    return f"{said}：{note}" if note else said


def filters_detail(**values: object) -> str:
    """The filters of a listing or search, in the Chinese a supervisor reads in the audit log
    (issue 20: "审核状态：待审核，确定程度：确定，返回 100 条", not ``review_state='open' rows=100``);
    unset ones left out, times on the default site's clock."""
    from domain.messages import FIELDS
    from domain.timezones import DEFAULT_TIMEZONE, local_time
    from domain.vocab import LABELS

    def said(k: str, v: object) -> str:
        if k in ("since_s", "until_s") and isinstance(v, (int, float)):
            try:
                return local_time(float(v), DEFAULT_TIMEZONE).strftime("%Y-%m-%d %H:%M")
            except (OverflowError, OSError, ValueError):     # beyond the calendar: the number itself
                return f"{float(v):g}"
        vocab = LABELS.get(_FILTER_VALUES.get(k, ""), {})
        key = str(v).lower() if isinstance(v, bool) else str(v)
        return vocab.get(key, str(v))

    parts = []
    for k, v in values.items():
        if v is None:
            continue
        if k in _COUNTS:
            parts.append(_COUNTS[k].format(v))
        else:
            parts.append(f"{FIELDS.get(k, FIELDS.get(f'{k}_id', k))}：{said(k, v)}")
    return "，".join(parts)[:2000]


def scope_target(user: Principal, site: str | None = None) -> str:
    """The audit target of a read over sites: ``site:NAME`` for one site (asked for, or the
    user's only one), else ``sites:all`` (so a site's admin finds the reads of its site)."""
    if site:
        return f"site:{site}"
    return f"site:{user.sites[0]}" if len(user.sites) == 1 else "sites:all"


def clock(request: Request) -> float:
    """Now, in Unix seconds: ``app.state.clock()`` where a deployment or a test fixes the time
    (a test of a deadline across a holiday), else the system clock."""
    fixed = getattr(request.app.state, "clock", None)
    return fixed() if fixed is not None else time.time()
