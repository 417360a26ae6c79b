"""operations: per-counter hash chain over chunks; legal hold on interactions (issue 6)

* ``chunks.prev_chain_sha256`` / ``chunks.chain_sha256``: each chunk's link in its counter's
  hash chain (see ``storage/integrity.py``). Chunks stored before this revision are chained
  here, in (session wall start, seq) order per counter.
* ``interactions.hold`` / ``hold_reason`` / ``hold_s``: a manual legal hold that retention
  respects until released.
* ``jobs.queued_s``: when a job was last (re)queued, for the queue-age metric.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _link(prev: str, sha256: str, key: str, start_sample: int, samples: int) -> str:
    # Frozen copy of storage.integrity.chain_link: a migration must not change with the code.
    return hashlib.sha256(f"{prev}\n{sha256}\n{key}\n{start_sample}\n{samples}".encode()).hexdigest()


def upgrade() -> None:
    with op.batch_alter_table('chunks') as batch:
        batch.add_column(sa.Column('prev_chain_sha256', sa.String(length=64), nullable=True))
        batch.add_column(sa.Column('chain_sha256', sa.String(length=64), nullable=True))
    with op.batch_alter_table('interactions') as batch:
        batch.add_column(sa.Column('hold', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column('hold_reason', sa.Text(), nullable=False, server_default=''))
        batch.add_column(sa.Column('hold_s', sa.Float(), nullable=True))
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('queued_s', sa.Float(), nullable=True))
    op.execute("UPDATE jobs SET queued_s = created_s")
    # Chain what is stored already, counter by counter.
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT c.id, c.counter_id, c.sha256, c.key, c.start_sample, c.samples FROM chunks c "
        "JOIN sessions s ON s.id = c.session_id ORDER BY c.counter_id, s.wall_start_s, c.session_id, c.seq")).all()
    prev: dict[int, str] = {}
    for cid, counter_id, sha, key, start, samples in rows:
        p = prev.get(counter_id, GENESIS)
        link = _link(p, sha, key, start, samples)
        bind.execute(sa.text("UPDATE chunks SET prev_chain_sha256 = :p, chain_sha256 = :c WHERE id = :i"),
                     {"p": p, "c": link, "i": cid})
        prev[counter_id] = link


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('queued_s')
    with op.batch_alter_table('interactions') as batch:
        batch.drop_column('hold_s')
        batch.drop_column('hold_reason')
        batch.drop_column('hold')
    with op.batch_alter_table('chunks') as batch:
        batch.drop_column('chain_sha256')
        batch.drop_column('prev_chain_sha256')
