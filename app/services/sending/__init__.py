"""A client's message: one entry point, ``send_client_message``, that owns how it is stored.

The usual case is a client writing in a conversation they have, which a moderator holds and which
is still active. It is stored by the statements of ``postgresql`` (one statement) or ``sqlite``
(three), which check the sender themselves, so no user is loaded first; their rows come back as
snapshots for the pushes (``rows``). On PostgreSQL that case is one statement with nothing after
it, so it runs as its own transaction (one round trip: no BEGIN, no COMMIT). Every other case
goes on in a write transaction: an existing conversation by the same statements, and on
PostgreSQL a first message by one more (the conversation opened with it), then whatever the
message sets off (an assignment, the holder's load); anything they did not store (a first
message on SQLite, input to refuse, a re-send, someone who is not an active client) by the
checked path, ``post_client_message``, with the sender loaded and checked.

Whatever path stored it, the message is recorded as posted (``events``): its pushes follow the
commit.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ...database import (cached_statement, dialect_insert, generic_plans, single_statement_write,
                         write_transaction)
from ...extensions import db
from ...models import Conversation, Profile, ProfileLock, User
from ...models.chat import Sender
from .. import activity, assignment, events, filters, pending
from ..moderation import sanctions
from ..errors import Forbidden, NotFound, NotLoggedIn, ValidationError
from ..messages import (MAX_BODY, Posted, check_reply_to, clean_body, clean_token, insert_message, orm_rows,
                        reload_keeping_links)
from ..photos import records
from ..photos.records import NewPhoto
from . import postgresql, rows, sqlite
from .rows import UNCHECKED_SESSION


def send_client_message(client_id: int, profile_id: int, body: str | None, token: str | None, now: datetime,
                        max_length: int = MAX_BODY, session_version: int = UNCHECKED_SESSION,
                        photo: NewPhoto | None = None, reply_to_id: int | None = None,
                        language: str | None = None, opens: bool = False) -> Posted:
    """Store a client's message once (by its client token), mark the conversation waiting and make
    sure a moderator holds it; ``client_id`` is who the session says writes, checked here, with
    the ``session_version`` the session holds (an ended session writes nothing). A unit
    of work of its own: it commits, then its pushes follow. With a ``photo`` (stored, see
    ``photos.uploads``), the body is its caption and may be empty; its row is written in the
    same transaction, so the one-statement case is not taken; nor with ``reply_to_id`` (the
    message it answers, checked to be of the conversation): a reply goes the checked path. A banned
    or muted client is refused before anything is stored (``moderation.sanctions``): the
    statements store nothing for them (``rows.not_sanctioned``), then the checked path says why. The content filters for
    ``language`` come first: a blocked message is refused (its log line committed, unless the
    client is sanctioned: then the sanction is the answer), a masked or flagged one goes the
    transaction, with its log lines. ``opens``: the client's page says the message opens the
    conversation (it showed none). It only orders the tries: on PostgreSQL the write transaction
    then tries the opening first, with no try in a conversation they have before it; a page that
    is wrong (another tab opened it meanwhile) costs one statement more, never a second message."""
    screened = filters.screen(body, language)
    if screened.blocked_by is not None:
        sanctions.check_may_send(client_id, now)
        with write_transaction():
            filters.refuse(screened, author_id=client_id, profile_id=profile_id, now=now)
        raise filters.blocked()
    body = screened.body if screened.hit else body
    try:
        clean = clean_body(body, max_length, required=photo is None), clean_token(token)
    except ValidationError:
        clean = None
    if clean is not None and photo is None and reply_to_id is None and not screened.hit and not opens:
        with single_statement_write() as alone:
            stored = postgresql.store(client_id, profile_id, *clean, now, session_version,
                                      held_and_active=True) if alone else None
            if stored is not None:
                events.record(events.MessagePosted(stored[1].message))
        if stored is not None:
            return stored[1]
    with write_transaction():
        plain = clean is not None and reply_to_id is None
        stored = _store(client_id, profile_id, *clean, now, session_version, opens) if plain else None
        if stored is not None:
            if photo is not None:
                records.attach(stored[1].message, stored[0].id, client_id, photo, now)
            posted = _settle_snapshot(*stored, now, ends_unit=not screened.hit)  # the filters' lines follow
        else:
            client = db.session.get(User, client_id)
            if client is None or not client.active or client.session_version > session_version:
                raise NotLoggedIn(_l("Please log in to see this page."))
            posted = post_client_message(client, profile_id, body, token, now, max_length, photo, reply_to_id)
        if screened.hit and posted.created:
            filters.record_hits(screened, posted.message, author_id=client_id, profile_id=profile_id, now=now)
    return posted


def post_client_message(client: User, profile_id: int, body: str | None, token: str | None, now: datetime,
                        max_length: int = MAX_BODY, photo: NewPhoto | None = None,
                        reply_to_id: int | None = None) -> Posted:
    """The checked path, in the caller's write transaction: the sender loaded, their role checked,
    the input refused with a clear message, the conversation created on a first message, the
    message it answers (if any) checked to be of the conversation. Returns ORM rows."""
    if not client.is_client:
        raise Forbidden(_l("Only clients write to profiles."))
    sanctions.check_may_send(client.id, now)
    body, token = clean_body(body, max_length, required=photo is None), clean_token(token)
    conversation = (_client_conversation(client.id, profile_id)
                    or get_or_create_conversation(client, _active_profile(profile_id), now))
    was_active = activity.is_active(conversation.awaiting_reply_since, conversation.last_message_at, now)
    if "client" not in conversation.__dict__:
        set_committed_value(conversation, "client", client)
    posted = insert_message(conversation, sender=Sender.CLIENT, author_id=client.id, body=body,
                            client_token=token, created_at=now, **check_reply_to(conversation.id, reply_to_id))
    if not posted.created:
        return posted
    if photo is not None:
        records.attach(posted.message, conversation.id, client.id, photo, now)
    pending.record(posted.message.id, client.id, conversation.profile_id, conversation.id, now)
    reload_keeping_links(conversation, posted.message, cached_statement(
        ("sending.counters",), lambda: orm_rows(Conversation, rows.counters())),
        {"conversation_id_": conversation.id, "now_": now})
    return _settle(conversation, posted, was_active, now)


def get_or_create_conversation(client: User, profile: Profile, now: datetime) -> Conversation:
    """The unique conversation of this client with this profile: one ``INSERT … ON CONFLICT DO
    NOTHING`` (the unique index settles races), read only when it was there already. The profile
    comes linked to it, for the pushes."""
    conversation = db.session.scalars(cached_statement(("sending.new_conversation",), lambda: orm_rows(
        Conversation,
        dialect_insert(Conversation.__table__)
        .values(client_id=bindparam("client_id_"), profile_id=bindparam("profile_id_"), created_at=bindparam("now_"))
        .on_conflict_do_nothing(index_elements=["client_id", "profile_id"]))),
        {"client_id_": client.id, "profile_id_": profile.id, "now_": now}).first()
    if conversation is None:
        conversation = _find(client.id, profile.id)
    set_committed_value(conversation, "profile", profile)
    return conversation


def _find(client_id: int, profile_id: int) -> Conversation | None:
    return db.session.scalar(select(Conversation).where(Conversation.client_id == client_id,
                                                        Conversation.profile_id == profile_id))


def _store(client_id: int, profile_id: int, body: str, token: str, now: datetime, session_version: int,
           opens: bool = False):
    """The message in the client's conversation with the profile; on PostgreSQL also a first
    message, with the conversation it opens (tried first when the page says it ``opens`` it).
    None: the checked path decides."""
    if db.session.get_bind().dialect.name == "postgresql":
        generic_plans()  # keyed statements, here and in the decision that follows: planned once
        tries = (postgresql.store_first, postgresql.store) if opens else (postgresql.store, postgresql.store_first)
        for attempt in tries:
            stored = attempt(client_id, profile_id, body, token, now, session_version)
            if stored is not None:
                return stored
        return None
    return sqlite.store(client_id, profile_id, body, token, now, session_version)


def _client_conversation(client_id: int, profile_id: int) -> Conversation | None:
    """The client's conversation with an active profile, in one query with its profile, holder and
    the profile's lock (for the moderator's "answering" flag)."""
    return db.session.scalar(
        select(Conversation).join(Conversation.profile)
        .options(contains_eager(Conversation.profile), joinedload(Conversation.moderator),
                 joinedload(Conversation.profile_lock))
        .where(Conversation.client_id == client_id, Conversation.profile_id == profile_id, Profile.active.is_(True))
        .execution_options(populate_existing=True))  # its holder may have changed since it was loaded


def _active_profile(profile_id: int) -> Profile:
    profile = db.session.get(Profile, profile_id)
    if profile is None or not profile.active:
        raise NotFound(_l("This profile does not exist."))
    return profile


def _settle(conversation, posted: Posted, was_active: bool, now: datetime) -> Posted:
    """After a new client message: make sure a moderator holds the conversation, or count it in
    its holder's load again if it had gone quiet; then it is recorded as posted."""
    # The decision comes last: on PostgreSQL decisions take turns until commit, so the turn is
    # held for the decision and the commit only.
    if conversation.assigned_moderator_id is None:
        moderator_id = assignment.assign_if_unassigned(conversation.id, now)
        if moderator_id is not None:  # the row as it is now, for the pushes (no extra UPDATE)
            set_committed_value(conversation, "assigned_moderator_id", moderator_id)
            set_committed_value(conversation, "assigned_at", now)
            holder = conversation.__dict__.get("moderator")
            if holder is None or holder.id != moderator_id:  # not linked by the decision
                db.session.expire(conversation, ["moderator", "profile_lock"])
    elif not was_active:
        activity.adjust_load(conversation.assigned_moderator_id, 1)  # it counts again
    events.record(events.MessagePosted(posted.message))
    return posted


