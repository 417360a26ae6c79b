"""Operations commands: verify a day's recordings, retention, legal hold (issue 6)."""
from __future__ import annotations

import datetime as dt
import getpass
import logging
import sys
from pathlib import Path

import click

from counterwatch.cli import _settings, cli
from counterwatch.cli_pipeline import _engine, _fail, _store, data_option, site_option

logger = logging.getLogger("counterwatch")

EXIT_BROKEN = 1
EXIT_UNREACHABLE = 4


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        _fail(f"--date {value!r}: use YYYY-MM-DD")


@cli.command()
@click.option("--counter", "counter_name", required=True, help="Counter name (or its numeric id).")
@site_option
@click.option("--date", "date_str", required=True, help="Day to verify, YYYY-MM-DD in the site's time zone.")
@data_option
@click.pass_context
def verify(ctx: click.Context, counter_name: str, site: str | None, date_str: str, data_dir: Path | None) -> None:
    """Prove a counter's day of recording is complete and unaltered.

    Re-reads every chunk of the day from the store and checks its sha256, the counter's hash
    chain and the sample continuity within each session. Prints OK, or the first broken link
    (key and what broke). Exit status 1 when something is broken, 4 when the store cannot be
    reached.
    """
    from sqlalchemy.orm import Session

    from storage.catalog import CatalogError
    from storage.db import Counter, Site
    from storage.integrity import day_bounds, verify_day
    from storage.objects import StoreUnavailable

    s = _settings(ctx, site=site, data_dir=data_dir)
    day = _date(date_str)
    eng = _engine(s)
    with Session(eng) as db:
        row = db.query(Counter, Site).join(Site).filter(Site.name == s.site, Counter.name == counter_name).first()
        if row is None and counter_name.isdigit():
            c = db.get(Counter, int(counter_name))
            row = (c, db.get(Site, c.site_id)) if c else None
        if row is None:
            _fail(str(CatalogError(f"counter {s.site}/{counter_name}", "not registered")))
        counter, site_row = row
        cid, where, tz = counter.id, f"{site_row.name}/{counter.name}", site_row.timezone
    start, end = day_bounds(day, tz)
    try:
        report = verify_day(eng, _store(s), counter_id=cid, start_s=start, end_s=end)
    except StoreUnavailable as e:
        click.echo(f"error: store unreachable, nothing verified: {e}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    hours = report.samples / 16000 / 3600 if report.chunks else 0.0
    if report.ok:
        note = " (chain anchored on a chunk removed by retention)" if report.anchored_after_retention else ""
        click.echo(f"OK {where} {day} ({tz}): {report.chunks} chunks verified, chain intact{note}")
        if not report.chunks:
            click.echo("note: no chunks recorded that day")
        return
    first = report.first
    click.echo(f"BROKEN {where} {day} ({tz}): first broken link at {first.key}: {first.what}")
    for p in report.problems[1:]:
        click.echo(f"  also {p.key}: {p.what}")
    click.echo(f"{len(report.problems)} problem(s) in {report.chunks} chunks (~{hours:.1f} h at 16 kHz)")
    sys.exit(EXIT_BROKEN)


@cli.command()
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
@data_option
@click.pass_context
def retention(ctx: click.Context, dry_run: bool, data_dir: Path | None) -> None:
    """Delete recordings past their site's retention date (run daily, e.g. a systemd timer).

    Audio chunks (objects and rows), interactions, segments and flags go together; interactions
    under a legal hold (`counterwatch hold`) or an open complaint stay, with the audio they
    need. Every deletion is logged and written to the audit log (retention.delete).
    """
    from storage import retention as ret

    s = _settings(ctx, data_dir=data_dir)
    eng = _engine(s)
    p = ret.plan(eng)
    for line in ret.describe(p):
        click.echo(("would " if dry_run and line.startswith("delete") else "") + line)
    if dry_run:
        click.echo(f"dry run: {len(p.interactions)} interaction(s) and {p.chunk_count} chunk(s) would be deleted, "
                   f"{len(p.kept)} kept past retention")
        return
    result = ret.apply(eng, _store(s), p)
    click.echo(f"retention: deleted {result.interactions} interaction(s), {result.chunks} chunk(s), "
               f"{result.sessions} session(s); {len(p.kept)} kept past retention")
    for line in result.locked:      # Object Lock still holds them: reported, retried next run
        click.echo(f"kept (object lock): {line}")
    if result.errors:
        for e in result.errors:
            click.echo(f"error: {e}", err=True)
        sys.exit(1)


@cli.command()
@click.argument("interaction_id", type=click.IntRange(1))
@click.option("--reason", default="", help="Why it is held (e.g. a case or complaint number); needed to hold.")
@click.option("--release", is_flag=True, help="Release the hold instead.")
@data_option
@click.pass_context
def hold(ctx: click.Context, interaction_id: int, reason: str, release: bool, data_dir: Path | None) -> None:
    """Put INTERACTION_ID under legal hold (retention keeps it and its audio) or --release it."""
    from storage.retention import HoldError, set_hold

    s = _settings(ctx, data_dir=data_dir)
    try:
        set_hold(_engine(s), interaction_id, hold=not release, reason=reason, actor=f"cli:{getpass.getuser()}")
    except HoldError as e:
        _fail(str(e))
    click.echo(f"interaction #{interaction_id} {'released' if release else 'held: ' + reason}")


@cli.group()
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
    header's MD5 of the samples when the store lost the metadata), and registers the missing
    ones in recording order as the agents do: the counter's hash chain continues and the
    sessions are queued for transcription. Running it again registers nothing. Exit status 1
    when an object could not be registered, 4 when the store cannot be reached.
    """
    from storage.objects import StoreUnavailable
    from storage.rescan import RescanError, rescan

    s = _settings(ctx, data_dir=data_dir)
    only_site = site or (s.site if counter_name else None)
    since = _date(since_str) if since_str else None
    try:
        report = rescan(_engine(s), _store(s), site=only_site, counter=counter_name, since=since, dry_run=dry_run)
    except RescanError as e:
        _fail(str(e))
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
