"""avatar pending: an accepted upload waits for its job to make the avatar

Revision ID: e8c4a2f6b1d3
Revises: d7f2b9c3e1a4
Create Date: 2026-12-06 01:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e8c4a2f6b1d3'
down_revision = 'd7f2b9c3e1a4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.add_column(sa.Column('avatar_pending', sa.String(length=120), nullable=True))


def downgrade():
    with op.batch_alter_table('profiles', schema=None) as batch_op:
        batch_op.drop_column('avatar_pending')
