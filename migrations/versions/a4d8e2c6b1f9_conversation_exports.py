"""conversation exports: the exports table

Revision ID: a4d8e2c6b1f9
Revises: a3d9e5c1b7f2
Create Date: 2026-12-06 05:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a4d8e2c6b1f9'
down_revision = 'a3d9e5c1b7f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'exports',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('format', sa.String(length=8), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('progress', sa.Integer(), nullable=False),
        sa.Column('file_key', sa.String(length=200), nullable=True),
        sa.Column('file_bytes', sa.Integer(), nullable=True),
        sa.Column('message_count', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=True),
        sa.Column('finished_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("state IN ('queued', 'running', 'ready', 'failed', 'expired')",
                           name=op.f('ck_exports_state')),
        sa.CheckConstraint("format IN ('pdf', 'csv', 'json')", name=op.f('ck_exports_format')),
        sa.CheckConstraint('progress BETWEEN 0 AND 100', name=op.f('ck_exports_progress')),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name='fk_exports_owner_id_users'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name='fk_exports_conversation_id_conversations'),
        sa.PrimaryKeyConstraint('id', name='pk_exports'),
    )
    op.create_index('ix_exports_owner_conversation', 'exports', ['owner_id', 'conversation_id', 'created_at'],
                    unique=False)
    op.create_index('ix_exports_expires', 'exports', ['expires_at'], unique=False)


def downgrade():
    op.drop_index('ix_exports_expires', table_name='exports')
    op.drop_index('ix_exports_owner_conversation', table_name='exports')
    op.drop_table('exports')
