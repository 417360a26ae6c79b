"""Names people use: display names of sites (市民服务中心一楼), counters (3号窗口) and screens
(一楼大厅屏), set by the CLI and the API, read by the console, the reports and the screens.

Ids (``hall``, ``c1``, ``lobby``) stay in URLs and the API; a display name is what a person reads.
Without one, a counter reads as "<id> 号窗口" where the console shows it and "<id> 窗口" on the
screens' ticker; a site reads as its name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain import displaynames
from domain.displaynames import BadDisplayName, check_not_confusable
from services.accounts import Principal
from services.catalog import CounterNotFound, SiteNotFound
from storage.engine import write_session
from storage.tables import Counter, SignageScreen, Site, Staff

MAX_DISPLAY_CHARS = 100


def check_display_name(value: str, *, field: str = "display name") -> str:
    """``value`` NFKC-normalised and trimmed, by the one rule for names people read
    (:func:`domain.displaynames.check_display_name`: no controls, bidi overrides, zero-width or
    other hidden characters; 1-100 characters).

    Raises:
        BadDisplayName.
    """
    return displaynames.check_display_name(field, value, max_chars=MAX_DISPLAY_CHARS)


def counter_label(name: str, display_name: str | None) -> str:
    """How a person reads a counter: its display name, or "<name> 号窗口"."""
    return display_name or f"{name} 号窗口"


def site_label(name: str, title: str | None) -> str:
    return title or name


@dataclass(frozen=True)
class CounterName:
    id: int
    name: str
    display_name: str
    label: str


@dataclass(frozen=True)
class ScreenName:
    id: int
    name: str
    display_name: str
    label: str


@dataclass(frozen=True)
class SiteView:
    name: str
    display_name: str
    timezone: str
    counters: list[CounterName] = field(default_factory=list)
    screens: list[ScreenName] = field(default_factory=list)
    staff: list[str] = field(default_factory=list)
    #: days a staff member has to appeal a finding (services.appeals)
    appeal_window_days: int = 7


def list_sites(db: Session, user: Principal | None) -> list[SiteView]:
    """The sites ``user`` sees (None: all, the operator CLI), with their counters, screens and staff."""
    q = select(Site).order_by(Site.name)
    if user is not None and user.sites:
        q = q.where(Site.name.in_(user.sites))
    sites = list(db.scalars(q))
    ids = [s.id for s in sites]
    counters: dict[int, list[CounterName]] = {}
    for c in db.scalars(select(Counter).where(Counter.site_id.in_(ids)).order_by(Counter.name)):
        counters.setdefault(c.site_id, []).append(CounterName(c.id, c.name, c.display_name, counter_label(c.name, c.display_name)))
    screens: dict[int, list[ScreenName]] = {}
    for sc in db.scalars(select(SignageScreen).where(SignageScreen.site_id.in_(ids)).order_by(SignageScreen.name)):
        screens.setdefault(sc.site_id, []).append(ScreenName(sc.id, sc.name, sc.display_name, sc.display_name or sc.name))
    staff: dict[int, list[str]] = {}
    for site_id, name in db.execute(select(Staff.site_id, Staff.name).where(Staff.site_id.in_(ids)).order_by(Staff.name)):
        staff.setdefault(site_id, []).append(name)
    return [SiteView(s.name, site_label(s.name, s.title), s.timezone, counters.get(s.id, []), screens.get(s.id, []),
                     staff.get(s.id, []), s.appeal_window_days) for s in sites]


def set_site_display_name(engine: Engine, site: str, display_name: str, *, user: Principal | None = None) -> SiteView:
    """Set a site's display name (``user`` None: the operator CLI, every site).

    Raises:
        SiteNotFound; BadDisplayName.
    """
    value = check_display_name(display_name, field="site display name")
    with write_session(engine) as s:
        row = s.scalar(select(Site).where(Site.name == site))
        if row is None or (user is not None and not user.can_see(site)):
            raise SiteNotFound(site)
        check_not_confusable("site display name", value,
                             [t or n for n, t in s.execute(select(Site.name, Site.title).where(Site.id != row.id))])
        row.title = value
        return SiteView(row.name, value, row.timezone)


def set_counter_display_name(engine: Engine, counter_id: int, display_name: str, *,
                             user: Principal | None = None) -> CounterName:
    """Set a counter's display name.

    Raises:
        CounterNotFound; BadDisplayName.
    """
    value = check_display_name(display_name, field="counter display name")
    with write_session(engine) as s:
        row = s.execute(select(Counter, Site.name).join(Site, Counter.site_id == Site.id)
                        .where(Counter.id == counter_id)).first()
        if row is None or (user is not None and not user.can_see(row[1])):
            raise CounterNotFound(counter_id)
        c = row[0]
        check_not_confusable("counter display name", value, [
            counter_label(n, d) for n, d in s.execute(select(Counter.name, Counter.display_name).where(
                Counter.site_id == c.site_id, Counter.id != c.id))])
        c.display_name = value
        return CounterName(c.id, c.name, value, counter_label(c.name, value))


def set_screen_display_name(engine: Engine, screen: str, display_name: str, *,
                            user: Principal | None = None) -> ScreenName:
    """Set a screen's display name.

    Raises:
        NotFound ``screen_not_found``; BadDisplayName.
    """
    from services.signage import NotFoundHere

    value = check_display_name(display_name, field="screen display name")
    with write_session(engine) as s:
        row = s.execute(select(SignageScreen, Site.name).join(Site, SignageScreen.site_id == Site.id)
                        .where(SignageScreen.name == screen)).first()
        if row is None or (user is not None and not user.can_see(row[1])):
            raise NotFoundHere(f"screen {screen!r}", "screen_not_found", screen=screen)
        check_not_confusable("screen display name", value, [
            d or n for n, d in s.execute(select(SignageScreen.name, SignageScreen.display_name).where(
                SignageScreen.site_id == row[0].site_id, SignageScreen.id != row[0].id))])
        row[0].display_name = value
        return ScreenName(row[0].id, row[0].name, value, value)


def labels_of(db: Session) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """Every site's label by name and every counter's label by (site, counter): for views that
    name many of them (reports, exports)."""
    sites = {n: site_label(n, t) for n, t in db.execute(select(Site.name, Site.title))}
    counters = {(s, c): counter_label(c, d) for s, c, d in
                db.execute(select(Site.name, Counter.name, Counter.display_name).join(Site, Counter.site_id == Site.id))}
    return sites, counters


__all__ = ["BadDisplayName", "CounterName", "CounterNotFound", "ScreenName", "SiteNotFound", "SiteView", "check_display_name",
           "counter_label", "labels_of", "list_sites", "set_counter_display_name", "set_screen_display_name",
           "set_site_display_name", "site_label"]