def _settle_snapshot(conversation, posted: Posted, was_active: bool, seen: assignment.Seen | None, now: datetime,
                     ends_unit: bool = False) -> Posted:
    """``_settle`` for snapshots. A conversation nobody holds (a first message, or one whose holder
    let it go) is decided here: the decision links the holder and the profile's lock it read to the
    snapshot; a decision that took another way has them read once. ``seen``: what the statement that
    stored the message read of the profile's holder and the client's approach (its opening only).
    ``ends_unit``: nothing is written after it, so the decision may commit
    (``assignment.assign_if_unassigned``)."""
    if conversation.assigned_moderator_id is not None:
        return _settle(conversation, posted, was_active, now)
    moderator_id = assignment.assign_if_unassigned(conversation.id, now, pushed=conversation, ends_unit=ends_unit,
                                                   seen=seen)
    if moderator_id is not None:
        conversation.assigned_moderator_id, conversation.assigned_at = moderator_id, now
        holder = getattr(conversation, "moderator", None)
        if holder is None or holder.id != moderator_id:  # not linked by the decision
            row = db.session.execute(cached_statement(("sending.holder_and_lock",), _holder_and_lock_statement),
                                     {"moderator_": moderator_id, "profile_": conversation.profile_id}).first()._mapping
            conversation.moderator, conversation.profile_lock = rows.HOLDER.snapshot(row), rows.LOCK.snapshot(row)
    events.record(events.MessagePosted(posted.message))
    return posted


def _holder_and_lock_statement():
    users, locks_table = User.__table__, ProfileLock.__table__
    return (select(*rows.HOLDER.labelled(users), *rows.LOCK.labelled(locks_table))
            .select_from(users.outerjoin(locks_table, locks_table.c.profile_id == bindparam("profile_")))
            .where(users.c.id == bindparam("moderator_")))
