"""Expiring profile and client locks.

Invariants and what guards them (measured races: a lock row taken by a conditional upsert
was exact on PostgreSQL and SQLite; read-then-upsert and plain DELETE were not):

* one holder per profile / per client: ``INSERT … ON CONFLICT (profile_id|client_id) DO UPDATE
  … WHERE expires_at < now RETURNING token`` — a row back means the caller holds the lock, and
  an unexpired lock is never overwritten;
* a lock expires by itself: every check compares ``expires_at`` with ``now``; the cleaning job
  only deletes rows that no check would honour anyway;
* only the holder releases: a release names its owner, never a plain delete by profile or
  client alone (which would free the next holder's lock). The engine's releases name the holder
  by moderator (``stop_answering``, ``release_profile_locks``; the client lock in
  ``assignment.approach_done``); a caller that keeps the token it was given releases or extends
  by token (``release_*_lock``, ``extend_*_lock``);
* fencing: what a lock protects is decided in the transaction that reads the lock: the
  assignment reads the client lock, under the decisions' turn, in the transaction that assigns;
  a token holder re-checks with ``holds_*`` in the transaction of its write.

Callers run these inside ``write_transaction`` and pass ``now`` explicitly.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, case, delete, or_, select, update
from sqlalchemy.orm import joinedload

from ..database import cached_statement, dialect_insert
from ..extensions import db
from ..models import ClientLock, ProfileLock
from . import events

ANSWERING = "answering"  # profile lock type: its moderator is typing an answer (balancing waits)


@dataclass(frozen=True)
class Held:
    token: str
    expires_at: datetime


def _acquire(model, key: str, values: dict, now: datetime, seconds: int) -> Held | None:
    token = secrets.token_hex(16)
    expires_at = now + timedelta(seconds=seconds)
    row = dict(values, token=token, locked_at=now, expires_at=expires_at)
    won = db.session.execute(cached_statement(("acquire", model.__tablename__, tuple(sorted(row))),
                                      lambda: _acquire_statement(model, key, sorted(row))), row).scalar()
    return Held(token, expires_at) if won == token else None


def _acquire_statement(model, key: str, names: list[str]):
    table = model.__table__
    statement = dialect_insert(table).values({name: bindparam(name, type_=table.c[name].type) for name in names})
    return statement.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={name: statement.excluded[name] for name in names if name != key},
        where=table.c.expires_at < bindparam("locked_at", type_=table.c.locked_at.type),
    ).returning(table.c.token)


def lock_profile(profile_id: int, moderator_id: int, now: datetime, seconds: int | None = None,
                 lock_type: str = "assignment") -> Held | None:
    """Reserve a profile for a moderator; None when someone else holds an unexpired lock."""
    return _acquire(ProfileLock, "profile_id",
                    {"profile_id": profile_id, "moderator_id": moderator_id, "lock_type": lock_type}, now,
                    seconds or current_app.config["PROFILE_LOCK_SECONDS"])


def lock_client(client_id: int, profile_id: int, moderator_id: int, now: datetime,
                seconds: int | None = None, reason: str = "approach") -> Held | None:
    """Reserve a client for one moderator/profile; None when another approach is under way."""
    return _acquire(ClientLock, "client_id", {"client_id": client_id, "profile_id": profile_id,
                                              "moderator_id": moderator_id, "lock_reason": reason}, now,
                    seconds or current_app.config["CLIENT_LOCK_SECONDS"])


def _holds(model, token: str, now: datetime) -> bool:
    return db.session.scalar(select(model.id).where(model.token == token, model.expires_at >= now)) is not None


def holds_profile(token: str, now: datetime) -> bool:
    """Fencing check: call in the transaction of the write the lock protects."""
    return _holds(ProfileLock, token, now)


def holds_client(token: str, now: datetime) -> bool:
    return _holds(ClientLock, token, now)


def _extend(model, token: str, now: datetime, seconds: int) -> datetime | None:
    expires_at = now + timedelta(seconds=seconds)
    result = db.session.execute(
        update(model).where(model.token == token, model.expires_at >= now).values(expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )
    return expires_at if result.rowcount == 1 else None


def extend_profile_lock(token: str, now: datetime, seconds: int | None = None) -> datetime | None:
    return _extend(ProfileLock, token, now, seconds or current_app.config["PROFILE_LOCK_SECONDS"])


def extend_client_lock(token: str, now: datetime, seconds: int | None = None) -> datetime | None:
    return _extend(ClientLock, token, now, seconds or current_app.config["CLIENT_LOCK_SECONDS"])


def _release(model, token: str) -> bool:
    result = db.session.execute(delete(model).where(model.token == token).execution_options(synchronize_session=False))
    return result.rowcount == 1


def release_profile_lock(token: str) -> bool:
    """Release by owner token only: a stale holder cannot free the next holder's lock."""
    return _release(ProfileLock, token)


