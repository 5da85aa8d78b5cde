"""content filters: rules and the messages flagged for review

Revision ID: b8e1f4c7a2d9
Revises: d2b6f8a4c1e7
Create Date: 2026-12-06 15:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'b8e1f4c7a2d9'
down_revision = 'd2b6f8a4c1e7'
branch_labels = None
depends_on = None

FILTER_KINDS = ('words', 'pattern')
FILTER_ACTIONS = ('block', 'mask', 'flag')
FILTER_LANGUAGES = ('all', 'en', 'fr', 'de', 'es')


def upgrade():
    op.create_table(
        'filter_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('expression', sa.Text(), nullable=False),
        sa.Column('language', sa.String(length=3), nullable=False),
        sa.Column('action', sa.String(length=8), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(f'kind IN {FILTER_KINDS!r}', name=op.f('ck_filter_rules_kind')),
        sa.CheckConstraint(f'action IN {FILTER_ACTIONS!r}', name=op.f('ck_filter_rules_action')),
        sa.CheckConstraint(f'language IN {FILTER_LANGUAGES!r}', name=op.f('ck_filter_rules_language')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_filter_rules_created_by_id_users')),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_filter_rules_updated_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_filter_rules')),
    )
    op.create_table(
        'flagged_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=True),
        sa.Column('flagged_at', sa.DateTime(), nullable=False),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_flagged_messages_message_id_messages')),
        sa.ForeignKeyConstraint(['reviewed_by_id'], ['users.id'], name=op.f('fk_flagged_messages_reviewed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_flagged_messages')),
    )
    op.create_index('ix_flagged_messages_open', 'flagged_messages', ['reviewed_at', 'flagged_at'])


def downgrade():
    op.drop_index('ix_flagged_messages_open', table_name='flagged_messages')
    op.drop_table('flagged_messages')
    op.drop_table('filter_rules')
