"""Queries for operators: search, flags, status, show. Times are shown in each site's time zone."""
from __future__ import annotations

import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from counterwatch.commands.common import alarm_options, data_option, fail, open_engine, settings_of, site_option
from domain.vocab import FLAG_TYPES

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def _since(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).timestamp()
    except ValueError:
        fail(f"--since {value!r}: use ISO format, e.g. 2026-11-22 or 2026-11-22T09:00")


class _Clock:
    """Unix times as the site's local time."""

    def __init__(self, engine: Engine) -> None:
        from services.catalog import site_timezones

        self.zones = site_timezones(engine)

    def __call__(self, t: float, site: str) -> str:
        from domain.timezones import local_time

        return local_time(t, self.zones.get(site)).strftime("%Y-%m-%d %H:%M:%S")


@click.command()
@click.argument("query")
@click.option("--counter", "counter_name", default=None, help="Only this counter.")
@site_option
@click.option("--since", default=None, help="Only interactions from this time on (ISO date or date-time).")
@click.option("--limit", type=int, default=50)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per hit.")
@data_option
@click.pass_context
def search(ctx: click.Context, query: str, counter_name: str | None, site: str | None, since: str | None,
           limit: int, as_json: bool, data_dir: Path | None) -> None:
    """Find transcript lines matching QUERY: as written (substring: 下班 finds 快下班了), then
    sounding like it (烦不烦 finds 反不妨), then flags of a rule it names; the same hits, in the
    same order, as the console's search."""
    from services.rulebooks import current
    from services.search import SearchFilters, search_segments
    from storage.engine import read_session
    from transcribe.rules import load_rulebook

    s = settings_of(ctx, data_dir=data_dir)
    eng = open_engine(s)
    clock = _Clock(eng)
    with read_session(eng) as db:
        hits = search_segments(db, query, filters=SearchFilters(site=site, counter=counter_name,
                                                                since_s=_since(since)), limit=limit,
                               rulebook=current(db, load_rulebook(s.rules)))
    for h in hits:
        if as_json:
            click.echo(json.dumps({"interaction": h.interaction_id, "site": h.site, "counter": h.counter,
                                   "start": h.wall_start_s, "offset": round(h.offset_s, 2), "speaker": h.speaker,
                                   "match": h.match, "snippet": h.snippet}, ensure_ascii=False))
        else:
            click.echo(f"#{h.interaction_id}\t{h.site}/{h.counter}\t{clock(h.wall_start_s, h.site)}\t+{h.offset_s:6.1f}s\t"
                       f"{h.speaker}\t{h.snippet}")
    if not hits and not as_json:
        click.echo("no matches")


@click.command()
@click.option("--rule", default=None, help="Only this rule id, e.g. F-CLOSING.")
@click.option("--type", "kind", type=click.Choice(FLAG_TYPES), default=None)
@click.option("--counter", "counter_name", default=None, help="Only this counter.")
@site_option
@click.option("--limit", type=int, default=200)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per flag.")
@data_option
@click.pass_context
def flags(ctx: click.Context, rule: str | None, kind: str | None, counter_name: str | None, site: str | None,
          limit: int, as_json: bool, data_dir: Path | None) -> None:
    """List courtesy flags of analysed interactions, newest first."""
    from services.interactions import list_flags
    from storage.engine import read_session

    s = settings_of(ctx, data_dir=data_dir)
    eng = open_engine(s)
    clock = _Clock(eng)
    with read_session(eng) as db:
        rows = list_flags(db, None, rule=rule, type=kind, site=site, counter=counter_name, limit=limit)
    for f in rows:
        if as_json:
            click.echo(json.dumps({"id": f.id, "interaction": f.interaction_id, "site": f.site, "counter": f.counter,
                                   "start": f.wall_start_s, "type": f.type, "rule": f.rule, "phrase": f.phrase,
                                   "evidence": f.evidence, "offset": round(f.start_s, 2), "speaker": f.speaker,
                                   "confidence": round(f.confidence, 3), "review": f.review_state},
                                  ensure_ascii=False))
        else:
            what = f"{f.evidence} ({f.phrase})" if f.type == "forbidden" else "-"
            click.echo(f"#{f.interaction_id}\t{f.site}/{f.counter}\t{clock(f.wall_start_s, f.site)}\t+{f.start_s:6.1f}s\t"
                       f"{f.type}\t{f.rule}\t{f.confidence:.2f}\t{what}")
    if not rows and not as_json:
        click.echo("no flags")


@click.command()
@data_option
@click.pass_context
def status(ctx: click.Context, data_dir: Path | None) -> None:
    """Counters' health (heartbeat, input level, alarms) and the job queue."""
    from services import alarms as health
    from services.catalog import counters_status
    from storage.engine import read_session
    from storage.jobs import JobQueue

    s = settings_of(ctx, data_dir=data_dir)
    eng = open_engine(s)
    alarms = health.evaluate(eng, alarm_options(s))
    now = time.time()
    with read_session(eng) as db:
        for c in counters_status(db):
            age = f"{now - c.last_heartbeat_s:.0f}s ago" if c.last_heartbeat_s else "never"
            level = f"{c.last_level_dbfs:.0f} dBFS" if c.last_level_dbfs is not None else "-"
            click.echo(f"{c.site}/{c.name}\theartbeat {age}\tlevel {level}\tagent {c.agent_status}"
                       f"{'  暂停服务' if c.paused else ''}")
    for where, kind, detail in alarms:
        click.echo(f"ALARM {where} {kind}: {detail}")
    click.echo(f"jobs {json.dumps(JobQueue(eng).depth())}")
    if alarms:
        sys.exit(1)


@click.command()
@click.option("--counter", "counter_name", default=None, help="Only this counter.")
@site_option
@click.option("--limit", type=int, default=10, help="How many interactions (newest first).")
@click.option("--wait", "wait_s", type=float, default=0.0,
              help="First wait up to this many seconds for queued work to finish.")
@data_option
@click.pass_context
def show(ctx: click.Context, counter_name: str | None, site: str | None, limit: int, wait_s: float,
         data_dir: Path | None) -> None:
    """Print the newest interactions: transcript, speakers and flags."""
    from services.interactions import recent_interactions
    from storage.jobs import JobQueue

    s = settings_of(ctx, data_dir=data_dir)
    eng = open_engine(s)
    clock = _Clock(eng)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        depth = JobQueue(eng).depth()
        if depth and not any(depth.get(state) for state in ("queued", "running", "retrying")):
            break
        time.sleep(1.0)
    views = recent_interactions(eng, site=site, counter=counter_name, limit=limit)
    for v in views:
        click.echo(f"== #{v.id} {v.site}/{v.counter} {clock(v.wall_start_s, v.site)} ({v.duration_s:.0f} s, "
                   f"rulebook {v.rulebook_version})")
        for g in v.segments:
            click.echo(f"   {g.start_s:6.1f}-{g.end_s:6.1f}  {g.speaker:<8} {g.text}")
        for f in v.flags:
            what = f"{f.evidence} ({f.phrase})" if f.type == "forbidden" else ""
            click.echo(f"   FLAG {f.type:<16} {f.rule:<14} +{f.start_s:5.1f}s  conf {f.confidence:.2f}  {what}")
    if not views:
        click.echo("no interactions analysed yet")

