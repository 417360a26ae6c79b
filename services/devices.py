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

from domain.errors import Invalid
from domain.names import check_name
from services import audit
from services.accounts import DEFAULT_TOKEN_TTL_S, new_token, token_digest
from services.catalog import Catalog, SiteNotFound
from storage.engine import write_session
from storage.tables import ApiToken, Site, User, now_s


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
