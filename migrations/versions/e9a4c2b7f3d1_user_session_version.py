"""user session version: raising it ends every session of the account (log-out, disabling, an admin's "end sessions")

Revision ID: e9a4c2b7f3d1
Revises: e8c4a2f6b1d3
Create Date: 2026-12-06 01:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e9a4c2b7f3d1'
down_revision = 'e8c4a2f6b1d3'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        # Sessions from before hold no version: they count as 0, and stay valid until the first raise.
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
