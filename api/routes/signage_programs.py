"""Waiting-area screens' programme: playlists of content, schedules that play them on screens
and groups, and emergency notices (interrupts) that pre-empt everything."""
from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import ReadDb, RowId, Supervisor, Writer, audit
from api.schemas_signage import (
    InterruptCreate,
    LayoutCreate,
    LayoutPublic,
    PlaylistCreate,
    PlaylistPublic,
    ScheduleCreate,
    SchedulePublic,
)
from services import signage, signage_interrupts, signage_layouts, signage_report
from services.signage import InterruptView

router = APIRouter(prefix="/signage", tags=["signage"])


def _items(body: PlaylistCreate) -> list[tuple[int, float]]:
    return [(i.content_id, i.duration_s) for i in body.items]


@router.post("/playlists", response_model=PlaylistPublic, status_code=201)
def add_playlist(body: PlaylistCreate, user: Supervisor, engine: Writer, request: Request) -> PlaylistPublic:
    p = PlaylistPublic.model_validate(signage.add_playlist(engine, user, site=body.site,
                                                           name=body.name, items=_items(body)))
    audit(request, user, action="playlist.create", target=f"playlist:{p.id}", detail=f"服务点 {body.site}：{body.name}")
    return p


@router.put("/playlists/{playlist_id}", response_model=PlaylistPublic)
def replace_playlist(playlist_id: RowId, body: PlaylistCreate, user: Supervisor, engine: Writer, request: Request) -> PlaylistPublic:
    """Replace a playlist's name and items (validated like a new one); schedules that play it
    play the new items from their next manifest poll."""
    p = PlaylistPublic.model_validate(signage.replace_playlist(engine, user, playlist_id,
                                                               site=body.site, name=body.name, items=_items(body)))
    audit(request, user, action="playlist.replace", target=f"playlist:{playlist_id}", detail=f"服务点 {body.site}：{body.name}")
    return p


@router.delete("/playlists/{playlist_id}", status_code=204)
def delete_playlist(playlist_id: RowId, user: Supervisor, engine: Writer, request: Request) -> Response:
    """Delete a playlist no schedule plays (409 naming the schedules that do)."""
    signage.delete_playlist(engine, user, playlist_id)
    audit(request, user, action="playlist.delete", target=f"playlist:{playlist_id}")
    return Response(status_code=204)


@router.get("/playlists", response_model=list[PlaylistPublic])
def list_playlists(user: Supervisor, db: ReadDb, site: str = Query(min_length=1, max_length=63)) -> list[PlaylistPublic]:
    return [PlaylistPublic.model_validate(p) for p in signage.list_playlists(db, user, site)]


def _regions(body: LayoutCreate) -> list[dict]:
    return [r.model_dump() for r in body.regions]


@router.post("/layouts", response_model=LayoutPublic, status_code=201)
def add_layout(body: LayoutCreate, user: Supervisor, engine: Writer, request: Request) -> LayoutPublic:
    """A screen layout: regions in thousandths of the screen (exactly one ``main``: the
    schedule's playlist; widgets ``clock``, ``ticker``, ``queue_board``). 422 ``bad_region`` /
    ``bad_layout`` naming the ``field`` (a region outside the screen, overlapping another)."""
    lay = LayoutPublic.model_validate(signage_layouts.add_layout(engine, user, site=body.site,
                                                                 name=body.name, regions=_regions(body)))
    audit(request, user, action="layout.create", target=f"layout:{lay.id}", detail=f"服务点 {body.site}：{body.name}")
    return lay


@router.put("/layouts/{layout_id}", response_model=LayoutPublic)
def replace_layout(layout_id: RowId, body: LayoutCreate, user: Supervisor, engine: Writer, request: Request) -> LayoutPublic:
    """Replace a layout's name and regions (validated like a new one); a layout cannot move to another site."""
    lay = LayoutPublic.model_validate(signage_layouts.replace_layout(engine, user, layout_id,
                                                                     name=body.name, regions=_regions(body)))
    audit(request, user, action="layout.replace", target=f"layout:{layout_id}", detail=f"服务点 {lay.site}：{body.name}")
    return lay


@router.get("/layouts", response_model=list[LayoutPublic])
def list_layouts(user: Supervisor, db: ReadDb, site: str = Query(min_length=1, max_length=63)) -> list[LayoutPublic]:
    return [LayoutPublic.model_validate(lay) for lay in signage_layouts.list_layouts(db, user, site)]


@router.delete("/layouts/{layout_id}", status_code=204)
def delete_layout(layout_id: RowId, user: Supervisor, engine: Writer, request: Request) -> Response:
    """Delete a layout no schedule uses (409 ``in_use`` naming the schedules that do)."""
    signage_layouts.delete_layout(engine, user, layout_id)
    audit(request, user, action="layout.delete", target=f"layout:{layout_id}")
    return Response(status_code=204)


def _schedule_public(row: dict, site: str) -> SchedulePublic:
    return SchedulePublic(site=site, **row)


