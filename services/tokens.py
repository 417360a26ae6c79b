"""Tokens and the accounts behind them, for operators (issue 11): list a user's tokens, revoke
one, disable a user, and issue a capture agent's token, bound to one counter.

An event source's account (a queue or rating system, issue 18) is ``events:<site>`` or
``events:<site>/<counter>`` (role ``events``); its token records that site's (or counter's)
events at ``POST /events`` and nothing else.

An agent's account is ``agent:<site>/<counter>`` (role ``agent``, its site, ``counter_id``); its
token writes that counter's audio, live segments, heartbeats and session ends and reads nothing
(:mod:`api.routes.agent`). Issuing a new one leaves the older ones working until they expire or
are revoked, so a box can be switched over without a gap. Every change here is audited.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine

from domain.errors import NotFound
from services import audit
from services.accounts import DEFAULT_TOKEN_TTL_S, new_token, token_digest
from services.catalog import Catalog
from storage.engine import read_session, write_session
from storage.tables import ApiToken, Site, User, now_s


class UserNotFound(NotFound):
    code = "user_not_found"

    def __init__(self, name: str) -> None:
        super().__init__(f"user {name!r}", "not found", user=name)


class TokenNotFound(NotFound):
    code = "token_not_found"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"token {token_id}", "not found", token_id=token_id)


@dataclass(frozen=True)
class TokenInfo:
    id: int
    label: str
    created_s: float
    expires_s: float | None
    last_used_s: float | None

    @property
    def expired(self) -> bool:
        return self.expires_s is not None and self.expires_s < now_s()


def _user(s, name: str) -> User:  # noqa: ANN001 - a Session
    user = s.scalar(select(User).where(User.name == name))
    if user is None:
        raise UserNotFound(name)
    return user


def list_tokens(engine: Engine, name: str) -> list[TokenInfo]:
    """The user's tokens (never their values: only digests are stored), oldest first.

    Raises:
        UserNotFound.
    """
    with read_session(engine) as s:
        user = _user(s, name)
        return [TokenInfo(t.id, t.label, t.created_s, t.expires_s, t.last_used_s)
                for t in s.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))]


def revoke_token(engine: Engine, token_id: int, *, actor: str) -> str:
    """Revoke one token now; returns the name of its user.

    Raises:
        TokenNotFound.
    """
    with write_session(engine) as s:
        row = s.execute(select(ApiToken, User.name).join(User, ApiToken.user_id == User.id)
                        .where(ApiToken.id == token_id)).first()
        if row is None:
            raise TokenNotFound(token_id)
        s.execute(delete(ApiToken).where(ApiToken.id == token_id))
        audit.append(s, user_id=None, user_name=actor, action="token.revoke", target=f"user:{row[1]}",
                     detail=audit.token_detail(token_id, row[0].label))
        return row[1]


def disable_user(engine: Engine, name: str, *, actor: str) -> int:
    """Disable a user and revoke all its tokens (``user add`` enables it again, with a new
    token); returns how many tokens were revoked.

    Raises:
        UserNotFound.
    """
    with write_session(engine) as s:
        user = _user(s, name)
        user.active = False
        n = len(list(s.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id))))
        s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        audit.append(s, user_id=None, user_name=actor, action="user.disable", target=f"user:{name}",
                     detail=audit.tokens_revoked_detail(n))
        return n


def agent_user_name(site: str, counter: str) -> str:
    return f"agent:{site}/{counter}"


@dataclass(frozen=True)
class AgentToken:
    user: str
    site: str
    counter: str
    token: str              # shown once
    expires_s: float | None


def issue_agent_token(engine: Engine, *, site: str, counter: str, ttl_s: float | None = DEFAULT_TOKEN_TTL_S,
                      actor: str) -> AgentToken:
    """A new token for the agent of ``site/counter`` (its account is made on first use).

    Raises:
        UnknownCounter: no such counter.
    """
    info = Catalog(engine).counter(site, counter)
    name = agent_user_name(info.site, info.name)
    token = new_token()
    expires = now_s() + ttl_s if ttl_s is not None else None
    with write_session(engine) as s:
        user = s.scalar(select(User).where(User.name == name).with_for_update())
        if user is None:
            user = User(name=name, role="agent", sites=[info.site])
            s.add(user)
        user.role, user.sites, user.counter_id, user.active = "agent", [info.site], info.id, True
        s.flush()
        s.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label="agent", expires_s=expires))
        audit.append(s, user_id=None, user_name=actor, action="token.issue", target=f"user:{name}",
                     detail=audit.expiry_detail(expires))
    return AgentToken(name, info.site, info.name, token, expires)


def event_source_name(site: str, counter: str | None = None) -> str:
    return f"events:{site}" + (f"/{counter}" if counter else "")


@dataclass(frozen=True)
class EventSourceToken:
    user: str
    site: str
    counter: str | None
    token: str              # shown once
    expires_s: float | None


def issue_event_token(engine: Engine, *, site: str, counter: str | None = None,
                      ttl_s: float | None = DEFAULT_TOKEN_TTL_S, actor: str) -> EventSourceToken:
    """A new token for the queue or rating system of ``site`` (or of one ``counter`` there): it
    records events of that site (counter) only. Its account is made on first use.

    Raises:
        SiteNotFound; UnknownCounter.
    """
    from services.catalog import SiteNotFound

    catalog = Catalog(engine)
    counter_id = None
    if counter is not None:
        info = catalog.counter(site, counter)
        site, counter, counter_id = info.site, info.name, info.id
    else:
        with read_session(engine) as s:
            if s.scalar(select(Site.id).where(Site.name == site)) is None:
                raise SiteNotFound(site)
    name = event_source_name(site, counter)
    token = new_token()
    expires = now_s() + ttl_s if ttl_s is not None else None
    with write_session(engine) as s:
        user = s.scalar(select(User).where(User.name == name).with_for_update())
        if user is None:
            user = User(name=name, role="events", sites=[site])
            s.add(user)
        user.role, user.sites, user.counter_id, user.active = "events", [site], counter_id, True
        s.flush()
        s.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label="events", expires_s=expires))
        audit.append(s, user_id=None, user_name=actor, action="token.issue", target=f"user:{name}",
                     detail=audit.expiry_detail(expires))
    return EventSourceToken(name, site, counter, token, expires)


def revoke_event_tokens(engine: Engine, *, site: str, counter: str | None = None, actor: str) -> int:
    """Revoke every token of the event source of ``site`` (``counter``); returns how many.

    Raises:
        UserNotFound: no such event source.
    """
    name = event_source_name(site, counter)
    with write_session(engine) as s:
        user = _user(s, name)
        n = len(list(s.scalars(select(ApiToken.id).where(ApiToken.user_id == user.id))))
        s.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        audit.append(s, user_id=None, user_name=actor, action="token.revoke", target=f"user:{name}",
                     detail=audit.tokens_revoked_detail(n))
        return n
