"""Schema migrations, an explicit step: ``counterwatch db upgrade`` (also run by ``up`` and by the
install script). Every other command checks that the database is at this version's head
revision and refuses to start otherwise (:func:`require_current`), naming the command to run;
none of them migrates by itself.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

if TYPE_CHECKING:
    from alembic.config import Config

from domain.errors import Unavailable

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
UPGRADE_COMMAND = "counterwatch db upgrade"


class SchemaOutdated(Unavailable):
    """The database schema is not the one this version of counterwatch needs."""

    code = "schema_outdated"

    def __init__(self, current: str | None, head: str) -> None:
        found = f"at revision {current}" if current else "empty (no schema yet)"
        super().__init__("database schema", f"is {found}, this counterwatch needs {head}: run `{UPGRADE_COMMAND}`",
                         current=current, head=head)
        self.current = current
        self.head = head


def _config() -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current(engine: Engine) -> None:
    """Raise :class:`SchemaOutdated` unless the database is at :func:`head_revision`."""
    head, current = head_revision(), current_revision(engine)
    if current != head:
        raise SchemaOutdated(current, head)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str]:
    """Bring the schema to ``revision``; returns (revision before, revision after)."""
    from alembic import command

    from storage.engine import writer

    before = current_revision(engine)
    cfg = _config()
    with writer(engine).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    after = current_revision(engine)
    if before != after:
        logger.info("schema: upgraded from %s to %s", before or "empty", after)
    return before, after or ""
