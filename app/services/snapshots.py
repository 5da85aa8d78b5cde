"""Rows as a statement returned them, for rendering: plain objects, not ORM ones.

A client's message is stored by statements that return the rows its pushes render (the message,
its conversation, the profile, the holder, the profile's lock): one on PostgreSQL, three on
SQLite. Turning those rows into ORM objects cost the ORM more than running the statement
(``bench/instructions.py``): the pushes only read them, so they get snapshots with the model's
attribute names instead. A snapshot is never written back and loads nothing: only
what the statement returned is there.
"""
from __future__ import annotations

from types import SimpleNamespace

from ..models import Conversation, Profile, ProfileLock, User

# The columns of each row the pushes of a message render (the templates read nothing else: a test
# renders every push template from snapshots and from ORM rows and compares the HTML).
PUSHED = {
    Profile: [Profile.__table__.c[name] for name in ("id", "name", "avatar_filename", "active")],
    User: [User.__table__.c[name] for name in ("id", "role", "display_name", "locale", "time_zone", "active")],
    ProfileLock: [ProfileLock.__table__.c[name] for name in ("id", "profile_id", "moderator_id", "expires_at",
                                                             "lock_type")],
}


class Snapshot(SimpleNamespace):
    """Attributes named like the model's, read from a statement's row."""


class ConversationSnapshot(Snapshot):
    is_waiting = Conversation.is_waiting  # the model's own rule


class MessageSnapshot(Snapshot):
    """The statements store text messages: a photo is linked afterwards (``photos.records.attach``);
    a reply never comes this way (``sending.send_client_message``)."""
    photo_id = None
    photo = None
    reply_to_id = None
    reply_to = None


class Selected:
    """Some columns of a model, selected side by side with other tables' (each labelled
    ``<prefix>_<column>``) and read back from the row by the model's attribute names."""

    def __init__(self, model, prefix: str, columns):
        mapper = model.__mapper__
        self.names = [column.name for column in columns]
        self.prefix = prefix
        self.read = [(mapper.get_property_by_column(column).key, f"{prefix}_{column.name}") for column in columns]
        self.primary_key = [f"{prefix}_{column.name}" for column in mapper.primary_key]

    def labelled(self, source) -> list:
        """These columns of ``source`` (the table, an alias or a CTE returning them), labelled."""
        return [source.c[name].label(f"{self.prefix}_{name}") for name in self.names]

    def values(self, row) -> dict:
        """Attribute name -> value, from a row's ``_mapping``."""
        return {key: row[label] for key, label in self.read}

    def snapshot(self, row, cls: type[Snapshot] = Snapshot) -> Snapshot | None:
        """None when an outer join found no row (a null primary key)."""
        if all(row[label] is None for label in self.primary_key):
            return None
        return cls(**self.values(row))
