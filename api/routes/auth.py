"""Log in with a password (the console) and out; who am I."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import BaseModel, Field
from sqlalchemy import delete, select

from api.deps import COOKIE, CurrentUser, SessionDep
from api.security import new_token, token_digest, verify_password
from storage.db import ApiToken, AuditLog, User, now_s

router = APIRouter(prefix="/auth", tags=["auth"])
SESSION_TTL_S = 12 * 3600


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
def login(body: LoginIn, request: Request, response: Response, db: SessionDep) -> LoginOut:
    """Exchange name and password for a session token (also set as an HttpOnly cookie)."""
    user = db.scalar(select(User).where(User.name == body.name, User.active.is_(True)))
    if user is None or user.role not in ("admin", "supervisor", "viewer") or \
            not verify_password(user.password_hash, body.password):
        client = request.client.host if request.client else ""
        db.add(AuditLog(user_id=None, user_name=body.name[:100], action="login.failed", client=client))
        db.commit()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong name or password")
    token = new_token()
    expires = now_s() + SESSION_TTL_S
    db.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label="console", expires_s=expires))
    client = request.client.host if request.client else ""
    db.add(AuditLog(user_id=user.id, user_name=user.name, action="login", client=client))
    db.commit()
    response.set_cookie(COOKIE, token, max_age=SESSION_TTL_S, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return LoginOut(id=user.id, name=user.name, role=user.role, sites=list(user.sites or []), token=token,
                    expires_s=expires)


@router.post("/logout", status_code=204)
def logout(user: CurrentUser, response: Response, db: SessionDep) -> Response:
    db.execute(delete(ApiToken).where(ApiToken.id == user.token_id))
    db.commit()
    response.delete_cookie(COOKIE)
    response.status_code = 204
    return response


@router.get("/me", response_model=UserPublic)
def me(user: CurrentUser) -> UserPublic:
    return UserPublic(id=user.id, name=user.name, role=user.role, sites=list(user.sites))
