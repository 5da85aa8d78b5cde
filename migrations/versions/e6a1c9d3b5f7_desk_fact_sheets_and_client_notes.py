"""the moderator's desk: versioned fact sheets of profiles and notes on clients

Revision ID: e6a1c9d3b5f7
Revises: a7c3e9f1b5d2
Create Date: 2026-12-06 15:43:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e6a1c9d3b5f7'
down_revision = 'a7c3e9f1b5d2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'profile_fact_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('profile_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], ondelete='CASCADE',
                                name='fk_profile_fact_versions_profile_id_profiles'),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL',
                                name='fk_profile_fact_versions_author_id_users'),
        sa.PrimaryKeyConstraint('id', name='pk_profile_fact_versions'),
        sa.UniqueConstraint('profile_id', 'version', name='uq_profile_fact_versions_version'),
    )
    op.create_table(
        'client_note_versions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('profile_id', sa.Integer(), nullable=False),
        sa.Column('client_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('author_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], ondelete='CASCADE',
                                name='fk_client_note_versions_profile_id_profiles'),
        sa.ForeignKeyConstraint(['client_id'], ['users.id'], ondelete='CASCADE',
                                name='fk_client_note_versions_client_id_users'),
        sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='SET NULL',
                                name='fk_client_note_versions_author_id_users'),
        sa.PrimaryKeyConstraint('id', name='pk_client_note_versions'),
        sa.UniqueConstraint('profile_id', 'client_id', 'version', name='uq_client_note_versions_version'),
    )


def downgrade():
    op.drop_table('client_note_versions')
    op.drop_table('profile_fact_versions')
