"""Conversations and messages: posting, replying, reading history."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Select, bindparam, case, func, literal_column, select, true, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from ..database import dialect_insert, loaded, cached_statement, single_statement_write
from ..extensions import db
from ..models import Conversation, Message, Profile, ProfileLock, Role, User
from ..models.chat import Sender
from . import assignment, inactivity, locks, pending
from . import moderator_queue
from .errors import Forbidden, NotFound, ValidationError
from .snapshots import ConversationSnapshot, Selected, Snapshot

MAX_BODY = 4000
MAX_TOKEN = 64


@dataclass
class Posted:
    message: Message | Snapshot  # a snapshot when it was stored for the pushes only (``post_as_session_client``)
    created: bool  # False when the same client token was already stored (a re-send)
    # Conversations handed out as a side effect ({conversation id: moderator id}): a reply ends
    # the moderator's approach of the client, and the client's waiting conversations go out.
    assigned: dict[int, int] = field(default_factory=dict)
    lock_released: bool = False  # the reply ended the moderator's "answering" lock on the profile


def clean_body(body: str | None, max_length: int = MAX_BODY) -> str:
    body = (body or "").replace("\r\n", "\n").strip()
    if not body:
        raise ValidationError(_l("A message cannot be empty."))
    if len(body) > max_length:
        raise ValidationError(_l("A message is at most %(n)d characters long.", n=max_length))
    return body


def clean_token(token: str | None) -> str:
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN or not token.replace("-", "").isalnum():
        raise ValidationError(_l("The message has no valid identifier; reload the page."))
    return token


def _existing(conversation_id: int, token: str) -> Message | None:
    return db.session.scalar(
        select(Message).where(Message.conversation_id == conversation_id, Message.client_token == token)
    )


def get_or_create_conversation(client: User, profile: Profile, now: datetime) -> Conversation:
    """The unique conversation of this client with this profile (unique index settles races)."""
    conversation = find_conversation(client.id, profile.id)
    if conversation is not None:
        return conversation
    try:
        with db.session.begin_nested():
            conversation = Conversation(client_id=client.id, profile_id=profile.id, created_at=now)
            db.session.add(conversation)
    except IntegrityError:
        conversation = find_conversation(client.id, profile.id)
    return conversation


def find_conversation(client_id: int, profile_id: int) -> Conversation | None:
    return db.session.scalar(
        select(Conversation).where(Conversation.client_id == client_id, Conversation.profile_id == profile_id)
    )


def _orm_rows(model, dml):
    """A Core ``INSERT``/``UPDATE … RETURNING`` whose row comes back as the ORM object (new, or the
    loaded one refreshed): a fraction of the ORM's DML machinery for one row."""
    return (select(model).from_statement(dml.returning(*model.__table__.c))
            .execution_options(populate_existing=True))


def _reload_keeping_links(conversation: Conversation, message: Message, statement,
                          params: dict) -> Conversation | None:
    """Run a conversation ``UPDATE … RETURNING`` (``_orm_rows``) that reloads the row, and keep the rows
    already loaded beside it linked (``_links``), and the message to it: the pushes render them
    next, without lazy-load round trips."""
    links = _links(conversation)
    updated = db.session.execute(statement, params).scalars().first()
    if updated is None:
        return None
    _relink(conversation, message, links)
    return updated


def _links(conversation: Conversation) -> dict:
    """The rows loaded beside a conversation: client, profile, moderator, the profile's lock."""
    return {name: conversation.__dict__[name] for name in ("client", "profile", "moderator", "profile_lock")
            if name in conversation.__dict__}


def _relink(conversation: Conversation, message: Message, links: dict) -> None:
    """After the conversation row was reloaded: its loaded rows linked again (the moderator and the
    profile's lock only if it is still the holder), and the message to it."""
    moderator = links.get("moderator")
    if "moderator" in links and (moderator.id if moderator is not None else None) != conversation.assigned_moderator_id:
        del links["moderator"]  # changed hands meanwhile: loaded when needed
        links.pop("profile_lock", None)
    for name, value in links.items():
        set_committed_value(conversation, name, value)
    set_committed_value(message, "conversation", conversation)


