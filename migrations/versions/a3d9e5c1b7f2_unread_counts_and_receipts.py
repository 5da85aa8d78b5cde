"""unread counts and read receipts: the client's unread counter, when each side last read

Revision ID: a3d9e5c1b7f2
Revises: a4d8e2c6f1b9
Create Date: 2026-12-06 05:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a3d9e5c1b7f2'
down_revision = 'a4d8e2c6f1b9'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('client_read_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('profile_read_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('client_unread_count', sa.Integer(), nullable=False, server_default='0'))
    # The counter starts from what the client has not read yet: the profile's messages above the
    # client's read position.
    op.execute("UPDATE conversations SET client_unread_count = (SELECT count(*) FROM messages m "
               "WHERE m.conversation_id = conversations.id AND m.sender = 'profile' "
               "AND m.id > coalesce(conversations.client_last_read_id, 0))")


def downgrade():
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_column('client_unread_count')
        batch_op.drop_column('profile_read_at')
        batch_op.drop_column('client_read_at')
