"""Emergency notices (interrupts) of the waiting-area screens: started with an optional expiry,
listed (those on the screens now, or the whole history: who started and cleared each), cleared.
An interrupt pre-empts every schedule on its screens (empty: every screen of the site) until it is
cleared or expires; the player checks the expiry itself (``signage.schedule.Interrupt.in_force``),
so a screen offline at that moment still stops showing it.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from domain.errors import Invalid, NotFound
from services.accounts import Principal
from services.catalog import visible_site
from signage.schedule import Interrupt
from storage.engine import write_session
from storage.tables import SignageInterrupt, SignageScreen, Site, now_s


class InterruptNotFound(NotFound):
    code = "interrupt_not_found"

    def __init__(self, interrupt_id: int) -> None:
        super().__init__(f"interrupt {interrupt_id}", "not found", interrupt_id=interrupt_id)


def interrupt_of(i: SignageInterrupt) -> Interrupt:
    return Interrupt(id=i.id, title=i.title, body=i.body, started_s=i.started_s, screens=frozenset(i.screens or ()),
                     expires_s=i.expires_s)


def in_force(at_s: float) -> ColumnElement[bool]:
    """Interrupts not expired at ``at_s``."""
    return or_(SignageInterrupt.expires_s.is_(None), SignageInterrupt.expires_s > at_s)


def interrupts_open_at(db: Session, site_id: int, at_s: float) -> tuple[Interrupt, ...]:
    """The site's interrupts that were open at ``at_s``: started by then and neither cleared nor
    expired by then (one never cleared and without an expiry stays open)."""
    return tuple(interrupt_of(i) for i in db.scalars(select(SignageInterrupt).where(
        SignageInterrupt.site_id == site_id, SignageInterrupt.started_s <= at_s, in_force(at_s),
        or_(SignageInterrupt.cleared_s.is_(None), SignageInterrupt.cleared_s > at_s))))


@dataclass(frozen=True)
class InterruptView:
    """``state``: active (on the screens), cleared (ended by a person) or expired."""

    id: int
    site: str
    title: str
    body: str
    screens: list[str]
    started_s: float
    cleared_s: float | None
    expires_s: float | None = None
    created_by: str = ""
    cleared_by: str = ""
    state: str = "active"


def interrupt_view(i: SignageInterrupt, site: str) -> InterruptView:
    state = "cleared" if i.cleared_s is not None else "expired" if i.expires_s is not None and i.expires_s <= now_s() \
        else "active"
    return InterruptView(i.id, site, i.title, i.body, list(i.screens or []), i.started_s, i.cleared_s, i.expires_s,
                         i.created_by, i.cleared_by, state)


def add_interrupt(engine: Engine, user: Principal, *, site: str, title: str, body: str,
                  screens: list[str], expires_s: float | None = None) -> InterruptView:
    """An emergency notice: pre-empts every schedule on its screens (empty: all) until cleared or
    until ``expires_s`` (None: until cleared).

    Raises:
        SiteNotFound; Invalid ``bad_expiry`` (an expiry not in the future); NotFoundHere
        ``screen_not_found`` (a screen that is not the site's).
    """
    with write_session(engine) as s:
        site_row = visible_site(s, user, site)
        now = now_s()
        if expires_s is not None and expires_s <= now:
            raise Invalid("interrupt", f"expires_s {expires_s} is not in the future", code="bad_expiry")
        known = {r.name for r in s.scalars(select(SignageScreen).where(SignageScreen.site_id == site_row.id))}
        for name in screens:
            if name not in known:
                raise NotFound(f"screen {name!r}", "not found at this site", code="screen_not_found", screen=name)
        row = SignageInterrupt(site_id=site_row.id, title=title, body=body, screens=screens, started_s=now,
                               expires_s=expires_s, created_by=user.name)
        s.add(row)
        s.flush()
        return interrupt_view(row, site)


def list_interrupts(db: Session, user: Principal, site: str, *, open_only: bool = True) -> list[InterruptView]:
    """The site's emergency notices, newest first: only those on the screens now (neither cleared
    nor expired) unless ``open_only`` is off (the history)."""
    s = visible_site(db, user, site)
    q = select(SignageInterrupt).where(SignageInterrupt.site_id == s.id)
    if open_only:
        q = q.where(SignageInterrupt.cleared_s.is_(None), in_force(now_s()))
    rows = db.scalars(q.order_by(SignageInterrupt.started_s.desc(), SignageInterrupt.id.desc()).limit(500))
    return [interrupt_view(r, site) for r in rows]


def clear_interrupt(engine: Engine, user: Principal, interrupt_id: int) -> InterruptView:
    with write_session(engine) as s:
        row = s.execute(select(SignageInterrupt, Site.name).join(Site, SignageInterrupt.site_id == Site.id)
                        .where(SignageInterrupt.id == interrupt_id)).first()
        if row is None or not user.can_see(row[1]):
            raise InterruptNotFound(interrupt_id)
        if row[0].cleared_s is None:
            row[0].cleared_s, row[0].cleared_by = now_s(), user.name
        return interrupt_view(row[0], row[1])
