"""Log in with a password (the console) and out; who am I."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import CurrentUser, Writer, audit, client_of, cookie_name
from domain.errors import Unauthenticated
from services import accounts
from services import audit as audit_log
from services import login as logins

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class UserPublic(BaseModel):
    """Who a user is: the public part of :class:`services.accounts.Principal` (kept to hide
    its token and staff ids; issue 22)."""

    id: int
    name: str
    role: str
    sites: list[str]


class LoginOut(UserPublic):
    """Who logged in and until when. The session token is only in the HttpOnly cookie, never in
    the body, so no page script can read it (issue 18); API clients use a bearer token from
    ``counterwatch user token``."""

    expires_s: float


@router.post("/login", response_model=LoginOut, responses={429: {"description": "too many failed logins; see Retry-After"}})
def login(body: LoginIn, engine: Writer, request: Request, response: Response) -> LoginOut:
    """Exchange name and password for a session: its token is set as an HttpOnly cookie
    (``__Host-`` prefixed over HTTPS) and is not in the answer's body. Throttled per account and per client after repeated
    failures: 429 with ``Retry-After`` (:mod:`services.login`)."""
    session = logins.login(engine, body.name, body.password, client=client_of(request))
    if session is None:
        raise Unauthenticated("login", "wrong name or password", code="bad_credentials")
    user = session.principal
    response.set_cookie(cookie_name(request), session.token, max_age=accounts.SESSION_TTL_S, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return LoginOut(id=user.id, name=user.name, role=user.role, sites=list(user.sites),
                    expires_s=session.expires_s)


@router.post("/logout", status_code=204)
def logout(user: CurrentUser, engine: Writer, request: Request, response: Response) -> Response:
    accounts.revoke_token(engine, user.token_id)
    audit(request, user, action="logout", detail=audit_log.token_detail(user.token_id))
    response.delete_cookie(cookie_name(request), path="/", secure=request.url.scheme == "https", httponly=True,
                           samesite="strict")
    response.status_code = 204
    return response


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic(id=user.id, name=user.name, role=user.role, sites=list(user.sites))
