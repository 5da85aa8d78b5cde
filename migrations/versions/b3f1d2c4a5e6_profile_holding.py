"""profile holding: one moderator per profile, conversations follow their profile's holder

Revision ID: b3f1d2c4a5e6
Revises: a7c3e9d1b2f4
Create Date: 2026-12-01 19:15:00

Existing assignments are carried over: each profile goes to the moderator who received one of
its conversations last, and the profile's other held conversations follow them.
"""
from alembic import op
import sqlalchemy as sa


revision = 'b3f1d2c4a5e6'
down_revision = 'a7c3e9d1b2f4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('profile_assignments',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=False),
    sa.Column('assigned_at', sa.DateTime(), nullable=False),
    sa.Column('last_moved_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_profile_assignments_moderator_id_users')),
    sa.ForeignKeyConstraint(['profile_id'], ['profiles.id'], name=op.f('fk_profile_assignments_profile_id_profiles'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', name=op.f('pk_profile_assignments')),
    sa.UniqueConstraint('profile_id', 'moderator_id', name='uq_profile_assignments_profile_moderator')
    )
    with op.batch_alter_table('profile_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_profile_assignments_moderator', ['moderator_id'], unique=False)

    op.execute("""
        INSERT INTO profile_assignments (profile_id, moderator_id, assigned_at)
        SELECT c.profile_id, c.assigned_moderator_id, COALESCE(c.assigned_at, c.created_at)
        FROM conversations c
        WHERE c.id = (SELECT c2.id FROM conversations c2
                      WHERE c2.profile_id = c.profile_id AND c2.assigned_moderator_id IS NOT NULL
                      ORDER BY COALESCE(c2.assigned_at, c2.created_at) DESC, c2.id DESC LIMIT 1)
    """)
    op.execute("""
        UPDATE conversations SET assigned_moderator_id =
            (SELECT pa.moderator_id FROM profile_assignments pa WHERE pa.profile_id = conversations.profile_id)
        WHERE assigned_moderator_id IS NOT NULL
    """)
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_conversations_profile_holder', 'profile_assignments',
                                    ['profile_id', 'assigned_moderator_id'], ['profile_id', 'moderator_id'],
                                    onupdate='CASCADE')
        # The referencing side of the key: cascades, profile moves, a profile's active count.
        batch_op.create_index('ix_conversations_profile_holder', ['profile_id', 'assigned_moderator_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        # role, is_online and active are correlated: without this the planner thinks a handful
        # of moderators are online and picks a plan that reads every user.
        op.execute("CREATE STATISTICS IF NOT EXISTS st_users_presence (dependencies, mcv) "
                   "ON role, is_online, active FROM users")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_users_presence")
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_profile_holder')
        batch_op.drop_constraint('fk_conversations_profile_holder', type_='foreignkey')
    with op.batch_alter_table('profile_assignments', schema=None) as batch_op:
        batch_op.drop_index('ix_profile_assignments_moderator')
    op.drop_table('profile_assignments')
