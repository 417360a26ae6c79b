"""Database engines and sessions: SQLite (WAL) for one box, PostgreSQL for many machines.

Reads and writes take different paths. On SQLite a write session opens with ``BEGIN IMMEDIATE``
(it takes the write lock at once, so two writers serialise instead of failing on a lock
upgrade) and a read session with a plain ``BEGIN``: in WAL mode a reader sees a snapshot and
neither waits for writers nor blocks them. So library code says which it means:
:func:`read_session` for queries, :func:`write_session` for changes (one transaction, committed
when the block ends). PostgreSQL gets a connection pool sized by the caller.

A database that is down, restarting or (SQLite) locked past the busy timeout raises one of
:data:`DB_UNAVAILABLE`; long-running processes wait and retry (:func:`retry_unavailable`).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

#: The database is down, the connection broke (a restart, a network cut) or SQLite stayed
#: locked past its busy timeout: wait and retry rather than fail.
DB_UNAVAILABLE = (OperationalError, InterfaceError)
SQLITE_BUSY_TIMEOUT_S = 30.0
_WRITE = "counterwatch_write"
T = TypeVar("T")


def make_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20, pool_timeout_s: float = 30.0,
                sqlite_busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url``. SQLite: WAL, foreign keys, deferred reads and immediate writes
    (see the module notes), waiting up to ``sqlite_busy_timeout_s`` for another process's write
    lock. PostgreSQL: a pool of ``pool_size`` connections plus ``max_overflow`` more under
    load, each checked before use."""
    if url.startswith("sqlite"):
        _private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": sqlite_busy_timeout_s, "check_same_thread": False},
                               pool_size=pool_size, max_overflow=max_overflow, pool_timeout=pool_timeout_s)

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None   # let SQLAlchemy's "begin" below open transactions
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(_WRITE) else "BEGIN")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow,
                         pool_timeout=pool_timeout_s)


def _private_sqlite_file(url: str) -> None:
    """Create the database file readable by its owner only (0600), or make an existing one so:
    it holds personal data (issue 11). SQLite gives its -wal and -shm files the database file's
    mode."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return
    path = Path(name)
    if not path.parent.is_dir():
        return
    # Never open (and close) a database file that exists: closing any descriptor of it drops the
    # POSIX locks SQLite connections of this process hold on it, and the database corrupts.
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if p.exists() and p.stat().st_mode & 0o077:
            p.chmod(0o600)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def writer(engine: Engine) -> Engine:
    """``engine`` marked for writing: on SQLite its transactions begin IMMEDIATE."""
    w = engine.__dict__.get("_counterwatch_writer")
    if w is None:
        w = engine.__dict__["_counterwatch_writer"] = engine.execution_options(**{_WRITE: True})
    return w


def id_parts(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    """``ids`` in parts of at most ``size``: the values of one ``IN (...)`` each, within every
    backend's limit on bound parameters."""
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def read_session(engine: Engine) -> Session:
    """A session for queries (use as a context manager; it never takes SQLite's write lock)."""
    return Session(engine)


@contextmanager
def write_session(engine: Engine) -> Iterator[Session]:
    """One write transaction: committed when the block ends, rolled back on an exception."""
    with Session(writer(engine)) as s, s.begin():
        yield s


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` is SQLite saying another connection holds the lock (wait, it passes)."""
    text = str(getattr(error, "orig", error)).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def retry_unavailable(what: str, action: Callable[[], T], *, stop: threading.Event | None = None,
                      initial_s: float = 0.5, max_s: float = 30.0, give_up_s: float | None = None,
                      busy_only: bool = False) -> T:
    """Run ``action`` until it does not raise :data:`DB_UNAVAILABLE`, backing off from
    ``initial_s`` doubling to ``max_s`` and logging each retry (``what`` names it). Gives up
    (re-raises) after ``give_up_s`` or when ``stop`` is set; with ``busy_only``, at once for any
    failure but a busy SQLite database (:func:`is_busy`)."""
    t0 = time.monotonic()
    attempt = 0
    while True:
        try:
            result = action()
        except DB_UNAVAILABLE as e:
            attempt += 1
            if (give_up_s is not None and time.monotonic() - t0 >= give_up_s) or (stop is not None and stop.is_set()) \
                    or (busy_only and not is_busy(e)):
                raise
            delay = min(max_s, initial_s * 2 ** min(attempt - 1, 10))
            logger.warning("%s: database unavailable (%s: %s); retry %d in %.1f s", what, e.__class__.__name__,
                           str(e.orig if hasattr(e, "orig") else e).splitlines()[0][:200], attempt, delay)
            if stop is not None:
                if stop.wait(delay):
                    raise
            else:
                time.sleep(delay)
            continue
        if attempt:
            logger.info("%s: database reachable again after %d retries", what, attempt)
        return result