def _insert_message(conversation: Conversation, **fields) -> Posted:
    """One statement: ``INSERT … ON CONFLICT (conversation_id, client_token) DO NOTHING RETURNING``.
    No row back means the same token was stored before (a re-send): return that message."""
    names = tuple(sorted(fields))
    statement = cached_statement(("chat.insert_message", names), lambda: _orm_rows(
        Message,
        dialect_insert(Message.__table__)
        .values(conversation_id=bindparam("conversation_id_"), **{name: bindparam(f"{name}_") for name in names})
        .on_conflict_do_nothing(index_elements=["conversation_id", "client_token"])
    ))
    params = {f"{name}_": value for name, value in fields.items()}
    params["conversation_id_"] = conversation.id
    message = db.session.scalars(statement, params).first()
    if message is not None:
        return Posted(message, created=True)
    return Posted(_existing(conversation.id, fields["client_token"]), created=False)


def post_client_message(client: User, profile_id: int, body: str, token: str, now: datetime,
                        max_length: int = MAX_BODY) -> Posted:
    """Store a client's message once (by its client token), mark the conversation waiting and
    make sure a moderator holds it."""
    if not client.is_client:
        raise Forbidden(_l("Only clients write to profiles."))
    body, token = clean_body(body, max_length), clean_token(token)
    if db.session.get_bind().dialect.name == "postgresql":
        return _post_in_one_statement(client, profile_id, body, token, now)
    conversation = (_client_conversation(client.id, profile_id)
                    or get_or_create_conversation(client, _active_profile(profile_id), now))
    was_active = _was_active(conversation.awaiting_reply_since, conversation.last_message_at, now)
    if "client" not in conversation.__dict__:
        set_committed_value(conversation, "client", client)
    return _settle(conversation, _store_client_message(conversation, client, body, token, now), was_active, now)


def post_as_session_client(client_id: int, profile_id: int, body: str | None, token: str | None, now: datetime,
                           max_length: int = MAX_BODY) -> Posted | None:
    """The usual case of ``post_client_message`` with no user loaded first: the request knows who
    its session says is writing, and the statement that finds the conversation (on PostgreSQL
    the one that stores the message) checks them, an active client, and returns them. None when
    it stored nothing: ``post_client_message`` with the loaded user decides then (a first message,
    input to refuse, a re-send, an error to show). The message and the rows its pushes render come
    back as snapshots (``snapshots``), the client as a User."""
    try:
        body, token = clean_body(body, max_length), clean_token(token)
    except ValidationError:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        stored = _store_snapshot(client_id, profile_id, body, token, now)
    else:
        stored = _store_snapshot_in_statements(client_id, profile_id, body, token, now)
    return None if stored is None else _settle_snapshot(*stored, now)


def post_as_session_client_at_once(client_id: int, profile_id: int, body: str | None, token: str | None,
                                   now: datetime, max_length: int = MAX_BODY) -> Posted | None:
    """PostgreSQL, the most usual case of all: a client writes in a conversation that a moderator
    holds and that is still active. Nothing follows the statement then (no decision, no load to
    count again), so it is the whole write and runs as its own transaction: one round trip instead
    of three (``single_statement_write``). None when it is not that case (nothing stored; on
    SQLite, nothing run): ``post_as_session_client`` in a write transaction decides."""
    with single_statement_write() as alone:
        if not alone:
            return None
        try:
            body, token = clean_body(body, max_length), clean_token(token)
        except ValidationError:
            return None
        stored = _store_snapshot(client_id, profile_id, body, token, now, held_and_active=True)
    return None if stored is None else stored[1]


