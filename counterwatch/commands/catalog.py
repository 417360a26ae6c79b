"""The catalog: counters, hall events, staff on duty, rescans (users: :mod:`counterwatch.commands.users`)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from counterwatch.commands.common import cli_actor, data_option, fail, open_engine, open_store, settings_of, site_option
from counterwatch.commands.ops import EXIT_BROKEN, EXIT_UNREACHABLE, parse_date
from domain.vocab import CHANNELS, DEFAULT_CHANNELS, EVENT_KINDS, RATING_LEVELS


@click.group()
def counter() -> None:
    """Register and list counters (窗口)."""


@counter.command("add")
@click.argument("name")
@site_option
@click.option("--channels", type=click.Choice(CHANNELS), default=DEFAULT_CHANNELS,
              help="Which side each stereo channel of this counter's intercom carries.")
@click.option("--display-name", default=None,
              help="What people call the counter (3号窗口): the console and the screens' ticker show it.")
@data_option
@click.pass_context
def counter_add(ctx: click.Context, name: str, site: str | None, channels: str, display_name: str | None,
                data_dir: Path | None) -> None:
    """Register counter NAME (idempotent; updates its channel map and, if given, its display name)."""
    from services.catalog import Catalog

    s = settings_of(ctx, site=site, data_dir=data_dir)
    engine = open_engine(s)
    info = Catalog(engine).add_counter(s.site, name, channels=channels, display_name=display_name)
    shown = f" display-name={display_name.strip()}" if display_name else ""
    click.echo(f"counter {info.site}/{info.name} (#{info.id}) channels={info.channels}{shown}")
    token = _embedded_agent_token(s, engine, site=info.site, counter=info.name)
    if token is not None:
        click.echo(f"agent token written to {token}")


@counter.command("list")
@data_option
@click.pass_context
def counter_list(ctx: click.Context, data_dir: Path | None) -> None:
    """List counters with their display names and channel maps."""
    from services.names import list_sites
    from storage.engine import read_session

    s = settings_of(ctx, data_dir=data_dir)
    with read_session(open_engine(s)) as db:
        for site in list_sites(db, None):
            for c in site.counters:
                click.echo(f"{site.name}/{c.name}\t#{c.id}\t{c.label}")


@click.group()
def site() -> None:
    """Sites (服务点) and the names people use for them."""


@site.command("set")
@click.argument("name")
@click.option("--display-name", required=True, help="What people call the site (市民服务中心一楼): the console, "
              "the reports and the screens show it.")
@data_option
@click.pass_context
def site_set(ctx: click.Context, name: str, display_name: str, data_dir: Path | None) -> None:
    """Set site NAME's display name."""
    from services.names import set_site_display_name

    s = settings_of(ctx, data_dir=data_dir)
    view = set_site_display_name(open_engine(s), name, display_name)
    click.echo(f"site {view.name}: display name {view.display_name}")


@click.command()
@click.argument("kind", type=click.Choice(EVENT_KINDS))
@click.option("--counter", "counter_name", required=True, help="Counter name.")
@site_option
@click.option("--at", "at_s", type=float, default=None, help="Unix time of the event (default: now).")
@click.option("--ticket", default=None, help="Queue ticket (queue_call), e.g. A012.")
@click.option("--level", type=click.Choice(RATING_LEVELS), default=None,
              help="Rating level (rating).")
@data_option
@click.pass_context
def event(ctx: click.Context, kind: str, counter_name: str, site: str | None, at_s: float | None,
          ticket: str | None, level: str | None, data_dir: Path | None) -> None:
    """Record a hall event: a queue call, a rating press, or a pause/resume (暂停服务).

    Queue calls and rating presses bound interactions in the recordings.
    """
    from services.catalog import Catalog

    s = settings_of(ctx, site=site, data_dir=data_dir)
    if kind == "rating" and not level:
        fail("a rating needs --level")
    payload = {k: v for k, v in (("ticket", ticket), ("level", level)) if v}
    eid = Catalog(open_engine(s)).add_event(s.site, counter_name, kind=kind, at_s=at_s or time.time(), payload=payload)
    click.echo(f"event #{eid} {kind} {s.site}/{counter_name} {json.dumps(payload, ensure_ascii=False)}")


@click.group()
def staff() -> None:
    """Who is on duty at which counter (interactions and reports are attributed to them)."""


