"""A private PostgreSQL cluster for the tests and the benchmarks (Debian's packages)."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from storage.s3server import free_port


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def _children(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (FileNotFoundError, ProcessLookupError):
        return []


class PgCluster:
    """A private PostgreSQL cluster from Debian's packages on loopback, run by ``pg_ctl`` so the
    postmaster is its own process that can be stopped hard (the soak test does)."""

    def __init__(self) -> None:
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("PostgreSQL is not installed: run scripts/install.sh --test")
        self.bindir = os.path.dirname(bins[-1])
        # Its own folder under /tmp: as root the cluster runs as 'postgres', which cannot
        # enter private folders such as pytest's tmp_path.
        root = Path(tempfile.mkdtemp(prefix="cw-soak-pg-"))
        self.root = root
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:   # initdb refuses to run as root
            shutil.chown(root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        subprocess.run([*self.as_user, f"{self.bindir}/initdb", "-D", str(self.data), "-A", "trust", "-U", "cw",
                        "--no-sync", "-E", "UTF8"], check=True, capture_output=True)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://cw@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self.as_user, f"{self.bindir}/pg_ctl", "-D", str(self.data), *args],
                              check=check, capture_output=True, text=True, timeout=120)

    def start(self, *, fsync: bool = True, max_connections: int = 100) -> None:
        """Start the postmaster and wait until it answers. Keep ``fsync`` on where the cluster
        is crashed on purpose (an immediate stop is a crash; the restart recovers from the WAL)."""
        self._ctl("-w", "-t", "90", "-l", str(self.log), "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections={max_connections}"
                  + ("" if fsync else " -c fsync=off"), "start")

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            return None

    def stop_immediate(self) -> None:
        self._ctl("-m", "immediate", "stop", check=False)

    def sigkill(self) -> None:
        """SIGKILL the postmaster, then its children (they would linger on the shared memory)."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        kids = _children(pid)
        os.kill(pid, signal.SIGKILL)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in [pid, *kids]) and time.monotonic() < deadline:
            time.sleep(0.05)

    def answers(self) -> bool:
        r = subprocess.run([f"{self.bindir}/pg_isready", "-h", "127.0.0.1", "-p", str(self.port), "-t", "1"],
                           capture_output=True)
        return r.returncode == 0

    def stop(self) -> None:
        self._ctl("-m", "fast", "stop", check=False)

    def remove(self, *, keep_log_in: Path | None = None) -> None:
        """Stop the cluster and delete its folder (copying its log to ``keep_log_in`` first)."""
        self.stop()
        if keep_log_in is not None and self.log.exists():
            shutil.copy(self.log, keep_log_in / "postgres.log")
        shutil.rmtree(self.root, ignore_errors=True)


# -- input audio --------------------------------------------------------------------------------------

    def database(self, name: str) -> str:
        """Create database ``name`` and return its URL."""
        from sqlalchemy import create_engine, text

        eng = create_engine(self.url, isolation_level="AUTOCOMMIT")
        with eng.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        eng.dispose()
        return self.url.rsplit("/", 1)[0] + f"/{name}"