@router.post("/schedules", response_model=SchedulePublic, status_code=201)
def add_schedule(body: ScheduleCreate, user: Supervisor, engine: Writer, request: Request) -> SchedulePublic:
    """Assign a playlist to screens and groups. 422 with ``code`` and ``reason`` when invalid
    or when it overlaps a schedule of the same priority on a shared screen (both named)."""
    raw = body.model_dump(exclude={"site"})
    raw.update(start_date=body.start_date.isoformat() if body.start_date else None,
               end_date=body.end_date.isoformat() if body.end_date else None)
    schedule_id, row = signage.add_schedule(engine, user, site=body.site, raw=raw)
    audit(request, user, action="schedule.create", target=f"schedule:{schedule_id}",
          detail=f"服务点 {body.site}：排期播放节目单 #{body.playlist_id}")
    return _schedule_public(row, body.site)


@router.put("/schedules/{schedule_id}", response_model=SchedulePublic)
def update_schedule(schedule_id: RowId, body: ScheduleCreate, user: Supervisor, engine: Writer, request: Request) -> SchedulePublic:
    """Replace a schedule's fields (validated like a new one, against the site's other schedules;
    the site cannot change)."""
    raw = body.model_dump(exclude={"site"})
    raw.update(start_date=body.start_date.isoformat() if body.start_date else None,
               end_date=body.end_date.isoformat() if body.end_date else None)
    site, row = signage.update_schedule(engine, user, schedule_id, raw=raw)
    audit(request, user, action="schedule.replace", target=f"schedule:{schedule_id}", detail=f"服务点 {site}")
    return _schedule_public(row, site)


@router.get("/schedules", response_model=list[SchedulePublic])
def list_schedules(user: Supervisor, db: ReadDb, site: str = Query(min_length=1, max_length=63)) -> list[SchedulePublic]:
    return [_schedule_public(r, site) for r in signage.list_schedules(db, user, site)]


@router.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(schedule_id: RowId, user: Supervisor, engine: Writer, request: Request) -> Response:
    signage.delete_schedule(engine, user, schedule_id)
    audit(request, user, action="schedule.delete", target=f"schedule:{schedule_id}")
    return Response(status_code=204)


@router.post("/interrupts", response_model=InterruptView, status_code=201)
def add_interrupt(body: InterruptCreate, user: Supervisor, engine: Writer, request: Request) -> InterruptView:
    """An emergency notice: pre-empts every schedule on its screens until cleared or until
    ``expires_s``; who started it is kept."""
    notice = signage_interrupts.add_interrupt(engine, user, site=body.site, title=body.title,
                                              body=body.body, screens=body.screens, expires_s=body.expires_s)
    audit(request, user, action="interrupt.create", target=f"site:{body.site}",
          detail=f"紧急通知 #{notice.id}（{'信息屏 ' + '、'.join(body.screens) if body.screens else '全部信息屏'}）：{body.title}")
    return notice


@router.get("/interrupts", response_model=list[InterruptView])
def list_interrupts(user: Supervisor, db: ReadDb, site: str = Query(min_length=1, max_length=63),
                    open_only: bool = Query(True, alias="open")) -> list[InterruptView]:
    """The site's emergency notices, newest first: only those on the screens now unless
    ``open=false`` (the history, with who started and cleared each and whether it expired)."""
    return signage_interrupts.list_interrupts(db, user, site, open_only=open_only)


@router.post("/interrupts/{interrupt_id}/clear", response_model=InterruptView)
def clear_interrupt(interrupt_id: RowId, user: Supervisor, engine: Writer, request: Request) -> InterruptView:
    notice = signage_interrupts.clear_interrupt(engine, user, interrupt_id)
    audit(request, user, action="interrupt.clear", target=f"site:{notice.site}",
          detail=f"撤下紧急通知 #{interrupt_id}：{notice.title}")
    return notice


@router.get("/plays/report", response_model=signage_report.PlayReport,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def plays_report(user: Supervisor, db: ReadDb, site: str = Query(min_length=1, max_length=63),
                 since_s: float = Query(ge=0, le=1e11), until_s: float = Query(ge=0, le=1e11),
                 format: Literal["json", "csv"] = "json") -> signage_report.PlayReport | Response:  # noqa: A002
    """Proof of play per content item of the site's screens, plays started in [since_s, until_s):
    plays, skips, seconds, screens, first and last; totals; CSV with Chinese headers."""
    report = signage_report.plays_report(db, user, site=site, since_s=since_s, until_s=until_s)
    if format == "csv":
        return Response("\ufeff" + signage_report.to_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="plays-{site}.csv"'})
    return report


@router.get("/plays/share", response_model=signage_report.ShareReport)
def share_report(user: Supervisor, db: ReadDb, site: str = Query(min_length=1, max_length=63),
                 since_s: float = Query(ge=0, le=1e11), until_s: float = Query(ge=0, le=1e11)) -> signage_report.ShareReport:
    """Share of voice of the site's interrupt content (schedules with ``share_s_per_hour``), plays
    in [since_s, until_s) (at most 31 days): per schedule, screen and site-local clock hour the
    seconds played against the share asked for and the seconds due; totals per schedule and screen."""
    return signage_report.share_report(db, user, site=site, since_s=since_s, until_s=until_s)
