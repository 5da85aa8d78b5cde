"""photos in chat: the photos table, and a message's photo

Revision ID: f3b7d1a9c2e5
Revises: f1b7d3a9c2e5
Create Date: 2026-12-06 05:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f3b7d1a9c2e5'
down_revision = 'f1b7d3a9c2e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'photos',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('uploader_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('processed_at', sa.DateTime(), nullable=True),
        sa.Column('original_key', sa.String(length=200), nullable=True),
        sa.Column('original_bytes', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=True),
        sa.Column('height', sa.Integer(), nullable=True),
        sa.Column('thumb_width', sa.Integer(), nullable=True),
        sa.Column('thumb_height', sa.Integer(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'ready', 'failed')", name=op.f('ck_photos_state')),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name='fk_photos_conversation_id_conversations'),
        sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name='fk_photos_uploader_id_users'),
        sa.PrimaryKeyConstraint('id', name='pk_photos'),
    )
    op.create_index('ix_photos_conversation', 'photos', ['conversation_id'], unique=False)
    op.create_index('ix_photos_created', 'photos', ['created_at'], unique=False)
    # A plain ADD COLUMN on both databases: the messages table is not copied (SQLite takes a
    # reference to another table in the column's definition, which alembic only writes by copying).
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE messages ADD COLUMN photo_id VARCHAR(32) '
                   'CONSTRAINT fk_messages_photo_id_photos REFERENCES photos (id)')
    else:
        op.add_column('messages', sa.Column('photo_id', sa.String(length=32), nullable=True))
        op.create_foreign_key('fk_messages_photo_id_photos', 'messages', 'photos', ['photo_id'], ['id'])
    op.create_index('ix_messages_photo', 'messages', ['photo_id'], unique=True)


def downgrade():
    op.drop_index('ix_messages_photo', table_name='messages')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('photo_id')
    op.drop_index('ix_photos_created', table_name='photos')
    op.drop_index('ix_photos_conversation', table_name='photos')
    op.drop_table('photos')
