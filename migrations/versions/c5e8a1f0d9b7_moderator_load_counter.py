"""moderator load counter in the queue (new work goes to the lowest without a GROUP BY)

Revision ID: c5e8a1f0d9b7
Revises: b3f1d2c4a5e6
Create Date: 2026-12-01 19:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c5e8a1f0d9b7'
down_revision = 'b3f1d2c4a5e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('moderator_queue', schema=None) as batch_op:
        # Not indexed on purpose: the queue holds the online moderators only (hundreds of rows, a
        # sort is cheap), and an indexed counter would rewrite every index on each ``load + 1``.
        batch_op.add_column(sa.Column('load', sa.Integer(), nullable=False, server_default='0'))
    # Whatever was queued starts from its exact load; the engine keeps it from here.
    op.execute("""
        UPDATE moderator_queue SET load = (
            SELECT COUNT(*) FROM conversations c
            WHERE c.assigned_moderator_id = moderator_queue.moderator_id
              AND (c.awaiting_reply_since IS NOT NULL OR c.last_message_at >= CURRENT_TIMESTAMP - INTERVAL '30 minutes'))
    """) if op.get_bind().dialect.name == "postgresql" else op.execute("""
        UPDATE moderator_queue SET load = (
            SELECT COUNT(*) FROM conversations c
            WHERE c.assigned_moderator_id = moderator_queue.moderator_id
              AND (c.awaiting_reply_since IS NOT NULL OR c.last_message_at >= datetime('now', '-30 minutes')))
    """)


def downgrade():
    with op.batch_alter_table('moderator_queue', schema=None) as batch_op:
        batch_op.drop_column('load')
