"""What the commands share: settings, failing with a clear message, opening the database and
the object store, signal handling, common options."""
from __future__ import annotations

import getpass
import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click

from counterwatch.settings import Settings, SettingsError
from counterwatch.stack import StackError, database_url, object_store, paths, redact_url

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from services.alarms import AlarmOptions
    from storage.objects import ObjectStore

logger = logging.getLogger("counterwatch")

EXIT_BAD_INPUT = 2
EXIT_MODEL = 3

data_option = click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                           envvar="COUNTERWATCH_DATA",
                           help="State directory of the embedded stack [COUNTERWATCH_DATA; default ./counterwatch-data].")
site_option = click.option("--site", default=None, help="Site name [COUNTERWATCH_SITE; default hall].")


def asr_options(f: Callable) -> Callable:
    """--device, --compute-type and --batch-size: where and how the speech model decodes."""
    for option in reversed((
        click.option("--device", type=click.Choice(["cpu", "cuda", "auto"]), default=None,
                     help="Where the speech model runs [COUNTERWATCH_DEVICE; default cpu]."),
        click.option("--compute-type", default=None,
                     help="CTranslate2 compute type, e.g. int8, int8_float16, float16 "
                          "[COUNTERWATCH_COMPUTE_TYPE; default int8]."),
        click.option("--batch-size", "asr_batch_size", type=click.IntRange(0, 64), default=None,
                     help="Speech windows decoded together; 0: the sequential decoder "
                          "[COUNTERWATCH_ASR_BATCH_SIZE; default 8]."),
    )):
        f = option(f)
    return f


def settings_of(ctx: click.Context, **overrides: object) -> Settings:
    """The process settings with the command's given options on top."""
    base: Settings = ctx.obj
    try:
        return base.model_copy(update={k: v for k, v in overrides.items() if v is not None})
    except SettingsError as e:  # pragma: no cover - model_copy does not validate
        raise click.ClickException(str(e)) from e


def cli_actor() -> str:
    """Who the audit rows of a command name: ``cli:`` and the operating-system user who ran it
    (the console shows 命令行（user）)."""
    return f"cli:{getpass.getuser()}"


def fail(msg: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    click.echo(f"error: {msg}", err=True)
    sys.exit(code)


def open_engine(s: Settings, *, service: bool = False, stop: threading.Event | None = None) -> Engine:
    """The metadata database, checked to be at this version's schema; never migrated here: an old
    schema is refused naming ``counterwatch db upgrade``. While another process holds SQLite's
    lock this waits and retries with a logged backoff (up to 5 minutes); a long-running
    ``service`` (agent, worker, API) also waits out a database that is down, as long as it takes
    (until ``stop``), while a one-shot command names the database that cannot be reached."""
    from storage.engine import make_engine, retry_unavailable
    from storage.schema import SchemaOutdated, require_current

    try:
        eng = make_engine(database_url(s), pool_size=s.db_pool_size, max_overflow=s.db_max_overflow,
                          sqlite_busy_timeout_s=s.sqlite_busy_timeout_s)
        retry_unavailable("database", lambda: require_current(eng), stop=stop,
                          give_up_s=None if service else 300.0, busy_only=not service)
    except SchemaOutdated:
        raise                    # a domain error: the CLI group prints it (exit status 2)
    except Exception as e:  # SQLAlchemy raises many kinds for a bad URL or a down server
        if s.database_url is None:
            fail(f"database {paths(s).db}: {e.__class__.__name__}: {e}")
        url = s.database_url.get_secret_value()
        fail(redact_url(f"database {url}: {e.__class__.__name__}: {e}", url))
    return eng


def open_store(s: Settings) -> ObjectStore:
    try:
        return object_store(s)
    except StackError as e:
        fail(str(e))


def stop_on_signals(stop: threading.Event, what: str, on_second: Callable[[], None] | None = None) -> None:
    """First SIGINT/SIGTERM: finish the current work and stop; second: stop now."""

    def handler(signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        if not stop.is_set():
            logger.warning("%s: %s: finishing current work (again to stop now)", what, name)
            stop.set()
        elif on_second is not None:
            logger.warning("%s: %s again: stopping now", what, name)
            on_second()
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def alarm_options(s: Settings) -> AlarmOptions:
    """The health-alarm thresholds from the settings: one place for the worker's sweep, `up`'s
    health loop and `status`."""
    from services.alarms import AlarmOptions

    lo, hi = (int(x) for x in s.opening_hours.split("-"))
    return AlarmOptions(silent_after_s=s.silent_after_s, gone_after_s=s.gone_after_s,
                        screen_gone_after_s=s.screen_gone_after_s, opening_hours=(lo, hi))
