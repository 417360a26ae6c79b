"""Alembic environment: the connection comes from storage.db.upgrade (or alembic's own CLI
with -x url=...)."""
from alembic import context
from alembic.util import CommandError
from sqlalchemy import create_engine

from storage.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is None:
        url = context.get_x_argument(as_dictionary=True).get("url")
        if url is None:
            raise CommandError("no database to migrate: pass -x url=<SQLAlchemy URL>")
        with create_engine(url).begin() as c:
            context.configure(connection=c, target_metadata=target_metadata, render_as_batch=True)
            with context.begin_transaction():
                context.run_migrations()
        return
    context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
