"""queue pick index: the next in line read from an index, not a join over every user

Revision ID: d7f2b9c3e1a4
Revises: c5e8a1f0d9b7
Create Date: 2026-12-01 22:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd7f2b9c3e1a4'
down_revision = 'c5e8a1f0d9b7'
branch_labels = None
depends_on = None


def upgrade():
    # The queue's order is (load, priority DESC, queued_at, moderator_id); the old index
    # (priority, queued_at, moderator_id) served none of its reads since the load counter came.
    with op.batch_alter_table('moderator_queue', schema=None) as batch_op:
        batch_op.drop_index('ix_moderator_queue_order')
        batch_op.create_index('ix_moderator_queue_pick', ['load', sa.desc('priority'), 'queued_at', 'moderator_id'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('moderator_queue', schema=None) as batch_op:
        batch_op.drop_index('ix_moderator_queue_pick')
        batch_op.create_index('ix_moderator_queue_order', ['priority', 'queued_at', 'moderator_id'], unique=False)
