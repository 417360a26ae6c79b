"""the audit log becomes tamper-evident and append-only (issue 11)

Rows written before this revision are chained here, in id order (``row_sha256`` of each row
over the previous row's hash and its own fields, the format of ``services.audit.row_hash``,
frozen below). Then a trigger refuses UPDATE and DELETE on ``audit_log`` (and TRUNCATE on
PostgreSQL) for every role but a superuser that disables it: the application role cannot change
what it wrote. A later migration that rebuilds the table (SQLite batch mode) must create the
triggers again.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

GENESIS = "0" * 64
_PG = [
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP; END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
       FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
       FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
]
_SQLITE = [
    """CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
       BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END""",
]


def _row_hash(prev, at_s, user_id, user_name, action, target, client, detail):  # noqa: ANN001, ANN202
    # Frozen copy of services.audit.row_hash: a migration must not change with the code.
    fields = [prev, repr(float(at_s)), user_id, user_name, action, target, client, detail]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode()).hexdigest()


def upgrade() -> None:
    bind = op.get_bind()
    log = sa.table('audit_log', sa.column('id'), sa.column('at_s'), sa.column('user_id'), sa.column('user_name'),
                   sa.column('action'), sa.column('target'), sa.column('client'), sa.column('detail'),
                   sa.column('prev_sha256'), sa.column('row_sha256'))
    prev = GENESIS
    rows = bind.execute(sa.select(log.c.id, log.c.at_s, log.c.user_id, log.c.user_name, log.c.action, log.c.target,
                                  log.c.client, log.c.detail).order_by(log.c.id)).all()
    for r in rows:
        h = _row_hash(prev, r.at_s, r.user_id, r.user_name, r.action, r.target, r.client, r.detail)
        bind.execute(sa.update(log).where(log.c.id == r.id).values(prev_sha256=prev, row_sha256=h))
        prev = h
    for statement in (_PG if bind.dialect.name == 'postgresql' else _SQLITE):
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute("DROP TRIGGER audit_log_no_update")
