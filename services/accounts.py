"""Accounts: users and their roles and sites, passwords (Argon2id), bearer tokens (random,
stored as sha256 only), console login, and who a token belongs to (:class:`Principal`).

Used by the CLI (``counterwatch user add``) and the API (login, every authenticated request).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.displaynames import check_display_name, check_not_confusable
from domain.errors import Invalid
from domain.names import check_name
from domain.vocab import MACHINE_NAME_PREFIXES, MACHINES, PEOPLE, ROLES, SITE_BOUND_ROLES
from storage.engine import write_session
from storage.tables import ApiToken, Site, Staff, User, now_s

_hasher = PasswordHasher()
#: A console session lasts this long.
SESSION_TTL_S = 12 * 3600
#: A token's ``last_used_s`` is written at most this often (it costs a write per request otherwise).
LAST_USED_EVERY_S = 60.0
MIN_PASSWORD_CHARS = 8
#: Tokens expire after this long unless issued with an explicit "no expiry" (issue 11).
DEFAULT_TOKEN_TTL_S = 365 * 86400.0
# Verified when the user is unknown, so an unknown name costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("counterwatch: no such user")


class UserError(Invalid):
    """A user that cannot be created or changed as asked."""

    code = "bad_user"

    def __init__(self, name: str, reason: str, *, code: str | None = None) -> None:
        super().__init__(f"user {name!r}", reason, code=code)
        self.name = name


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; without a hash a dummy one is verified, so the answer takes
    as long either way."""
    if not password_hash:
        verify_password(_DUMMY_HASH, password)
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


@dataclass(frozen=True)
class NewUser:
    id: int
    name: str
    role: str
    sites: list[str]
    token: str          # shown once; only its digest is stored


def add_user(engine: Engine, name: str, *, role: str, sites: list[str] | None = None, password: str | None = None,
             token_ttl_s: float | None = DEFAULT_TOKEN_TTL_S, staff: str | None = None) -> NewUser:
    """Create a user (or update role, sites and password of an existing one) and issue a token
    that expires after ``token_ttl_s`` (None: never, only when asked for explicitly). A new
    password ends the user's console sessions. Names of machine users (``agent:...``,
    ``screen:...``) are managed by their own commands; a person never becomes a machine user
    nor the other way round. A ``staff`` user is linked to the Staff record named ``staff`` at
    their one site (made if the roster has no such name yet).

    Raises:
        UserError: a bad role, name, password, a site-bound role without a site, a reserved name
            or a change between a person's and a machine's role.
        BadDisplayName, ConfusableName: a name with hidden characters, or one that looks like
            another user's. BadName: a site name that is not allowed.
    """
    if role not in ROLES:
        raise UserError(name, f"role must be one of {', '.join(ROLES)}")
    name = check_display_name("user", name)
    if name.startswith(MACHINE_NAME_PREFIXES):
        raise UserError(name, "names starting with agent: or screen: belong to machine users, managed by "
                        "`counterwatch agent token` and screen registration")
    sites = [check_name("site", s) for s in (sites or [])]
    if role in SITE_BOUND_ROLES and not sites:
        raise UserError(name, f"a {role} needs at least one --site")
    if (role == "staff") != (staff is not None):
        raise UserError(name, "a staff user needs --staff (their name on the roster), and only a staff user has one",
                        code="staff_link")
    if role == "staff" and len(sites) != 1:
        raise UserError(name, "a staff user belongs to exactly one site", code="staff_link")
    if password is not None and len(password) < MIN_PASSWORD_CHARS:
        raise UserError(name, f"password must have at least {MIN_PASSWORD_CHARS} characters")
    token = new_token()
    with write_session(engine) as s:
        user = s.scalar(select(User).where(User.name == name).with_for_update())
        if user is None:
            check_not_confusable("user", name, list(s.scalars(select(User.name))))
            user = User(name=name, role=role, sites=sites)
            s.add(user)
        elif (user.role in MACHINES) != (role in MACHINES):
            raise UserError(name, f"is a {user.role}: a machine user cannot become a person's account, nor a "
                            "person's account a machine user", code="user_kind")
        user.role, user.sites, user.active = role, sites, True
        user.staff_id = _staff_id(s, site=sites[0], staff=check_display_name("staff", staff)) if staff else None
        if password is not None:
            user.password_hash = hash_password(password)
            if user.id is not None:     # a changed password ends the console sessions
                s.execute(delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.label == "console"))
        s.flush()
        s.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label="cli",
                       expires_s=now_s() + token_ttl_s if token_ttl_s else None))
        return NewUser(user.id, name, role, sites, token)


