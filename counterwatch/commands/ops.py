"""Operations: verify a day's recordings, retention, legal hold, schema migrations."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from counterwatch.commands.common import cli_actor, data_option, fail, open_engine, open_store, settings_of, site_option
from counterwatch.settings import Settings
from counterwatch.stack import database_url, paths, redact_url
from domain.audio import SAMPLE_RATE_HZ

if TYPE_CHECKING:
    from services.integrity import DayReport

EXIT_BROKEN = 1
EXIT_UNREACHABLE = 4


def parse_date(value: str, option: str = "--date") -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        fail(f"{option} {value!r}: use YYYY-MM-DD")


@click.command()
@click.option("--counter", "counter_name", default=None, help="Counter name (or its numeric id).")
@site_option
@click.option("--date", "date_str", default=None, help="Day to verify, YYYY-MM-DD in the site's time zone.")
@click.option("--audit", "audit_log", is_flag=True, help="Verify the audit log's hash chain instead.")
@data_option
@click.pass_context
def verify(ctx: click.Context, counter_name: str | None, site: str | None, date_str: str | None, audit_log: bool,
           data_dir: Path | None) -> None:
    """Prove a counter's day of recording (--counter, --date), or the audit log (--audit), is
    complete and unaltered.

    A day: re-reads every chunk of the day from the store and checks its sha256, the counter's
    hash chain (in the order the server received the chunks) and the sample continuity within
    each session. Prints OK, or the first broken link (key and what broke); a recording that
    claims time another one, received earlier, covers is named as a replay or forged insertion.
    Recordings that reached the server long after their claimed time are listed as 补传 (uploaded
    late, by how long; both times). Exit status 1 when something is broken, 4 when the store
    cannot be reached.

    --audit: walks the audit log and checks every row's link to the row before and its own
    hash; prints OK with the number of rows and the head hash (note it elsewhere: rows cut off
    the end leave a shorter valid chain), or the first broken row. Exit status 1 when broken.
    """
    s = settings_of(ctx, site=site, data_dir=data_dir)
    if audit_log:
        _verify_audit(s)
        return
    if not (counter_name and date_str):
        fail("give --counter and --date (a day of recording), or --audit")
    _verify_day(s, counter_name, date_str)


def _verify_audit(s: Settings) -> None:
    from services.audit import verify_chain

    report = verify_chain(open_engine(s))
    if report.ok:
        click.echo(f"OK audit log: {report.rows} rows, chain intact, head {report.head_sha256}")
        return
    click.echo(f"BROKEN audit log: row {report.broken_id} {report.problem} ({report.rows} rows before it verified)")
    sys.exit(EXIT_BROKEN)


def _utc(t: float) -> str:
    return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _echo_late(report: DayReport) -> None:
    """The day's recordings uploaded late (补传), with both times."""
    from domain.chunks import late_label

    for late in report.late:
        received = f", received {_utc(late.received_s)}" if late.received_s is not None else ""
        click.echo(f"{late_label(late.late_s)} recording {late.session_id} (from {late.first_key}): claims "
                   f"{_utc(late.claimed_start_s)}{received}")