def _client_conversation(client_id: int, profile_id: int) -> Conversation | None:
    """SQLite: the client's conversation with an active profile, in one query with its profile,
    holder and the profile's lock (for the moderator's "answering" flag)."""
    return db.session.scalar(cached_statement(("chat.client_conversation",), lambda: (
        select(Conversation).join(Conversation.profile)
        .options(contains_eager(Conversation.profile), joinedload(Conversation.moderator),
                 joinedload(Conversation.profile_lock))
        .where(Conversation.client_id == bindparam("client_id_"), Conversation.profile_id == bindparam("profile_id_"),
               Profile.active.is_(True))
        .execution_options(populate_existing=True)  # its holder may have changed since it was loaded
    )), {"client_id_": client_id, "profile_id_": profile_id})


def _post_in_one_statement(client: User, profile_id: int, body: str, token: str, now: datetime) -> Posted:
    """PostgreSQL: the usual case, an existing conversation, is one statement. When it stores
    nothing, the conversation is created (a first message) or found (a re-sent message) and the
    statement runs once more."""
    stored = _store_in_existing_conversation(client, profile_id, body, token, now)
    if stored is None:
        conversation = get_or_create_conversation(client, _active_profile(profile_id), now)
        stored = _store_in_existing_conversation(client, profile_id, body, token, now)
        if stored is None:
            existing = _existing(conversation.id, token)  # a re-sent message
            if existing is None:  # the profile was hidden meanwhile
                raise NotFound(_l("This profile does not exist."))
            return Posted(existing, created=False)
    return _settle(*stored, now)


def _active_profile(profile_id: int) -> Profile:
    profile = db.session.get(Profile, profile_id)
    if profile is None or not profile.active:
        raise NotFound(_l("This profile does not exist."))
    return profile


def _settle(conversation: Conversation, posted: Posted, was_active: bool, now: datetime) -> Posted:
    """After a new client message: make sure a moderator holds the conversation, or count it in
    its holder's load again if it had gone quiet."""
    if not posted.created:
        return posted
    # The decision comes last: on PostgreSQL decisions take turns until commit, so the turn is
    # held for the decision and the commit only.
    if conversation.assigned_moderator_id is None:
        moderator_id = assignment.assign_if_unassigned(conversation.id, now)
        if moderator_id is not None:  # the row as it is now, for the pushes (no extra UPDATE)
            set_committed_value(conversation, "assigned_moderator_id", moderator_id)
            set_committed_value(conversation, "assigned_at", now)
            db.session.expire(conversation, ["moderator", "profile_lock"])
    elif not was_active:
        moderator_queue.adjust_load(conversation.assigned_moderator_id, 1)  # it counts again
    return posted


def _store_client_message(conversation: Conversation, client: User, body: str, token: str, now: datetime) -> Posted:
    """Store the message once (by its token), its pending row, and move the conversation's
    counters in SQL (never from a value read earlier); the conversation row comes back reloaded
    for the pushes that follow. SQLite: three statements (PostgreSQL does it all in one,
    ``_store_in_existing_conversation``)."""
    params = {"conversation_id_": conversation.id, "now_": now}
    posted = _insert_message(conversation, sender=Sender.CLIENT, author_id=client.id, body=body,
                             client_token=token, created_at=now)
    if posted.created:
        pending.record(posted.message, conversation, now)
        _reload_keeping_links(conversation, posted.message, cached_statement(
            ("chat.client_message_counters",), lambda: _orm_rows(Conversation, _client_counters())), params)
    return posted


def _store_in_existing_conversation(client: User, profile_id: int, body: str, token: str,
                                    now: datetime) -> tuple[Conversation, Posted, bool] | None:
    """PostgreSQL, the usual case: an active client writes in a conversation they already have. One
    statement checks the sender, finds the conversation, stores the message, its pending row and
    the counters, and returns them with the profile, the holder and the profile's lock (for the
    pushes). None when nothing was stored: not an active client, no such conversation, a hidden
    profile, or the token was stored before."""
    row = db.session.execute(cached_statement(("chat.client_message_in_existing",), _existing_conversation_statement),
                             _statement_params(client.id, profile_id, body, token, now)).first()
    if row is None:
        return None
    message, conversation, profile, moderator, lock, was_active = row
    for name, value in (("client", client), ("profile", profile), ("moderator", moderator), ("profile_lock", lock)):
        set_committed_value(conversation, name, value)
    set_committed_value(message, "conversation", conversation)
    return conversation, Posted(message, created=True), was_active


