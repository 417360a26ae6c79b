"""Screen layouts of a site (signage.layout): create, replace, list, delete. A schedule names
one (``layout_id``); screens get it with their manifest."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from domain.displaynames import check_display_name
from domain.errors import Conflict, NotFound
from services.accounts import Principal
from services.catalog import visible_site
from signage.layout import Layout, LayoutError, Region, layout_to_dict, regions_from_list, validate_layout
from storage.engine import write_session
from storage.tables import SignageContent, SignageLayout, SignagePlaylist, SignageSchedule, Site


@dataclass(frozen=True)
class LayoutView:
    id: int
    site: str
    name: str
    regions: list[dict]


def _regions(regions: list[dict]) -> tuple[Region, ...]:
    """Validated (LayoutError naming the field)."""
    parsed: tuple[Region, ...] = regions_from_list(regions)
    validate_layout(parsed)
    return parsed


def _stored(db: Session, site_id: int, regions: tuple[Region, ...]) -> list[dict]:
    """The regions in their stored form, once each ``playlist`` region's playlist is found at the
    site with images only (a region shows stills; the one video player is the main region's), and
    each ticker's playlist with text announcements only."""
    for n, r in enumerate(regions):
        if r.playlist_id is None:
            continue
        wanted = "image" if r.kind == "playlist" else "text"
        pl = db.scalar(select(SignagePlaylist).where(SignagePlaylist.id == r.playlist_id,
                                                     SignagePlaylist.site_id == site_id))
        ids = [int(i["content_id"]) for i in (pl.items or [])] if pl is not None else []
        kinds = set(db.scalars(select(SignageContent.kind).where(SignageContent.id.in_(ids)))) if ids else set()
        if pl is None or kinds != {wanted}:
            raise LayoutError("bad_region", f"regions[{n}].playlist_id",
                              f"region {n}: no playlist of {wanted}s with id {r.playlist_id} at this site",
                              problem="playlist" if wanted == "image" else "ticker_playlist")
    return layout_to_dict(Layout(0, "", regions))["regions"]


def add_layout(engine: Engine, user: Principal, *, site: str, name: str, regions: list[dict]) -> LayoutView:
    """Raises SiteNotFound; LayoutError (422 naming the field: a region outside the screen,
    overlapping another, not exactly one main region)."""
    name = check_display_name("layout", name)
    parsed = _regions(regions)
    with write_session(engine) as s:
        site_id = visible_site(s, user, site).id
        row = SignageLayout(site_id=site_id, name=name, regions=_stored(s, site_id, parsed))
        s.add(row)
        s.flush()
        return LayoutView(row.id, site, row.name, list(row.regions))


def _row(db: Session, user: Principal, layout_id: int) -> tuple[SignageLayout, str]:
    found = db.execute(select(SignageLayout, Site.name).join(Site, SignageLayout.site_id == Site.id)
                       .where(SignageLayout.id == layout_id)).first()
    if found is None or not user.can_see(found[1]):
        raise NotFound(f"layout {layout_id}", "no such layout in your sites", code="layout_not_found",
                       layout_id=layout_id)
    return found[0], found[1]


def replace_layout(engine: Engine, user: Principal, layout_id: int, *, name: str, regions: list[dict]) -> LayoutView:
    """A layout's new name and regions (validated like a new one); its screens show them from
    their next manifest poll. Raises NotFound ``layout_not_found``; LayoutError."""
    name = check_display_name("layout", name)
    parsed = _regions(regions)
    with write_session(engine) as s:
        row, site = _row(s, user, layout_id)
        row.name, row.regions = name, _stored(s, row.site_id, parsed)
        return LayoutView(row.id, site, row.name, list(row.regions))


def delete_layout(engine: Engine, user: Principal, layout_id: int) -> None:
    """Delete a layout no schedule uses (Conflict ``in_use`` naming the schedules that do)."""
    with write_session(engine) as s:
        row, _site = _row(s, user, layout_id)
        users = list(s.scalars(select(SignageSchedule.id).where(SignageSchedule.layout_id == row.id)
                               .order_by(SignageSchedule.id)))
        if users:
            raise Conflict(f"layout {row.id}", f"is used by schedule(s) {', '.join(map(str, users))}",
                           code="in_use", schedule_ids=users)
        s.delete(row)


def list_layouts(db: Session, user: Principal, site: str) -> list[LayoutView]:
    s = visible_site(db, user, site)
    return [LayoutView(r.id, site, r.name, list(r.regions or [])) for r in
            db.scalars(select(SignageLayout).where(SignageLayout.site_id == s.id).order_by(SignageLayout.id))]
