"""Where the pieces of a deployment are: the embedded stack under ``--data DIR`` or a
production MinIO + PostgreSQL given in settings. Entry points only."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from counterwatch.settings import Settings

if TYPE_CHECKING:
    from storage.objects import ObjectStore

logger = logging.getLogger(__name__)


class StackError(Exception):
    """The stack cannot be reached or is not configured."""


@dataclass(frozen=True)
class StackPaths:
    root: Path

    @property
    def s3_dir(self) -> Path:
        return self.root / "s3"

    @property
    def db(self) -> Path:
        return self.root / "counterwatch.db"

    @property
    def spool(self) -> Path:
        return self.root / "spool"

    @property
    def agents(self) -> Path:
        """Agents' token files of the embedded stack (``<counter>.token``, mode 0600)."""
        return self.root / "agents"

    @property
    def state(self) -> Path:
        """Endpoint and credentials of the running embedded S3 server (mode 0600)."""
        return self.root / "stack.json"


def paths(settings: Settings) -> StackPaths:
    return StackPaths(settings.data_dir.resolve())


def private_dir(path: Path) -> Path:
    """``path`` made (with parents) and readable by its owner only (0700): the data directory
    holds recordings, the database and credentials (issue 11)."""
    path.mkdir(parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def shown_url(url: str) -> str:
    """``url`` as it may appear in logs and messages: the password replaced by ``***``."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy can parse: show only a scheme-like start
        scheme = url.split("://", 1)[0] if "://" in url else ""
        return f"{scheme}://…" if scheme.replace("+", "").isalnum() else "(unparseable URL)"


def redact_url(text: str, url: str) -> str:
    """``text`` (e.g. an error message) with ``url`` and its password masked."""
    from sqlalchemy.engine import make_url

    text = text.replace(url, shown_url(url))
    try:
        password = make_url(url).password
    except Exception:
        password = None
    return text.replace(str(password), "***") if password else text


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL to connect with (holds the password: never log it; see :func:`shown_url`)."""
    if settings.database_url:
        return settings.database_url.get_secret_value()
    p = paths(settings)
    private_dir(p.root)
    return f"sqlite:///{p.db}"


def write_state(p: StackPaths, *, endpoint: str, access_key: str, secret_key: str, pid: int,
                api_url: str | None = None) -> None:
    private_dir(p.root)
    tmp = p.state.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"s3_endpoint": endpoint, "s3_access_key": access_key, "s3_secret_key": secret_key,
                   "pid": pid, "api_url": api_url}, f)
    os.replace(tmp, p.state)


def read_state(p: StackPaths) -> dict:
    try:
        st = p.state.stat()
        if st.st_mode & 0o077:
            raise StackError(f"{p.state} is readable by others; refusing to use the credentials in it "
                             f"(chmod 600 {p.state})")
        return json.loads(p.state.read_text())
    except FileNotFoundError as e:
        raise StackError(f"no embedded stack at {p.root}: start it with `counterwatch up --data {p.root}` "
                         f"or set COUNTERWATCH_S3_ENDPOINT") from e


def object_store(settings: Settings) -> ObjectStore:
    from storage.objects import ObjectStore

    if settings.s3_endpoint:
        if not (settings.s3_access_key and settings.s3_secret_key):
            raise StackError("COUNTERWATCH_S3_ACCESS_KEY and COUNTERWATCH_S3_SECRET_KEY are needed with an endpoint")
        endpoint, ak, sk = (settings.s3_endpoint, settings.s3_access_key.get_secret_value(),
                            settings.s3_secret_key.get_secret_value())
    else:
        st = read_state(paths(settings))
        endpoint, ak, sk = st["s3_endpoint"], st["s3_access_key"], st["s3_secret_key"]
    try:
        return ObjectStore(endpoint=endpoint, access_key=ak, secret_key=sk, bucket=settings.s3_bucket,
                           region=settings.s3_region, secure=settings.s3_secure, sse=settings.s3_sse,
                           object_lock=settings.s3_object_lock)
    except ValueError as e:     # e.g. SSE-KMS without TLS
        raise StackError(f"object store: {e}") from e


def write_secret(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` readable by its owner only (0600), atomically; the folder is
    made 0700 if it is new."""
    if not path.parent.exists():
        private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read_secret(path: Path, what: str) -> str:
    """The first line of a secret file that only its owner can read.

    Raises:
        StackError: missing, unreadable, empty, or readable by others (names the chmod).
    """
    try:
        if path.stat().st_mode & 0o077:
            raise StackError(f"{what} {path} is readable by others; refusing to use it (chmod 600 {path})")
        value = path.read_text(encoding="utf-8").strip().splitlines()
    except OSError as e:
        raise StackError(f"{what} {path}: {e.strerror}") from e
    if not value or not value[0].strip():
        raise StackError(f"{what} {path} is empty")
    return value[0].strip()