# What the pushes of a client message read of the profile, the holder and the profile's lock:
# every column returned costs the driver, the result and the ORM on each message. The objects
# come back with these loaded; anything else is loaded when first read, as any unloaded column.
_PUSHED = {
    Profile: [Profile.__table__.c[name] for name in ("id", "name", "avatar_filename", "active")],
    User: [User.__table__.c[name] for name in ("id", "role", "display_name", "locale", "active")],
    ProfileLock: [ProfileLock.__table__.c[name] for name in ("id", "profile_id", "moderator_id", "expires_at",
                                                             "lock_type")],
}


_SENDER = User.__table__.alias("sender")  # the client who writes, checked and returned by the statement

# The snapshot statement's columns, side by side: the message, its conversation, the profile, the
# holder, the profile's lock and the sender.
_MESSAGE = Selected(Message, "m", list(Message.__table__.c))
_CONVERSATION = Selected(Conversation, "c", list(Conversation.__table__.c))
_PROFILE = Selected(Profile, "p", _PUSHED[Profile])
_HOLDER = Selected(User, "u", _PUSHED[User])
_LOCK = Selected(ProfileLock, "l", _PUSHED[ProfileLock])
_SENDER_COLUMNS = Selected(User, "s", _PUSHED[User])


def _in_existing_conversation(columns, held_and_active: bool = False) -> Select:
    """PostgreSQL, one statement: check the sender (an active client), find their conversation with
    the (active) profile (held by a moderator and still active, with ``held_and_active``), store the
    message (unless its token was stored before), its pending row and the conversation's counters,
    and select ``columns(stored, counted, target)`` of the stored message, the counted conversation,
    the profile, the holder (``users``), the profile's lock and the sender (``_SENDER``)."""
    c, p = Conversation.__table__.c, Profile.__table__.c
    sender = _SENDER.c
    was_active = (c.awaiting_reply_since.is_not(None)
                  | (c.last_message_at >= bindparam("active_since_", type_=DateTime())))
    # Held and active: ``was_active`` is the condition, true on every row (not computed twice: the
    # statement stays under psycopg's 4,096 bytes, past which it is parsed again at every run).
    target = (select(c.id, (true() if held_and_active else was_active).label("was_active"))
              .join_from(Conversation.__table__, Profile.__table__, p.id == c.profile_id)
              .join(_SENDER, sender.id == c.client_id)
              .where(c.client_id == bindparam("client_"), c.profile_id == bindparam("profile_"), p.active.is_(True),
                     sender.role == Role.CLIENT, sender.active.is_(True)))
    if held_and_active:
        target = target.where(c.assigned_moderator_id.is_not(None), was_active)
    target = target.cte("target")
    messages = Message.__table__
    stored = (dialect_insert(messages)
              .from_select(["conversation_id", "sender", "author_id", "body", "client_token", "created_at"],
                           select(target.c.id, *(bindparam(f"{name}_", type_=messages.c[name].type) for name in
                                                 ("sender", "author_id", "body", "client_token", "created_at"))))
              .on_conflict_do_nothing(index_elements=["conversation_id", "client_token"])
              .returning(*messages.c)
              .cte("stored"))
    counted = (_client_counters(select(stored.c.conversation_id).scalar_subquery())
               .returning(*Conversation.__table__.c)
               .cte("counted"))
    locks_table, users = ProfileLock.__table__, User.__table__
    return (select(*columns(stored, counted, target))
            .select_from(stored.join(counted, counted.c.id == stored.c.conversation_id)
                         .join(target, target.c.id == counted.c.id)
                         .join(Profile.__table__, p.id == counted.c.profile_id)
                         .join(_SENDER, sender.id == counted.c.client_id)
                         .outerjoin(users, users.c.id == counted.c.assigned_moderator_id)
                         .outerjoin(locks_table, locks_table.c.profile_id == counted.c.profile_id))
            .add_cte(pending.recorded_with(stored)))


