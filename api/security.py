"""Passwords (Argon2id) and bearer tokens (random, stored as sha256 only)."""
from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

PEOPLE = ("admin", "supervisor", "viewer")
MACHINES = ("agent", "screen")
ROLES = PEOPLE + MACHINES


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    """A bearer token: 256 random bits, URL-safe, prefixed so it is recognisable in a leak scan."""
    return "cw_" + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
