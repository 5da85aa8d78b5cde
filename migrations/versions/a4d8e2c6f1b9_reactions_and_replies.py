"""reactions to messages, and the message a message answers

Revision ID: a4d8e2c6f1b9
Revises: f3b7d1a9c2e5
Create Date: 2026-12-06 05:20:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a4d8e2c6f1b9'
down_revision = 'f3b7d1a9c2e5'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN on both databases, as for photo_id: the messages table is not copied.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE messages ADD COLUMN reply_to_id INTEGER '
                   'CONSTRAINT fk_messages_reply_to_id_messages REFERENCES messages (id)')
    else:
        op.add_column('messages', sa.Column('reply_to_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_messages_reply_to_id_messages', 'messages', 'messages', ['reply_to_id'], ['id'])
    op.create_table(
        'message_reactions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('side', sa.String(length=8), nullable=False),
        sa.Column('emoji', sa.String(length=32), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("side IN ('client', 'profile')", name=op.f('ck_message_reactions_side')),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], name='fk_message_reactions_author_id_users'),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name='fk_message_reactions_message_id_messages'),
        sa.PrimaryKeyConstraint('id', name='pk_message_reactions'),
        sa.UniqueConstraint('message_id', 'side', 'emoji', name='uq_message_reactions_message_side_emoji'),
    )
    op.create_index('ix_message_reactions_message', 'message_reactions', ['message_id', 'side'], unique=False)


def downgrade():
    op.drop_index('ix_message_reactions_message', table_name='message_reactions')
    op.drop_table('message_reactions')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('reply_to_id')
