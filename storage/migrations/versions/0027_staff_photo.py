"""staff photo: a staff member's photo on the rating terminal (issue 21 item 2)

The picture itself lives in the object store (``staff/photos/<sha256>``); the row keeps its
SHA-256 and content type.

Revision ID: h27_staff_photo
Revises: e20_inspection
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = 'h27_staff_photo'
down_revision = 'i26_corrections'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff') as b:
        b.add_column(sa.Column('photo_sha256', sa.String(length=64), nullable=True))
        b.add_column(sa.Column('photo_type', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('staff') as b:
        b.drop_column('photo_type')
        b.drop_column('photo_sha256')
