"""Dependencies shared by the routers: database session, object store, the current user.

Every request is authenticated: a bearer token (``Authorization: Bearer cw_...``) or the
console's session cookie (the same kind of token, HttpOnly). Tokens never go in URLs.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Iterator

from fastapi import Depends, HTTPException, Path, Request, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.security import token_digest
from storage.db import ApiToken, AuditLog, Site, User, now_s
from storage.objects import ObjectStore, StoreError, StoreUnavailable

COOKIE = "cw_session"
#: The largest row id the database keeps (32-bit integer columns).
MAX_ROW_ID = 2_147_483_647
#: A row id in a path: out-of-range values get 422, not a database error.
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def get_db(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as s:
        yield s


def get_store(request: Request) -> ObjectStore:
    return request.app.state.store


SessionDep = Annotated[Session, Depends(get_db)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]


def store_http_error(e: StoreError) -> HTTPException:
    """The answer to a failed object-store call: 503 (with ``Retry-After``) while the store cannot
    be reached, else 502 naming the store's error code."""
    if isinstance(e, StoreUnavailable):
        return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "object store unavailable, try again",
                             headers={"Retry-After": "5"})
    return HTTPException(status.HTTP_502_BAD_GATEWAY, f"object store refused: {e.code}")


@contextmanager
def store_errors() -> Iterator[None]:
    """Turn object-store errors raised inside the block into :func:`store_http_error` answers."""
    try:
        yield
    except StoreError as e:
        raise store_http_error(e) from e


@dataclass(frozen=True)
class Principal:
    id: int
    name: str
    role: str
    sites: tuple[str, ...]       # empty: all sites
    token_id: int

    def can_see(self, site: str) -> bool:
        return not self.sites or site in self.sites

    def site_ids(self, db: Session) -> list[int] | None:
        """Ids of the visible sites, or None for all."""
        if not self.sites:
            return None
        return list(db.scalars(select(Site.id).where(Site.name.in_(self.sites))))


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.cookies.get(COOKIE)


def current_user(request: Request, db: SessionDep) -> Principal:
    token = _token(request)
    if not token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "authentication required",
                            headers={"WWW-Authenticate": "Bearer"})
    row = db.execute(select(ApiToken, User).join(User, ApiToken.user_id == User.id)
                     .where(ApiToken.token_sha256 == token_digest(token))).first()
    now = now_s()
    if row is None or not row[1].active or (row[0].expires_s is not None and row[0].expires_s < now):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                            headers={"WWW-Authenticate": "Bearer"})
    tok, user = row
    if tok.last_used_s is None or now - tok.last_used_s > 60:
        tok.last_used_s = now
        db.commit()
    return Principal(user.id, user.name, user.role, tuple(user.sites or ()), tok.id)


CurrentUser = Annotated[Principal, Depends(current_user)]


def require(*roles: str):  # noqa: ANN201 - a FastAPI dependency
    def check(user: CurrentUser) -> Principal:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"needs role {' or '.join(roles)}")
        return user

    return check


Supervisor = Annotated[Principal, Depends(require("admin", "supervisor"))]
Person = Annotated[Principal, Depends(require("admin", "supervisor", "viewer"))]
Admin = Annotated[Principal, Depends(require("admin"))]
Agent = Annotated[Principal, Depends(require("admin", "agent"))]


def audit(db: Session, user: Principal, request: Request, *, action: str, target: str, detail: str = "") -> None:
    """Append an audit row and commit it before the data is served."""
    client = request.client.host if request.client else ""
    db.add(AuditLog(at_s=now_s(), user_id=user.id, user_name=user.name, action=action, target=target[:300],
                    client=client[:100], detail=detail))
    db.commit()
