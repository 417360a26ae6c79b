"""User and token management (used by the CLI and the API)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from api.security import ROLES, hash_password, new_token, token_digest
from recorder.chunk import check_name
from storage.db import ApiToken, User, now_s


class UserError(Exception):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"user {name!r}: {reason}")
        self.name = name
        self.reason = reason


@dataclass(frozen=True)
class NewUser:
    id: int
    name: str
    role: str
    sites: list[str]
    token: str          # shown once; only its digest is stored


def add_user(engine: Engine, name: str, *, role: str, sites: list[str] | None = None, password: str | None = None,
             token_ttl_s: float | None = None) -> NewUser:
    """Create a user (or update role, sites and password of an existing one) and issue a token."""
    if role not in ROLES:
        raise UserError(name, f"role must be one of {', '.join(ROLES)}")
    if not name or len(name) > 100 or any(c in name for c in "\r\n\t"):
        raise UserError(name, "name must be 1-100 printable characters")
    sites = [check_name("site", s) for s in (sites or [])]
    if role in ("supervisor", "viewer", "screen") and not sites:
        raise UserError(name, f"a {role} needs at least one --site")
    if password is not None and len(password) < 8:
        raise UserError(name, "password must have at least 8 characters")
    token = new_token()
    with Session(engine) as s, s.begin():
        user = s.scalar(select(User).where(User.name == name))
        if user is None:
            user = User(name=name, role=role, sites=sites)
            s.add(user)
        user.role, user.sites, user.active = role, sites, True
        if password is not None:
            user.password_hash = hash_password(password)
        s.flush()
        s.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label="cli",
                       expires_s=now_s() + token_ttl_s if token_ttl_s else None))
        return NewUser(user.id, name, role, sites, token)