def _verify_day(s: Settings, counter_name: str, date_str: str) -> None:
    from domain.timezones import day_bounds
    from services.catalog import Catalog
    from services.integrity import verify_day
    from storage.store_errors import StoreUnavailable

    day = parse_date(date_str)
    eng = open_engine(s)
    info = Catalog(eng).counter(s.site, counter_name, by_id_too=True)
    cid, where, tz = info.id, f"{info.site}/{info.name}", info.timezone
    start, end = day_bounds(day, tz)
    try:
        report = verify_day(eng, open_store(s), counter_id=cid, start_s=start, end_s=end)
    except StoreUnavailable as e:
        click.echo(f"error: store unreachable, nothing verified: {e}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    hours = report.samples / SAMPLE_RATE_HZ / 3600 if report.chunks else 0.0
    if report.ok:
        note = " (chain anchored on a chunk removed by retention)" if report.anchored_after_retention else ""
        click.echo(f"OK {where} {day} ({tz}): {report.chunks} chunks verified, chain intact{note}")
        _echo_late(report)
        if not report.chunks:
            click.echo("note: no chunks recorded that day")
        return
    first = report.problems[0]  # not report.ok: there is a first problem
    click.echo(f"BROKEN {where} {day} ({tz}): first broken link at {first.key}: {first.what}")
    for p in report.problems[1:]:
        click.echo(f"  also {p.key}: {p.what}")
    click.echo(f"{len(report.problems)} problem(s) in {report.chunks} chunks (~{hours:.1f} h at 16 kHz)")
    _echo_late(report)
    sys.exit(EXIT_BROKEN)


@click.command()
@click.option("--dry-run", is_flag=True, help="Print what would be deleted; delete nothing.")
@data_option
@click.pass_context
def retention(ctx: click.Context, dry_run: bool, data_dir: Path | None) -> None:
    """Delete recordings past their site's retention date (run daily, e.g. a systemd timer).

    Audio chunks (objects and rows), interactions, segments and flags go together; interactions
    under a legal hold (`counterwatch hold`) or an open complaint stay, with the audio they
    need. Every deletion is logged and written to the audit log (retention.delete).
    """
    from services import retention as ret

    s = settings_of(ctx, data_dir=data_dir)
    eng = open_engine(s)
    p = ret.plan(eng)
    for line in ret.describe(p):
        click.echo(("would " if dry_run and line.startswith("delete") else "") + line)
    if dry_run:
        click.echo(f"dry run: {len(p.interactions)} interaction(s) and {p.chunk_count} chunk(s) would be deleted, "
                   f"{len(p.kept)} kept past retention")
        return
    result = ret.apply(eng, open_store(s), p)
    click.echo(f"retention: deleted {result.interactions} interaction(s), {result.chunks} chunk(s), "
               f"{result.sessions} session(s); {len(p.kept)} kept past retention")
    for line in result.locked:      # Object Lock still holds them: reported, retried next run
        click.echo(f"kept (object lock): {line}")
    if result.errors:
        for e in result.errors:
            click.echo(f"error: {e}", err=True)
        sys.exit(1)


@click.command()
@click.argument("interaction_id", type=click.IntRange(1))
@click.option("--reason", default="", help="Why it is held (e.g. a case or complaint number); needed to hold.")
@click.option("--release", is_flag=True, help="Release the hold instead.")
@data_option
@click.pass_context
def hold(ctx: click.Context, interaction_id: int, reason: str, release: bool, data_dir: Path | None) -> None:
    """Put INTERACTION_ID under legal hold (retention keeps it and its audio) or --release it."""
    from services.retention import set_hold

    s = settings_of(ctx, data_dir=data_dir)
    set_hold(open_engine(s), interaction_id, hold=not release, reason=reason, actor=cli_actor())
    click.echo(f"interaction #{interaction_id} {'released' if release else 'held: ' + reason}")




@click.group()
def db() -> None:
    """The metadata database's schema: migrations are an explicit step."""


@db.command("upgrade")
@data_option
@click.pass_context
def db_upgrade(ctx: click.Context, data_dir: Path | None) -> None:
    """Bring the database schema to this version (run after installing or upgrading; `up` and the
    install script run it too). Waits while the database is busy; safe to run again."""
    from storage.engine import make_engine, retry_unavailable
    from storage.schema import upgrade

    s = settings_of(ctx, data_dir=data_dir)
    url = database_url(s)
    try:
        engine = make_engine(url, sqlite_busy_timeout_s=s.sqlite_busy_timeout_s)
        before, after = retry_unavailable("database", lambda: upgrade(engine), give_up_s=300.0, busy_only=True)
    except Exception as e:  # a bad URL or a down server: many kinds
        where = url if s.database_url is not None else str(paths(s).db)
        fail(redact_url(f"database {where}: {e.__class__.__name__}: {e}", url))
    click.echo(f"database schema at {after}" + (f" (was {before or 'empty'})" if before != after else " (up to date)"))


@db.command("status")
@data_option
@click.pass_context
def db_status(ctx: click.Context, data_dir: Path | None) -> None:
    """Print the schema revision of the database and the one this version needs; exit 1 when
    they differ."""
    from storage.engine import make_engine
    from storage.schema import current_revision, head_revision

    s = settings_of(ctx, data_dir=data_dir)
    current, head = current_revision(make_engine(database_url(s))), head_revision()
    click.echo(f"database {current or 'empty'}, this version needs {head}")
    if current != head:
        sys.exit(1)


@click.group()
def alarm() -> None:
    """Alarms a person clears (`status` lists the open ones)."""


@alarm.command("clear")
@click.option("--counter", "counter_name", required=True, help="Counter name.")
@site_option
@click.option("--kind", type=click.Choice(["chunk-conflict"]), default="chunk-conflict", show_default=True,
              help="The alarm (a capture agent cannot clear it).")
@click.option("--note", required=True, help="What was checked before clearing (kept in the audit log).")
@data_option
@click.pass_context
def alarm_clear(ctx: click.Context, counter_name: str, site: str | None, kind: str, note: str,
                data_dir: Path | None) -> None:
    """Clear the counter's open alarm after a person checked it; audited."""
    from domain.errors import DomainError
    from services.alarms import clear_by_person
    from services.catalog import Catalog

    s = settings_of(ctx, site=site, data_dir=data_dir)
    engine = open_engine(s)
    try:
        info = Catalog(engine).counter(s.site, counter_name)
        clear_by_person(engine, counter_id=info.id, kind=kind, user=None, note=note, actor=cli_actor())
    except DomainError as e:
        fail(str(e))
    click.echo(f"alarm {kind} of {s.site}/{counter_name} cleared")
