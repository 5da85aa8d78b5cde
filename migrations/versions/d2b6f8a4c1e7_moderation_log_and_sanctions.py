"""sanctions on clients (ban, mute) and the append-only moderation log

Revision ID: d2b6f8a4c1e7
Revises: c4a8e2f6d1b9
Create Date: 2026-12-06 07:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'd2b6f8a4c1e7'
down_revision = 'c4a8e2f6d1b9'
branch_labels = None
depends_on = None

SANCTION_KINDS = ('ban', 'mute')
MODERATION_ACTIONS = (
    'ban', 'unban', 'mute', 'unmute', 'sanction_ended', 'warn',
    'filter_blocked', 'filter_masked', 'filter_flagged',
    'report_decided', 'account_disabled', 'account_enabled',
    'manual_reassignment', 'forced_unlock',
)


def upgrade():
    op.create_table(
        'sanctions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('imposed_by_id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('ends_at', sa.DateTime(), nullable=True),
        sa.Column('lifted_at', sa.DateTime(), nullable=True),
        sa.Column('lifted_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint(f'kind IN {SANCTION_KINDS!r}', name=op.f('ck_sanctions_kind')),
        sa.ForeignKeyConstraint(['client_id'], ['users.id'], name='fk_sanctions_client_id_users'),
        sa.ForeignKeyConstraint(['imposed_by_id'], ['users.id'], name='fk_sanctions_imposed_by_id_users'),
        sa.ForeignKeyConstraint(['lifted_by_id'], ['users.id'], name='fk_sanctions_lifted_by_id_users'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name='fk_sanctions_conversation_id_conversations'),
        sa.PrimaryKeyConstraint('id', name='pk_sanctions'),
    )
    op.create_index('ix_sanctions_client_running', 'sanctions', ['client_id', 'lifted_at'], unique=False)
    op.create_index('ix_sanctions_ends', 'sanctions', ['lifted_at', 'ends_at'], unique=False)
    op.create_table(
        'moderation_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('subject_id', sa.Integer(), nullable=True),
        sa.Column('profile_id', sa.Integer(), nullable=True),
        sa.Column('conversation_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('sanction_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=True),
        sa.Column('until', sa.DateTime(), nullable=True),
        sa.Column('detail', sa.JSON(), nullable=True),
        sa.CheckConstraint(f'action IN {MODERATION_ACTIONS!r}', name=op.f('ck_moderation_log_action')),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name='fk_moderation_log_actor_id_users'),
        sa.ForeignKeyConstraint(['subject_id'], ['users.id'], name='fk_moderation_log_subject_id_users'),
        sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name='fk_moderation_log_profile_id_profiles'),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                                name='fk_moderation_log_conversation_id_conversations'),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name='fk_moderation_log_message_id_messages'),
        sa.ForeignKeyConstraint(['sanction_id'], ['sanctions.id'], name='fk_moderation_log_sanction_id_sanctions'),
        sa.PrimaryKeyConstraint('id', name='pk_moderation_log'),
    )
    op.create_index('ix_moderation_log_created', 'moderation_log', ['created_at'], unique=False)
    op.create_index('ix_moderation_log_subject', 'moderation_log', ['subject_id', 'created_at'], unique=False)
    op.create_index('ix_moderation_log_action', 'moderation_log', ['action', 'created_at'], unique=False)
    # Append-only in the database too: a line, once written, is never changed.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("CREATE TRIGGER moderation_log_append_only BEFORE UPDATE ON moderation_log "
                   "BEGIN SELECT RAISE(ABORT, 'the moderation log is append-only'); END")
    else:
        op.execute("CREATE FUNCTION moderation_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
                   "BEGIN RAISE EXCEPTION 'the moderation log is append-only'; END $$")
        op.execute("CREATE TRIGGER moderation_log_append_only BEFORE UPDATE ON moderation_log "
                   "FOR EACH ROW EXECUTE FUNCTION moderation_log_append_only()")


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("DROP TRIGGER moderation_log_append_only")
    else:
        op.execute("DROP TRIGGER moderation_log_append_only ON moderation_log")
        op.execute("DROP FUNCTION moderation_log_append_only()")
    op.drop_index('ix_moderation_log_action', table_name='moderation_log')
    op.drop_index('ix_moderation_log_subject', table_name='moderation_log')
    op.drop_index('ix_moderation_log_created', table_name='moderation_log')
    op.drop_table('moderation_log')
    op.drop_index('ix_sanctions_ends', table_name='sanctions')
    op.drop_index('ix_sanctions_client_running', table_name='sanctions')
    op.drop_table('sanctions')