def _existing_conversation_statement():
    """The statement as ORM objects (message, conversation, profile, holder, lock) and ``was_active``,
    for a sender already loaded (``post_client_message``)."""
    rows = _in_existing_conversation(lambda stored, counted, target: [
        *stored.c, *counted.c, *_PUSHED[Profile], *_PUSHED[User], *_PUSHED[ProfileLock], target.c.was_active])
    return (select(Message, Conversation, Profile, User, ProfileLock, literal_column("was_active"))
            .from_statement(rows)
            .execution_options(populate_existing=True))


def _snapshot_statement(held_and_active: bool = False):
    """The statement as labelled columns, for ``_store_snapshot``."""
    return _in_existing_conversation(held_and_active=held_and_active, columns=lambda stored, counted, target: [
        *_MESSAGE.labelled(stored), *_CONVERSATION.labelled(counted), *_PROFILE.labelled(Profile.__table__),
        *_HOLDER.labelled(User.__table__), *_LOCK.labelled(ProfileLock.__table__), *_SENDER_COLUMNS.labelled(_SENDER),
        target.c.was_active])


def _store_snapshot(client_id: int, profile_id: int, body: str, token: str, now: datetime,
                    held_and_active: bool = False) -> tuple[ConversationSnapshot, Posted, bool] | None:
    """``_store_in_existing_conversation`` returning snapshots for the pushes (the sender is a User,
    the request's user next); only in a held, still active conversation with ``held_and_active``.
    None when nothing was stored."""
    statement = cached_statement(("chat.client_message_snapshot", held_and_active),
                         lambda: _snapshot_statement(held_and_active))
    row = db.session.connection().execute(statement, _statement_params(client_id, profile_id, body, token, now)).first()
    if row is None:
        return None
    row = row._mapping
    conversation = _CONVERSATION.snapshot(row, ConversationSnapshot)
    return conversation, _linked(_MESSAGE.snapshot(row), conversation, row), row["was_active"]


def _store_snapshot_in_statements(client_id: int, profile_id: int, body: str, token: str,
                                  now: datetime) -> tuple[ConversationSnapshot, Posted, bool] | None:
    """SQLite, ``_store_snapshot`` in three statements (under ``BEGIN IMMEDIATE``): the checked
    conversation with what the pushes render, the message (unless its token was stored before) and
    its pending row, the counters. None when nothing was stored."""
    connection = db.session.connection()
    found = connection.execute(cached_statement(("chat.client_conversation_snapshot",), _conversation_snapshot_statement),
                               {"client_": client_id, "profile_": profile_id}).first()
    if found is None:
        return None
    found = found._mapping
    conversation = _CONVERSATION.snapshot(found, ConversationSnapshot)
    was_active = _was_active(conversation.awaiting_reply_since, conversation.last_message_at, now)
    stored = connection.execute(cached_statement(("chat.client_message_insert_snapshot",), lambda: (
        dialect_insert(Message.__table__)
        .values({name: bindparam(f"{name}_", type_=Message.__table__.c[name].type) for name in
                 ("conversation_id", "sender", "author_id", "body", "client_token", "created_at")})
        .on_conflict_do_nothing(index_elements=["conversation_id", "client_token"])
        .returning(*_MESSAGE.labelled(Message.__table__))
    )), {"conversation_id_": conversation.id, "sender_": Sender.CLIENT, "author_id_": client_id, "body_": body,
         "client_token_": token, "created_at_": now}).first()
    if stored is None:
        return None
    message = _MESSAGE.snapshot(stored._mapping)
    pending.record(message, conversation, now)
    counted = connection.execute(cached_statement(("chat.client_message_counters_snapshot",), lambda: (
        _client_counters().returning(*_CONVERSATION.labelled(Conversation.__table__)))),
        {"conversation_id_": conversation.id, "now_": now}).first()
    conversation.__dict__.update(_CONVERSATION.values(counted._mapping))
    return conversation, _linked(message, conversation, found), was_active


