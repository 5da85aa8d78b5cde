"""canned replies: global, per profile, a moderator's own

Revision ID: a7c3e9f1b5d2
Revises: e5c1a7b3d9f2
Create Date: 2026-12-06 15:42:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a7c3e9f1b5d2'
down_revision = 'e5c1a7b3d9f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'canned_replies',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('profile_id', sa.Integer(), nullable=True),
        sa.Column('owner_id', sa.Integer(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint('profile_id IS NULL OR owner_id IS NULL', name=op.f('ck_canned_replies_one_scope')),
        sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_canned_replies_profile_id_profiles'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_canned_replies_owner_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_canned_replies_created_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_replies')),
    )
    op.create_index('ix_canned_replies_profile_id', 'canned_replies', ['profile_id'])
    op.create_index('ix_canned_replies_owner_id', 'canned_replies', ['owner_id'])


def downgrade():
    op.drop_index('ix_canned_replies_owner_id', table_name='canned_replies')
    op.drop_index('ix_canned_replies_profile_id', table_name='canned_replies')
    op.drop_table('canned_replies')
