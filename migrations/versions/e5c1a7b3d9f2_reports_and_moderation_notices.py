"""reports (of messages, profiles, clients) and the notices that tell their outcome

Revision ID: e5c1a7b3d9f2
Revises: b8e1f4c7a2d9
Create Date: 2026-12-06 15:41:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e5c1a7b3d9f2'
down_revision = 'b8e1f4c7a2d9'
branch_labels = None
depends_on = None

REPORT_KINDS = ('message', 'profile', 'client')
REPORT_REASONS = ('spam', 'harassment', 'inappropriate', 'scam', 'other')
REPORT_STATES = ('open', 'decided')
REPORT_DECISIONS = ('dismiss', 'upheld', 'warn', 'mute', 'ban')
NOTICE_KINDS = ('outcome', 'warning')


def upgrade():
    op.create_table(
        'reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reporter_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('object_id', sa.Integer(), nullable=False),
        sa.Column('profile_id', sa.Integer(), nullable=True),
        sa.Column('client_id', sa.Integer(), nullable=True),
        sa.Column('conversation_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=16), nullable=False),
        sa.Column('comment', sa.String(length=1000), nullable=False),
        sa.Column('state', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decision', sa.String(length=8), nullable=True),
        sa.Column('decision_note', sa.String(length=500), nullable=True),
        sa.Column('sanction_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(f'kind IN {REPORT_KINDS!r}', name=op.f('ck_reports_kind')),
        sa.CheckConstraint(f'reason IN {REPORT_REASONS!r}', name=op.f('ck_reports_reason')),
        sa.CheckConstraint(f'state IN {REPORT_STATES!r}', name=op.f('ck_reports_state')),
        sa.CheckConstraint(f'decision IS NULL OR decision IN {REPORT_DECISIONS!r}', name=op.f('ck_reports_decision')),
        sa.CheckConstraint("(state = 'open') = (decision IS NULL)", name=op.f('ck_reports_decided_has_decision')),
        sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name='fk_reports_reporter_id_users'),
        sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name='fk_reports_profile_id_profiles'),
        sa.ForeignKeyConstraint(['client_id'], ['users.id'], name='fk_reports_client_id_users'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name='fk_reports_conversation_id_conversations'),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name='fk_reports_message_id_messages'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name='fk_reports_decided_by_id_users'),
        sa.ForeignKeyConstraint(['sanction_id'], ['sanctions.id'], name='fk_reports_sanction_id_sanctions'),
        sa.PrimaryKeyConstraint('id', name='pk_reports'),
    )
    op.create_index('uq_reports_one_open', 'reports', ['reporter_id', 'kind', 'object_id'], unique=True,
                    sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.create_index('ix_reports_state_created', 'reports', ['state', 'created_at'], unique=False)
    op.create_index('ix_reports_reporter_created', 'reports', ['reporter_id', 'created_at'], unique=False)
    op.create_table(
        'moderation_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('dismissed_at', sa.DateTime(), nullable=True),
        sa.CheckConstraint(f'kind IN {NOTICE_KINDS!r}', name=op.f('ck_moderation_notices_kind')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name='fk_moderation_notices_user_id_users'),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name='fk_moderation_notices_report_id_reports'),
        sa.PrimaryKeyConstraint('id', name='pk_moderation_notices'),
    )
    op.create_index('ix_moderation_notices_user', 'moderation_notices', ['user_id', 'dismissed_at'], unique=False)


def downgrade():
    op.drop_index('ix_moderation_notices_user', table_name='moderation_notices')
    op.drop_table('moderation_notices')
    op.drop_index('ix_reports_reporter_created', table_name='reports')
    op.drop_index('ix_reports_state_created', table_name='reports')
    op.drop_index('uq_reports_one_open', table_name='reports')
    op.drop_table('reports')
