"""conversation read positions: the last message id each side (client, profile) was shown

Revision ID: f1b7d3a9c2e5
Revises: e9a4c2b7f3d1
Create Date: 2026-12-06 04:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f1b7d3a9c2e5'
down_revision = 'e9a4c2b7f3d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_last_read_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('profile_last_read_id', sa.Integer(), nullable=True))
    # What was written before read positions existed counts as read by both sides: no conversation
    # opens on a "new messages" divider above its whole past.
    op.execute("UPDATE conversations SET client_last_read_id = (SELECT max(m.id) FROM messages m "
               "WHERE m.conversation_id = conversations.id), profile_last_read_id = (SELECT max(m.id) "
               "FROM messages m WHERE m.conversation_id = conversations.id)")


def downgrade():
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('profile_last_read_id')
        batch_op.drop_column('client_last_read_id')
