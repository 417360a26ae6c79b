"""Log in with a password (the console) and out; who am I."""
from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from api.deps import COOKIE, CurrentUser, audit
from domain.errors import Unauthenticated
from services import accounts

router = APIRouter(prefix="/auth", tags=["auth"])


class LoginIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=200)


class UserPublic(BaseModel):
    id: int
    name: str
    role: str
    sites: list[str]


class LoginOut(UserPublic):
    token: str
    expires_s: float


@router.post("/login", response_model=LoginOut)
def login(body: LoginIn, request: Request, response: Response) -> LoginOut:
    """Exchange name and password for a session token (also set as an HttpOnly cookie)."""
    session = accounts.login(request.app.state.engine, body.name, body.password)
    if session is None:
        audit(request, None, action="login.failed", user_name=body.name)
        raise Unauthenticated("login", "wrong name or password", code="bad_credentials")
    user = session.principal
    audit(request, user, action="login")
    response.set_cookie(COOKIE, session.token, max_age=accounts.SESSION_TTL_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return LoginOut(id=user.id, name=user.name, role=user.role, sites=list(user.sites), token=session.token,
                    expires_s=session.expires_s)


@router.post("/logout", status_code=204)
def logout(user: CurrentUser, request: Request, response: Response) -> Response:
    accounts.revoke_token(request.app.state.engine, user.token_id)
    response.delete_cookie(COOKIE)
    response.status_code = 204
    return response


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic(id=user.id, name=user.name, role=user.role, sites=list(user.sites))