@staff.command("on")
@click.argument("name")
@click.option("--counter", "counter_name", required=True)
@site_option
@click.option("--at", "at_s", type=float, default=None, help="Unix time the shift starts (default: now).")
@data_option
@click.pass_context
def staff_on(ctx: click.Context, name: str, counter_name: str, site: str | None, at_s: float | None,
             data_dir: Path | None) -> None:
    """NAME starts a shift at the counter (ending whoever was on duty there)."""
    from services.catalog import Catalog

    s = settings_of(ctx, site=site, data_dir=data_dir)
    sid = Catalog(open_engine(s)).start_shift(s.site, counter_name, name, at_s=at_s)
    click.echo(f"shift #{sid}: {name} on duty at {s.site}/{counter_name}")


@staff.command("off")
@click.option("--counter", "counter_name", required=True)
@site_option
@click.option("--at", "at_s", type=float, default=None, help="Unix time the shift ends (default: now).")
@data_option
@click.pass_context
def staff_off(ctx: click.Context, counter_name: str, site: str | None, at_s: float | None,
              data_dir: Path | None) -> None:
    """End the shift at the counter."""
    from services.catalog import Catalog

    s = settings_of(ctx, site=site, data_dir=data_dir)
    n = Catalog(open_engine(s)).end_shift(s.site, counter_name, at_s=at_s)
    click.echo(f"{n} shift(s) ended at {s.site}/{counter_name}")


@click.group()
def catalog() -> None:
    """Maintain the chunk catalog (after a database restore)."""


@catalog.command("rescan")
@click.option("--counter", "counter_name", default=None, help="Only this counter (of --site).")
@site_option
@click.option("--since", "since_str", default=None,
              help="Only sessions that started on or after this UTC date, YYYY-MM-DD.")
@click.option("--dry-run", is_flag=True, help="Print what would be registered; register nothing.")
@data_option
@click.pass_context
def catalog_rescan(ctx: click.Context, counter_name: str | None, site: str | None, since_str: str | None,
                   dry_run: bool, data_dir: Path | None) -> None:
    """Register chunk objects that the catalog lacks (e.g. stored after the last backup).

    Lists chunk objects in the store, checks each one (its stored sha256, or the FLAC
    header's MD5 of the samples when the store lost the metadata) and, as an agent's upload is
    checked, its claimed time (against the object's date, COUNTERWATCH_AGENT_BACKLOG_DAYS and
    the site's retention), its place in its recording and that its audio is no replay (of a
    stored chunk, or of one retention deleted); registers the missing ones in recording order
    as the agents do: the counter's hash chain continues and the sessions are queued for
    transcription. Running it again registers nothing. Exit status 1 when an object could not
    be registered (each named, with why, on stderr), 4 when the store cannot be reached.
    """
    from counterwatch.commands.services import evidence_limits
    from services.rescan import rescan
    from storage.store_errors import StoreUnavailable

    s = settings_of(ctx, data_dir=data_dir)
    only_site = site or (s.site if counter_name else None)
    since = parse_date(since_str, "--since") if since_str else None
    try:
        report = rescan(open_engine(s), open_store(s), site=only_site, counter=counter_name, since=since, dry_run=dry_run,
                        limits=evidence_limits(s), actor=cli_actor())
    except StoreUnavailable as e:
        click.echo(f"error: store unreachable: {e}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    verb = "would register" if dry_run else "registered"
    for r in report.found:
        note = " (session start estimated from the store's date)" if r.wall_estimated else ""
        click.echo(f"{verb} {r.meta.key} seq {r.meta.seq} samples {r.meta.start_sample}+{r.meta.samples} "
                   f"from {r.source}{note}")
    for p in report.problems:
        click.echo(f"skip {p.key}: {p.what}", err=True)
    done = len(report.found) if dry_run else report.registered
    click.echo(f"rescan: {report.listed} chunk object(s), {report.known} already catalogued, {done} {verb}"
               f"{'' if dry_run else f' in {len(report.sessions)} session(s) queued for transcription'}, "
               f"{len(report.problems)} problem(s)")
    if report.problems:
        sys.exit(EXIT_BROKEN)



def _embedded_agent_token(s, engine, *, site: str, counter: str) -> Path | None:  # noqa: ANN001
    """On an embedded stack (DATA/stack.json), the counter's agent token in DATA/agents at once,
    so `record --counter NAME` typed next finds it (issue 18; `up` issues the missing ones at
    its start). None: not an embedded stack, or the token is there already."""
    from counterwatch.stack import paths, write_secret
    from services.tokens import issue_agent_token

    p = paths(s)
    path = p.agents / f"{counter}.token"
    if not p.state.exists() or path.exists():
        return None
    t = issue_agent_token(engine, site=site, counter=counter, actor="counter add")
    write_secret(path, t.token + "\n")
    return path
