"""message search: a full-text index over messages' text

PostgreSQL: a text search configuration ``switchboard_search`` (the ``simple`` parser and
dictionary, with ``unaccent`` first when the extension is available), a stored generated
``search_vector`` column and its GIN index. SQLite: an external-content FTS5 table over
``messages.body`` (``unicode61``, diacritics removed), kept in step by triggers.

Revision ID: c4a8e2f6d1b9
Revises: a4d8e2c6b1f9
Create Date: 2026-12-06 05:50:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'c4a8e2f6d1b9'
down_revision = 'a4d8e2c6b1f9'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP INDEX IF EXISTS ix_messages_search')
        op.execute('ALTER TABLE messages DROP COLUMN IF EXISTS search_vector')
        op.execute('DROP TEXT SEARCH CONFIGURATION IF EXISTS switchboard_search')
    else:
        for trigger in ('messages_search_insert', 'messages_search_delete', 'messages_search_update'):
            op.execute(f'DROP TRIGGER IF EXISTS {trigger}')
        op.execute('DROP TABLE IF EXISTS messages_search')


def _upgrade_postgresql():
    bind = op.get_bind()
    has_unaccent = bind.execute(sa.text(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'unaccent'")).first() is not None
    op.execute('CREATE TEXT SEARCH CONFIGURATION switchboard_search (COPY = simple)')
    if has_unaccent:
        op.execute('CREATE EXTENSION IF NOT EXISTS unaccent')
        op.execute('ALTER TEXT SEARCH CONFIGURATION switchboard_search '
                   'ALTER MAPPING FOR word, hword, hword_part, numword, numhword, hword_numpart '
                   'WITH unaccent, simple')
    op.execute("ALTER TABLE messages ADD COLUMN search_vector tsvector "
               "GENERATED ALWAYS AS (to_tsvector('switchboard_search'::regconfig, body)) STORED")
    # More of the column's statistics: the planner then knows a rare word as rare and reads it from
    # the index, instead of walking every message newest first hoping to meet it soon.
    op.execute('ALTER TABLE messages ALTER COLUMN search_vector SET STATISTICS 1000')
    op.execute('CREATE INDEX ix_messages_search ON messages USING gin (search_vector)')


def _upgrade_sqlite():
    op.execute("CREATE VIRTUAL TABLE messages_search USING fts5("
               "body, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2')")
    op.execute("CREATE TRIGGER messages_search_insert AFTER INSERT ON messages BEGIN "
               "INSERT INTO messages_search(rowid, body) VALUES (new.id, new.body); END")
    op.execute("CREATE TRIGGER messages_search_delete AFTER DELETE ON messages BEGIN "
               "INSERT INTO messages_search(messages_search, rowid, body) VALUES ('delete', old.id, old.body); END")
    op.execute("CREATE TRIGGER messages_search_update AFTER UPDATE OF body ON messages BEGIN "
               "INSERT INTO messages_search(messages_search, rowid, body) VALUES ('delete', old.id, old.body); "
               "INSERT INTO messages_search(rowid, body) VALUES (new.id, new.body); END")
    op.execute("INSERT INTO messages_search(messages_search) VALUES ('rebuild')")
