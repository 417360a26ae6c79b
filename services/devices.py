"""Device tokens of the hall: a ticket kiosk (取号机, role ``kiosk``) of one site, which takes
tickets and nothing else, and a rating terminal (评价器, role ``rater``) bound to one counter,
which reads that counter's terminal state and sends its presses. Accounts are
``kiosk:<site>/<name>`` and ``rater:<site>/<counter>``; issuing is audited. The device's browser
exchanges the token once for its HttpOnly cookie (``POST /api/v1/devices/session``), so the token
is typed in once at setup and never put in a URL.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.errors import Invalid
from domain.names import check_name
from services import audit
from services.accounts import DEFAULT_TOKEN_TTL_S, Principal, new_token, token_digest
from services.catalog import Catalog, SiteNotFound
from storage.engine import write_session
from storage.tables import ApiToken, Counter, Site, User, now_s


@dataclass(frozen=True)
class DeviceToken:
    name: str
    role: str
    site: str
    counter: str | None
    token: str
    expires_s: float | None


def issue(engine: Engine, *, role: str, site: str, name: str, actor: str,
          ttl_s: float | None = DEFAULT_TOKEN_TTL_S) -> DeviceToken:
    """A new token for the kiosk ``name`` of ``site`` (role ``kiosk``) or the rater of counter
    ``name`` (role ``rater``). Older tokens keep working until they expire or are revoked.

    Raises:
        Invalid (role, name), SiteNotFound, UnknownCounter.
    """
    if role not in ("kiosk", "rater"):
        raise Invalid(f"role {role!r}", "a device is a kiosk or a rater", code="bad_device_role")
    counter_id = None
    if role == "rater":
        info = Catalog(engine).counter(site, name)
        counter_id = info.id
    else:
        check_name("kiosk", name)
    user_name = f"{role}:{site}/{name}"
    token = new_token()
    expires = now_s() + ttl_s if ttl_s is not None else None
    with write_session(engine) as s:
        if s.scalar(select(Site.id).where(Site.name == site)) is None:
            raise SiteNotFound(site)
        user = s.scalar(select(User).where(User.name == user_name).with_for_update())
        if user is None:
            user = User(name=user_name, role=role, sites=[site])
            s.add(user)
        user.role, user.sites, user.counter_id, user.active = role, [site], counter_id, True
        s.flush()
        s.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label=role, expires_s=expires))
        audit.append(s, user_id=None, user_name=actor, action="device.issue", target=f"user:{user_name}",
                     detail=audit.expiry_detail(expires))
    return DeviceToken(user_name, role, site, name if role == "rater" else None, token, expires)


#: The machine accounts a site's devices use, each with its token(s): ticket kiosks, rating
#: terminals, waiting-area screens, capture agents, and the event sources of a hall's own systems.
DEVICE_ROLES = ("kiosk", "rater", "screen", "agent", "events")


@dataclass(frozen=True)
class DeviceTokenRow:
    """One token of a device account (never its value: only its digest is stored)."""

    token_id: int
    account: str
    role: str
    site: str
    #: the counter it is bound to (rater, agent, a counter's event source); None: the site
    counter: str | None
    created_s: float
    expires_s: float | None
    last_used_s: float | None


def list_tokens(db: Session, user: Principal, *, site: str) -> list[DeviceTokenRow]:
    """Every token of the devices of ``site``, newest first.

    Raises:
        SiteForbidden, SiteNotFound.
    """
    from services.catalog import visible_site

    visible_site(db, user, site)
    rows = db.execute(select(ApiToken, User, Counter.name).join(User, ApiToken.user_id == User.id)
                      .outerjoin(Counter, User.counter_id == Counter.id)
                      .where(User.role.in_(DEVICE_ROLES)).order_by(ApiToken.id.desc()))
    return [DeviceTokenRow(t.id, u.name, u.role, site, counter, t.created_s, t.expires_s, t.last_used_s)
            for t, u, counter in rows if list(u.sites or []) == [site]]


def revoke(engine: Engine, user: Principal, *, token_id: int) -> DeviceTokenRow:
    """Revoke one device token now (the caller audits it); a person's token is not a device's.

    Raises:
        TokenNotFound: no such device token, or one of a site ``user`` does not see.
    """
    from services.tokens import TokenNotFound

    with write_session(engine) as s:
        row = s.execute(select(ApiToken, User, Counter.name).join(User, ApiToken.user_id == User.id)
                        .outerjoin(Counter, User.counter_id == Counter.id).where(ApiToken.id == token_id)).first()
        if row is None or row[1].role not in DEVICE_ROLES or len(row[1].sites or []) != 1:
            raise TokenNotFound(token_id)
        t, u, counter = row
        if not user.can_see(u.sites[0]):
            raise TokenNotFound(token_id)
        out = DeviceTokenRow(t.id, u.name, u.role, u.sites[0], counter, t.created_s, t.expires_s, t.last_used_s)
        s.delete(t)
    return out