def _linked(message: Snapshot, conversation: ConversationSnapshot, row) -> Posted:
    """The message in its conversation, with the client (a User), the profile, the holder and the
    profile's lock the statement returned in ``row``."""
    conversation.client = loaded(User, _SENDER_COLUMNS.values(row).items())
    conversation.profile = _PROFILE.snapshot(row)
    conversation.moderator = _HOLDER.snapshot(row)
    conversation.profile_lock = _LOCK.snapshot(row)
    message.conversation = conversation
    return Posted(message, created=True)


def _conversation_snapshot_statement():
    """The sender (an active client)'s conversation with an active profile, with the profile, the
    holder, the profile's lock and the sender, as labelled columns."""
    c, p, sender, users, locks_table = (Conversation.__table__.c, Profile.__table__.c, _SENDER.c, User.__table__,
                                        ProfileLock.__table__)
    return (select(*_CONVERSATION.labelled(Conversation.__table__), *_PROFILE.labelled(Profile.__table__),
                   *_HOLDER.labelled(users), *_LOCK.labelled(locks_table), *_SENDER_COLUMNS.labelled(_SENDER))
            .select_from(Conversation.__table__.join(Profile.__table__, p.id == c.profile_id)
                         .join(_SENDER, sender.id == c.client_id)
                         .outerjoin(users, users.c.id == c.assigned_moderator_id)
                         .outerjoin(locks_table, locks_table.c.profile_id == c.profile_id))
            .where(c.client_id == bindparam("client_"), c.profile_id == bindparam("profile_"), p.active.is_(True),
                   sender.role == Role.CLIENT, sender.active.is_(True)))


def _settle_snapshot(conversation: ConversationSnapshot, posted: Posted, was_active: bool, now: datetime) -> Posted:
    """``_settle`` for snapshots. The rare conversation nobody held is assigned on ORM rows: the
    message and its conversation, loaded for it."""
    if conversation.assigned_moderator_id is not None:
        return _settle(conversation, posted, was_active, now)
    message = db.session.get(Message, posted.message.id)
    set_committed_value(message.conversation, "client", conversation.client)
    return _settle(message.conversation, Posted(message, created=True), was_active, now)


def _statement_params(client_id: int, profile_id: int, body: str, token: str, now: datetime) -> dict:
    return {"client_": client_id, "profile_": profile_id, "b_client": client_id, "b_profile": profile_id,
            "sender_": Sender.CLIENT, "author_id_": client_id, "body_": body, "client_token_": token,
            "created_at_": now, "now_": now, "active_since_": now - assignment.ACTIVE_WINDOW}


def _client_counters(conversation_id=None):
    c = Conversation.__table__.c
    now = bindparam("now_", type_=DateTime())
    return (update(Conversation.__table__)
            .where(c.id == (bindparam("conversation_id_") if conversation_id is None else conversation_id))
            .values(pending_count=c.pending_count + 1,
                    awaiting_reply_since=case((c.awaiting_reply_since.is_(None), now), else_=c.awaiting_reply_since),
                    last_message_at=now, last_client_message_at=now))


def _was_active(awaiting_reply_since: datetime | None, last_message_at: datetime | None, now: datetime) -> bool:
    return awaiting_reply_since is not None or (
        last_message_at is not None and last_message_at >= now - assignment.ACTIVE_WINDOW)


def moderator_conversation(moderator: User, conversation_id: int, options=()) -> Conversation:
    """A conversation the moderator may see: only those assigned to them."""
    conversation = db.session.get(Conversation, conversation_id, options=options)
    if conversation is None:
        raise NotFound(_l("This conversation does not exist."))
    if conversation.assigned_moderator_id != moderator.id:
        raise Forbidden(_l("This conversation is not assigned to you."))
    return conversation


# With the client, the profile and its lock: the pushes that follow render them (the lock: the
# "answering" flag) without a query of their own.
_REPLY_LOAD = (joinedload(Conversation.client), joinedload(Conversation.profile), joinedload(Conversation.profile_lock))