def _staff_id(s: Session, *, site: str, staff: str) -> int:
    site_id = s.scalar(select(Site.id).where(Site.name == site))
    if site_id is None:
        raise UserError(staff, f"no site {site!r}", code="staff_link")
    row = s.scalar(select(Staff.id).where(Staff.site_id == site_id, Staff.name == staff))
    if row is None:
        st = Staff(site_id=site_id, name=staff)
        s.add(st)
        s.flush()
        row = st.id
    return row


@dataclass(frozen=True)
class Principal:
    """Who a request is from: the user behind a token, and the token."""

    id: int
    name: str
    role: str
    sites: tuple[str, ...]       # empty: all sites
    token_id: int
    #: An agent's one counter: it writes that counter's audio only (None: not bound).
    counter_id: int | None = None
    #: A ``staff`` user's own Staff record: they see that person's interactions only.
    staff_id: int | None = None

    def can_see(self, site: str) -> bool:
        return not self.sites or site in self.sites

    def site_ids(self, db: Session) -> list[int] | None:
        """Ids of the visible sites, or None for all."""
        if not self.sites:
            return None
        return list(db.scalars(select(Site.id).where(Site.name.in_(self.sites))))


def principal_for_token(db: Session, engine: Engine, token: str) -> Principal | None:
    """The active user holding unexpired ``token``, or None. Notes when the token was last used
    (at most every :data:`LAST_USED_EVERY_S`, in a short write of its own)."""
    row = db.execute(select(ApiToken.id.label("token_id"), ApiToken.expires_s, ApiToken.last_used_s, User.active,
                            User.id.label("user_id"), User.name,
                            User.role, User.sites, User.counter_id, User.staff_id)    # columns: no ORM objects
                     .join(User, ApiToken.user_id == User.id)
                     .where(ApiToken.token_sha256 == token_digest(token))).first()
    now = now_s()
    if row is None or not row.active or (row.expires_s is not None and row.expires_s < now):
        return None
    if row.last_used_s is None or now - row.last_used_s > LAST_USED_EVERY_S:
        with write_session(engine) as w:
            w.execute(update(ApiToken).where(ApiToken.id == row.token_id).values(last_used_s=now))
    return Principal(row.user_id, row.name, row.role, tuple(row.sites or ()), row.token_id, row.counter_id,
                     row.staff_id)


@dataclass(frozen=True)
class ConsoleSession:
    principal: Principal
    token: str
    expires_s: float


def login(engine: Engine, name: str, password: str) -> ConsoleSession | None:
    """A console session for a person whose password matches, or None."""
    with write_session(engine) as s:
        user = s.scalar(select(User).where(User.name == name, User.active.is_(True)))
        ok = verify_password(user.password_hash if user is not None and user.role in PEOPLE else None, password)
        if user is None or not ok:
            return None
        token = new_token()
        expires = now_s() + SESSION_TTL_S
        tok = ApiToken(user_id=user.id, token_sha256=token_digest(token), label="console", expires_s=expires)
        s.add(tok)
        s.flush()
        return ConsoleSession(Principal(user.id, user.name, user.role, tuple(user.sites or ()), tok.id,
                                        staff_id=user.staff_id), token, expires)


def revoke_token(engine: Engine, token_id: int) -> None:
    with write_session(engine) as s:
        s.execute(delete(ApiToken).where(ApiToken.id == token_id))
