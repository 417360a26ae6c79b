"""users, tokens, audit log, complaints; flag review fields

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('sites', sa.JSON(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_s', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_s', sa.Float(), nullable=False),
    sa.Column('expires_s', sa.Float(), nullable=True),
    sa.Column('last_used_s', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
    op.create_index('ix_api_tokens_user_id', 'api_tokens', ['user_id'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at_s', sa.Float(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_name', sa.String(length=100), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_time', 'audit_log', ['at_s'], unique=False)
    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('site_id', sa.Integer(), nullable=False),
    sa.Column('interaction_id', sa.Integer(), nullable=True),
    sa.Column('received_s', sa.Float(), nullable=False),
    sa.Column('complainant', sa.String(length=200), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('due_s', sa.Float(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('finding', sa.Text(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('answered_s', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], ),
    sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_complaints_site_id', 'complaints', ['site_id'], unique=False)
    with op.batch_alter_table('flags') as b:
        b.add_column(sa.Column('reviewed_by', sa.Integer(), nullable=True))
        b.add_column(sa.Column('reviewed_s', sa.Float(), nullable=True))
        b.add_column(sa.Column('review_note', sa.Text(), nullable=False, server_default=''))
        b.create_foreign_key('fk_flags_reviewed_by', 'users', ['reviewed_by'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('flags') as b:
        b.drop_constraint('fk_flags_reviewed_by', type_='foreignkey')
        b.drop_column('review_note')
        b.drop_column('reviewed_s')
        b.drop_column('reviewed_by')
    op.drop_index('ix_complaints_site_id', table_name='complaints')
    op.drop_table('complaints')
    op.drop_index('ix_audit_time', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index('ix_api_tokens_user_id', table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_table('users')