def post_profile_reply(moderator: User, conversation_id: int, body: str, token: str, now: datetime,
                       max_length: int = MAX_BODY) -> Posted:
    """A moderator answers as the profile; the conversation stops waiting."""
    body, token = clean_body(body, max_length), clean_token(token)
    conversation = moderator_conversation(moderator, conversation_id, options=_REPLY_LOAD)
    posted = _insert_message(conversation, sender=Sender.PROFILE, author_id=moderator.id, body=body,
                             client_token=token, created_at=now)
    if posted.created:
        before = db.session.execute(select(Conversation.awaiting_reply_since, Conversation.last_message_at)
                                    .where(Conversation.id == conversation.id)).first()
        if not _was_active(before.awaiting_reply_since, before.last_message_at, now):
            moderator_queue.adjust_load(moderator.id, 1)  # writing again to a quiet client: active
        if "moderator" not in conversation.__dict__:
            set_committed_value(conversation, "moderator", moderator)  # the holder, checked above
        # Guarded by the assignment: a reply only lands while this moderator still holds it.
        c = Conversation.__table__.c
        updated = _reload_keeping_links(conversation, posted.message, cached_statement(("chat.reply_counters",), lambda: _orm_rows(
            Conversation,
            update(Conversation.__table__)
            .where(c.id == bindparam("conversation_id_"), c.assigned_moderator_id == bindparam("moderator_id_"))
            .values(awaiting_reply_since=None, pending_count=0, last_message_at=bindparam("now_", type_=DateTime()),
                    last_profile_message_at=bindparam("now_", type_=DateTime()))
        )), {"conversation_id_": conversation.id, "moderator_id_": moderator.id, "now_": now})
        if updated is None:
            raise Forbidden(_l("This conversation is not assigned to you."))
        inactivity.record_activity(moderator, now)
        pending.process_conversation(conversation.id, now)
        posted.lock_released = locks.stop_answering(conversation.profile_id, moderator.id)
        if posted.lock_released:  # it was the profile's one lock row, loaded above
            set_committed_value(conversation, "profile_lock", None)
        posted.assigned = assignment.approach_done(conversation.client_id, moderator.id, now)
    return posted


def history(conversation_id: int, *, before_id: int | None = None, after_id: int | None = None,
            limit: int = 50) -> list[Message]:
    """Messages in display order: the latest ``limit``, older than ``before_id``, or all newer
    than ``after_id`` (catch-up after a reconnect)."""
    query = select(Message).where(Message.conversation_id == conversation_id)
    if after_id is not None:
        return list(db.session.scalars(query.where(Message.id > after_id).order_by(Message.id).limit(500)))
    if before_id is not None:
        query = query.where(Message.id < before_id)
    rows = list(db.session.scalars(query.order_by(Message.id.desc()).limit(limit)))
    rows.reverse()
    return rows


def client_conversations(client_id: int) -> list[Conversation]:
    return list(
        db.session.scalars(
            select(Conversation)
            .where(Conversation.client_id == client_id, Conversation.last_message_at.is_not(None))
            .order_by(Conversation.last_message_at.desc())
        )
    )


def moderator_conversations(moderator_id: int, limit: int = 200, profile_id: int | None = None) -> list[Conversation]:
    """Waiting conversations first (newest waiting on top), then the rest by last message; only
    those written as ``profile_id`` when given."""
    waiting_first = case((Conversation.awaiting_reply_since.is_(None), 1), else_=0)
    statement = (
        select(Conversation)
        .options(joinedload(Conversation.client), joinedload(Conversation.profile),
                 joinedload(Conversation.profile_lock))  # the "answering" flags
        .execution_options(populate_existing=True)  # rows may have moved since they were loaded
        .where(Conversation.assigned_moderator_id == moderator_id)
        .order_by(waiting_first, Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(limit)
    )
    if profile_id is not None:
        statement = statement.where(Conversation.profile_id == profile_id)
    return list(db.session.scalars(statement))


def waiting_count() -> int:
    """Client messages waiting for an answer, over all conversations."""
    return db.session.scalar(
        select(func.coalesce(func.sum(Conversation.pending_count), 0)).where(
            Conversation.awaiting_reply_since.is_not(None)
        )
    )
