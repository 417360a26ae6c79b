"""Migrations are an explicit step: `counterwatch db upgrade`. Other commands refuse an old schema
naming that command and never migrate; a command that finds the database locked by another
process waits and retries, and does not exit."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest

from storage.schema import head_revision
from tests.support.cli import popen_cli, run_cli


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_commands_refuse_an_old_schema_until_db_upgrade(tmp_path: Path):
    env = {"COUNTERWATCH_DATA": str(tmp_path)}
    r = run_cli("counter", "list", env=env)
    assert r.returncode == 2, r.stderr
    assert "counterwatch db upgrade" in r.stderr and "empty" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "counterwatch.db").exists() or run_cli("db", "status", env=env).returncode == 1

    r = run_cli("db", "upgrade", env=env)
    assert r.returncode == 0 and f"database schema at {head_revision()} (was empty)" in r.stdout, r.stdout + r.stderr
    assert run_cli("db", "upgrade", env=env).stdout.strip().endswith("(up to date)")
    status = run_cli("db", "status", env=env)
    assert status.returncode == 0 and head_revision() in status.stdout
    r = run_cli("counter", "add", "window-1", env=env)
    assert r.returncode == 0 and "counter hall/window-1" in r.stdout, r.stderr


@pytest.mark.slow     # over 10 s on the loaded box: the full suite's, not the fast loop's
def test_a_locked_database_is_waited_for_not_fatal(tmp_path: Path):
    """Another process holds SQLite's write lock while `db upgrade` starts (its busy timeout is
    set to 0.5 s, so it meets "database is locked"): it logs, retries and finishes. The lock is
    held until the command has said so, and at least 3 s (poll-until: a loaded machine may take
    longer than that to start the command)."""
    db = tmp_path / "counterwatch.db"
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE held (x INTEGER)")
    env = {"COUNTERWATCH_DATA": str(tmp_path), "COUNTERWATCH_SQLITE_BUSY_TIMEOUT_S": "0.5"}
    t0 = time.monotonic()
    proc = popen_cli("db", "upgrade", env=env, stdout=-1, stderr=-1, text=True)
    err_lines: list[str] = []
    reader = threading.Thread(target=lambda: err_lines.extend(proc.stderr), daemon=True)
    reader.start()
    deadline = t0 + 120
    while not any("database is locked" in line for line in err_lines) or time.monotonic() < t0 + 3.0:
        assert proc.poll() is None and time.monotonic() < deadline, "".join(err_lines)
        time.sleep(0.05)
    holder.execute("COMMIT")
    holder.close()
    out = proc.stdout.read()
    proc.wait(timeout=120)
    reader.join(30)
    err = "".join(err_lines)
    assert proc.returncode == 0, err
    assert time.monotonic() - t0 >= 2.5                      # it waited for the lock
    assert "database is locked" in err and "retry" in err     # and said so
    assert "Traceback" not in err and head_revision() in out