def release_client_lock(token: str) -> bool:
    return _release(ClientLock, token)


def start_answering(conversation_id: int, moderator_id: int, now: datetime,
                    seconds: int | None = None) -> int | None:
    """The moderator types in one of their conversations: lock its profile for them while they
    answer (at most ``seconds``; typing does not extend it), so no balancing pass moves the
    profile from under their reply. Returns the profile locked; None when they do not hold the
    conversation, a lock on the profile is already held (theirs, still running, or someone
    else's), nothing waits for an answer there, or they answered in the last
    the setting ``TYPING_LAG_SECONDS`` (the page's typing signal may reach the server after the answer it
    was typed for: it must not lock again)."""
    from ..models import Conversation

    answered_before = now - timedelta(seconds=current_app.config["TYPING_LAG_SECONDS"])
    profile_id = db.session.scalar(select(Conversation.profile_id).where(
        Conversation.id == conversation_id, Conversation.assigned_moderator_id == moderator_id,
        Conversation.awaiting_reply_since.is_not(None),
        or_(Conversation.last_profile_message_at.is_(None), Conversation.last_profile_message_at < answered_before)))
    if profile_id is None:
        return None
    held = lock_profile(profile_id, moderator_id, now, seconds, lock_type=ANSWERING)
    if held is None:
        return None
    events.record(events.LockChanged(moderator_id, profile_id))
    return profile_id


def stop_answering(profile_id: int, moderator_id: int) -> bool:
    """The answer was sent: the moderator's answering lock on the profile goes."""
    result = db.session.execute(delete(ProfileLock).where(ProfileLock.profile_id == profile_id,
                                                          ProfileLock.moderator_id == moderator_id,
                                                          ProfileLock.lock_type == ANSWERING)
                                .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    events.record(events.LockChanged(moderator_id, profile_id))
    return True


def profile_locks_by_profile(now: datetime, moderator_id: int | None = None) -> dict[int, ProfileLock]:
    """Active profile locks keyed by profile (of one moderator, or everyone's)."""
    query = select(ProfileLock).where(ProfileLock.expires_at >= now)
    if moderator_id is not None:
        query = query.where(ProfileLock.moderator_id == moderator_id)
    return {lock.profile_id: lock for lock in db.session.scalars(query)}


def release_profile_locks_of(profile_id: int, moderator_id: int) -> bool:
    """The moderator no longer holds the profile (it moved or was let go): their lock on it goes."""
    return release_profile_locks({profile_id: moderator_id}) == 1


def release_profile_locks(former_holders: dict[int, int]) -> int:
    """``{profile: moderator}``: each moderator's lock on that profile goes (one statement);
    returns how many went."""
    if not former_holders:
        return 0
    return db.session.execute(
        delete(ProfileLock).where(ProfileLock.profile_id.in_(sorted(former_holders)),
                                  ProfileLock.moderator_id == case(former_holders, value=ProfileLock.profile_id))
        .execution_options(synchronize_session=False)).rowcount


def force_unlock_profile(profile_id: int) -> bool:
    """Admin override (a granted unlock request): frees the profile whoever holds it."""
    result = db.session.execute(delete(ProfileLock).where(ProfileLock.profile_id == profile_id)
                                .execution_options(synchronize_session=False))
    return result.rowcount == 1


def clean_expired(now: datetime) -> int:
    """Delete expired locks of both kinds; returns how many."""
    removed = 0
    for model in (ProfileLock, ClientLock):
        removed += db.session.execute(delete(model).where(model.expires_at < now)
                                      .execution_options(synchronize_session=False)).rowcount
    return removed


def active_profile_locks(now: datetime) -> list[ProfileLock]:
    """With their profile and moderator (every moderator's locks panel names both, and refreshes
    every 30 s)."""
    return list(db.session.scalars(select(ProfileLock).where(ProfileLock.expires_at >= now)
                                   .options(joinedload(ProfileLock.profile), joinedload(ProfileLock.moderator))
                                   .order_by(ProfileLock.expires_at)))


def active_client_locks(now: datetime) -> list[ClientLock]:
    return list(db.session.scalars(select(ClientLock).where(ClientLock.expires_at >= now)
                                   .order_by(ClientLock.expires_at)))
