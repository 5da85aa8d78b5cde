"""The assignment engine's core: who answers which profile, and every change of hands.

A profile is given to one moderator for a while (``profile_assignments``); that moderator
answers all of the profile's conversations. New work goes to the least-loaded online moderator
in the queue (load = active conversations held; queue order breaks ties). A profile stays with
its holder while it has other active conversations and the holder is available; otherwise its
next conversation is a fresh decision, and the profile follows it.

Invariants and their guards:

* **a conversation has at most one moderator**: one column; the claim is a compare-and-set
  ``UPDATE … WHERE assigned_moderator_id IS NULL`` checked by its rowcount, exact on PostgreSQL
  at READ COMMITTED with many processes and on SQLite (callers run it inside
  ``write_transaction``: ``BEGIN IMMEDIATE`` there);
* **a profile has at most one moderator**: ``profile_assignments`` has one row per profile (its
  primary key); and a conversation can only name its profile's holder — a composite foreign key
  ``(profile_id, assigned_moderator_id) → profile_assignments`` with ``ON UPDATE CASCADE``, so the
  database refuses any conversation held by someone else, and moving a profile (a
  compare-and-set on the holder it read) moves its conversations in the same statement;
* **no client is approached by two moderators at once**: a first assignment takes the client's
  expiring lock (``locks.lock_client``: a conditional upsert, one holder per client, default
  30 s); while another moderator holds it, the client's other conversations wait (or go to that
  same moderator when their profile is free). The holder's reply ends the approach and frees
  the lock. Moves keep an approached client whole: while the lock runs, every move of its
  holder's profiles takes along the others holding that client's conversations, and the lock
  follows them (``move_profiles``); balancing leaves such work alone instead;
* **work is spread by load**: decisions take turns (a transaction-scoped advisory lock on
  PostgreSQL, the write lock on SQLite) and read loads after taking it, so concurrent new
  conversations do not all land on the same "least loaded" moderator.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import (DateTime, Integer, bindparam, case, cast, delete, func, insert, literal, null, select,
                        union_all, update)
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from ..database import cached_statement, dialect_insert, loaded, locked_statement_then_commit
from ..extensions import db
from ..models import (AssignmentChange, ChangeReason, ClientLock, Conversation, ProfileAssignment, ProfileLock,
                      QueueEntry, User)
from . import activity, events, locks, moderator_queue
from .moderation import log as moderation_log
from .snapshots import PUSHED, Selected, Snapshot


def least_loaded_online_moderator(now: datetime, exclude: set[int] | None = None) -> int | None:
    """The first of the moderator queue: lowest load counter, then queue order (see
    ``moderator_queue``); an index read, no count. Call it in the write transaction that acts on
    the answer: decisions take turns, and the read comes after taking the turn."""
    activity.take_decision_turn()
    query = moderator_queue.next_in_line()
    if exclude:
        query = query.where(QueueEntry.moderator_id.not_in(exclude))
    return db.session.scalar(query)


def record_change(conversation_id: int, from_id: int | None, to_id: int | None, reason: ChangeReason,
                  now: datetime) -> None:
    """Every change of hands is written down, in the transaction that makes it."""
    record_changes([conversation_id], from_id, to_id, reason, now)


def record_changes(conversation_ids, from_id: int | None, to_id: int | None, reason: ChangeReason,
                   now: datetime) -> None:
    """The same change for several conversations (a profile moving), in one statement."""
    _record([(cid, from_id, to_id) for cid in conversation_ids], reason, now)


def _record(changes, reason: ChangeReason, now: datetime) -> None:
    """``(conversation, from, to)`` changes of one reason, in one statement."""
    if not changes:
        return
    table = AssignmentChange.__table__
    db.session.execute(cached_statement(("record_change",), lambda: insert(table).values(
        conversation_id=bindparam("cid"), from_moderator_id=bindparam("from_id"), to_moderator_id=bindparam("to_id"),
        reason=bindparam("reason", type_=table.c.reason.type), changed_at=bindparam("now"))),
        [{"cid": cid, "from_id": from_id, "to_id": to_id, "reason": reason, "now": now}
         for cid, from_id, to_id in changes])


# -- profiles ---------------------------------------------------------------------------------
def holder(profile_id: int) -> int | None:
    return db.session.scalar(select(ProfileAssignment.moderator_id).where(ProfileAssignment.profile_id == profile_id))


def held_profiles(moderator_id: int) -> list[int]:
    return list(db.session.scalars(select(ProfileAssignment.profile_id)
                                   .where(ProfileAssignment.moderator_id == moderator_id)
                                   .order_by(ProfileAssignment.profile_id)))


def _take_profile(profile_id: int, moderator_id: int, now: datetime) -> bool:
    """Give a free profile to a moderator; False when someone holds it already."""
    inserted = db.session.execute(
        dialect_insert(ProfileAssignment)
        .values(profile_id=profile_id, moderator_id=moderator_id, assigned_at=now)
        .on_conflict_do_nothing(index_elements=["profile_id"])
        .returning(ProfileAssignment.profile_id)
    ).scalar()
    return inserted is not None


def move_profile(profile_id: int, from_id: int, to_id: int, now: datetime, reason: ChangeReason) -> list[int]:
    """Move a profile, with its held conversations, from the holder read by the caller to another
    moderator. Compare-and-set on that holder: two movers cannot both win. Returns the ids of the
    conversations that moved (sorted; with those of the profiles the move took along, see
    ``move_profiles``), empty when the profile had no longer ``from_id`` as holder."""
    moved = move_profiles([(profile_id, from_id, to_id)], now, reason)
    return sorted(cid for conversation_ids in moved.values() for cid in conversation_ids)


def move_profiles(moves, now: datetime, reason: ChangeReason) -> dict[int, list[int]]:
    """Several ``(profile, from holder, to)`` moves in a fixed number of statements, whatever
    their count: one compare-and-set ``UPDATE`` of the holders (a profile whose holder is no
    longer the one named stays put), whose ``ON UPDATE CASCADE`` hands the conversations over;
    then their stamps, the history, the load counters and the old holders' locks. Returns, per
    profile that moved, the ids of its conversations (sorted).

    An approached client moves whole: a move takes along the profiles its holder holds other
    conversations of a client they approach (a live client lock of theirs), transitively
    (``_tied``), to the same moderator, and that client's lock goes with them, restarted (the
    new holder approaches the client from now on, with a fresh owner token). All of such a
    group moves or none: when one of its holders changed meanwhile, the whole group stays."""
    moves = [(profile_id, from_id, to_id) for profile_id, from_id, to_id in moves if from_id != to_id]
    if not moves:
        return {}
    activity.take_decision_turn()  # the ties read below hold until the moves are made
    moves, approached = _tied(moves, now)
    if not moves:
        return {}
    source = {profile_id: from_id for profile_id, from_id, _ in moves}
    target = {profile_id: to_id for profile_id, _, to_id in moves}
    pa = ProfileAssignment.__table__.c
    moved = set(db.session.execute(
        update(ProfileAssignment.__table__)
        .where(pa.profile_id.in_(list(source)), pa.moderator_id == case(source, value=pa.profile_id))
        .values(moderator_id=case(target, value=pa.profile_id), assigned_at=now, last_moved_at=now)
        .returning(pa.profile_id)
    ).scalars())
    if not moved:
        return {}
    c = Conversation.__table__.c
    rows = db.session.execute(
        update(Conversation.__table__)
        .where(c.profile_id.in_(sorted(moved)), c.assigned_moderator_id.is_not(None))
        .values(assigned_at=now, last_moved_at=now)
        .returning(c.id, c.profile_id, c.awaiting_reply_since, c.last_message_at)
    ).all()
    by_profile: dict[int, list] = {profile_id: [] for profile_id in moved}
    for row in rows:
        by_profile[row.profile_id].append(row)
    changes, loads = [], {}
    for profile_id, from_id, to_id in moves:
        if profile_id not in moved:
            continue
        held = by_profile[profile_id]
        changes += [(cid, from_id, to_id) for cid in sorted(r.id for r in held)]
        active = activity.count_active([(r.id, r.awaiting_reply_since, r.last_message_at) for r in held], now)
        loads[from_id] = loads.get(from_id, 0) - active
        loads[to_id] = loads.get(to_id, 0) + active
    _record(changes, reason, now)
    activity.adjust_loads(loads)
    for profile_id, from_id, to_id in moves:
        if profile_id in moved:
            events.record(events.WorkMoved(from_id, to_id, tuple(sorted(r.id for r in by_profile[profile_id])), reason))
    locks.release_profile_locks({profile_id: source[profile_id] for profile_id in moved})
    _move_client_locks([(client_id, from_id, to_id) for client_id, from_id, to_id, profile_id in approached
                        if profile_id in moved], now)
    return {profile_id: sorted(r.id for r in by_profile[profile_id]) for profile_id in moved}


def _ties(profile_ids, now: datetime):
    """``(profile, tied profile, client, holder)``: for each conversation of ``profile_ids`` whose
    client is approached by its holder (a live client lock of theirs), every profile through
    which that holder holds a conversation of that client (the profile itself included)."""
    one, other, lock = Conversation.__table__.alias("one"), Conversation.__table__.alias("other"), ClientLock.__table__
    return db.session.execute(
        select(one.c.profile_id, other.c.profile_id, lock.c.client_id, lock.c.moderator_id).distinct()
        .select_from(one.join(lock, (lock.c.client_id == one.c.client_id)
                              & (lock.c.moderator_id == one.c.assigned_moderator_id) & (lock.c.expires_at >= now))
                     .join(other, (other.c.client_id == lock.c.client_id)
                           & (other.c.assigned_moderator_id == lock.c.moderator_id)))
        .where(one.c.profile_id.in_(sorted(profile_ids)))).all()


def _tied(moves, now: datetime):
    """The moves with what they take along, and the client locks that follow them.

    Profiles tied by approached clients (``_ties``) form groups, all held by the approaching
    moderator; a group moves whole to the target of its first planned move (a later planned move
    inside it goes there too). A group whose holder is not the one a planned move names, or whose
    holders changed (re-read under a row lock), is left out entirely: a client is never split.
    Returns ``(moves, [(client, from, to, profile)])``, one profile of the group per client lock."""
    parent: dict[int, int] = {}

    def root(profile_id: int) -> int:
        while parent.setdefault(profile_id, profile_id) != profile_id:
            profile_id = parent[profile_id]
        return profile_id

    holder_of: dict[int, int] = {}
    clients: list[tuple[int, int, int]] = []  # (profile, client, holder)
    seen = {profile_id for profile_id, _, _ in moves}
    frontier = set(seen)
    while frontier:
        found = _ties(frontier, now)
        frontier = set()
        for profile_id, tied, client_id, holder in found:
            parent[root(tied)] = root(profile_id)
            holder_of[profile_id] = holder_of[tied] = holder
            clients.append((profile_id, client_id, holder))
            if tied not in seen:
                seen.add(tied)
                frontier.add(tied)
    if not clients:
        return moves, []
    members: dict[int, set[int]] = {}
    for profile_id in seen:
        members.setdefault(root(profile_id), set()).add(profile_id)
    planned, groups, done = [], [], set()
    for profile_id, from_id, to_id in moves:
        group = root(profile_id)
        if group in done:
            continue
        done.add(group)
        if profile_id not in holder_of:
            planned.append((profile_id, from_id, to_id))
        elif holder_of[profile_id] == from_id:
            groups.append((group, from_id, to_id))
    tied_profiles = sorted(p for group, _, _ in groups for p in members[group])
    pa = ProfileAssignment.__table__.c
    held = dict(db.session.execute(select(pa.profile_id, pa.moderator_id).where(pa.profile_id.in_(tied_profiles))
                                   .with_for_update()).all()) if tied_profiles else {}
    approached = []
    for group, from_id, to_id in groups:
        if any(held.get(p) != from_id for p in members[group]):
            continue  # a holder changed meanwhile: the group stays whole where it is
        planned += [(p, from_id, to_id) for p in sorted(members[group])]
        approached += sorted({(client_id, from_id, to_id, profile_id) for profile_id, client_id, holder in clients
                              if root(profile_id) == group and holder == from_id})
    first_of_client = {}
    for client_id, from_id, to_id, profile_id in approached:
        first_of_client.setdefault(client_id, (client_id, from_id, to_id, profile_id))
    return planned, sorted(first_of_client.values())


def _move_client_locks(moves, now: datetime) -> None:
    """``(client, from, to)``: the live lock ``from`` holds on the client goes to ``to``, restarted
    for ``CLIENT_LOCK_SECONDS`` with a new owner token (one statement)."""
    if not moves:
        return
    expires_at = now + timedelta(seconds=current_app.config["CLIENT_LOCK_SECONDS"])
    lock = ClientLock.__table__.c
    db.session.execute(
        update(ClientLock.__table__)
        .where(lock.client_id == bindparam("cid"), lock.moderator_id == bindparam("from_id"),
               lock.expires_at >= bindparam("now"))
        .values(moderator_id=bindparam("to_id"), locked_at=bindparam("now"), expires_at=bindparam("until"),
                token=bindparam("new_token")),
        [{"cid": client_id, "from_id": from_id, "to_id": to_id, "now": now, "until": expires_at,
          "new_token": secrets.token_hex(16)} for client_id, from_id, to_id in moves])


def release_profile(profile_id: int, from_id: int, now: datetime, reason: ChangeReason) -> list[int]:
    """The holder lets a profile go (disabled account): its conversations wait for a new decision.
    Takes the decisions' turn first: a decision that read the holder after its turn then claims
    for a holder still there (else the claim would name a holder deleted under it, which the
    database refuses, and the client's message would fail)."""
    activity.take_decision_turn()
    rows = db.session.execute(
        update(Conversation)
        .where(Conversation.profile_id == profile_id, Conversation.assigned_moderator_id == from_id)
        .values(assigned_moderator_id=None, assigned_at=None, last_moved_at=now)
        .returning(Conversation.id, Conversation.awaiting_reply_since, Conversation.last_message_at)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.execute(delete(ProfileAssignment).where(ProfileAssignment.profile_id == profile_id,
                                                       ProfileAssignment.moderator_id == from_id)
                       .execution_options(synchronize_session=False))
    record_changes(sorted(cid for cid, _, _ in rows), from_id, None, reason, now)
    activity.adjust_load(from_id, -activity.count_active(rows, now))
    locks.release_profile_locks_of(profile_id, from_id)
    return [conversation_id for conversation_id, _, _ in rows]


_OTHER = Conversation.__table__.alias("other")


def _situation(conversation_id: int, now: datetime):
    """Everything a decision reads, in one query: the conversation, its profile's holder (and
    whether they are available), the profile's other active conversations, who approaches the
    client (and whether they are available), and who is next in line in the queue."""
    return db.session.execute(cached_statement(("situation",), _situation_statement),
                              {"cid": conversation_id, "now": now, "active_since": activity.active_since(now)}).first()


def _answered_elsewhere(profile_id, conversation_id):
    """The profile's other active conversations that someone holds (the holder's, by the
    composite foreign key): while there is one, the profile stays with its available holder."""
    other = _OTHER
    return select(other.c.id).where(other.c.profile_id == profile_id, other.c.id != conversation_id,
                                    other.c.assigned_moderator_id.is_not(None), activity.active_condition(other.c))


def _situation_statement():
    c = Conversation.__table__.c
    pa, lock = ProfileAssignment.__table__.c, ClientLock.__table__.c
    holder, approacher = User.__table__.alias("holder"), User.__table__.alias("approacher")
    others = _answered_elsewhere(c.profile_id, c.id)
    return (
        select(c.profile_id, c.client_id, c.assigned_moderator_id,
               pa.moderator_id.label("holder"), moderator_queue.available(holder.c).label("holder_available"),
               others.exists().label("others_active"),
               lock.moderator_id.label("approaching"),
               moderator_queue.available(approacher.c).label("approaching_available"),
               moderator_queue.next_in_line(aliased(User, name="queued")).scalar_subquery().label("next_in_line"))
        .select_from(Conversation.__table__)
        .outerjoin(ProfileAssignment.__table__, pa.profile_id == c.profile_id)
        .outerjoin(holder, holder.c.id == pa.moderator_id)
        .outerjoin(ClientLock.__table__, (lock.client_id == c.client_id)
                   & (lock.expires_at >= bindparam("now", type_=DateTime())))
        .outerjoin(approacher, approacher.c.id == lock.moderator_id)
        .where(c.id == bindparam("cid"))
    )


@dataclass(frozen=True, slots=True)
class Seen:
    """What the statement that opened a conversation read, in the decision's transaction, before
    its turn: the profile's holder and the moderator approaching the client (an unexpired client
    lock), None for nobody."""
    holder: int | None
    approaching: int | None


def assign_if_unassigned(conversation_id: int, now: datetime,
                         reason: ChangeReason = ChangeReason.NEW, pushed: Snapshot | None = None,
                         ends_unit: bool = False, seen: Seen | None = None) -> int | None:
    """Give a conversation without a moderator to its profile's holder, or to the least-loaded
    online one (the profile follows).

    Returns the moderator this call assigned, or None when nobody is online, the client is being
    approached by another moderator (it waits; see the module docstring), or another process
    assigned it first (the compare-and-set lost). ``pushed``: the conversation's snapshot that its
    pushes will render (else the ORM row, if loaded); the usual decision links the holder and the
    profile's lock it read to it. ``ends_unit``: the caller writes nothing after this in its unit of
    work, so the usual decision may commit it (see ``_first_decision``). ``seen``: what the caller
    read in this transaction with the ``pushed`` conversation it just opened (the usual decision
    then reads nothing first).
    """
    if db.session.get_bind().dialect.name == "postgresql":
        decided = _first_decision(conversation_id, now, reason, pushed, ends_unit, seen)
        if decided is not _UNDECIDED:
            return decided
    activity.take_decision_turn()
    situation = _situation(conversation_id, now)
    if situation is None or situation.assigned_moderator_id is not None:
        return None
    profile_id, client_id = situation.profile_id, situation.client_id
    current, current_available = situation.holder, bool(situation.holder_available)
    others_active, approaching = situation.others_active, situation.approaching
    if approaching is not None and not situation.approaching_available:
        # Whoever approached the client left; an absent moderator approaches no one.
        db.session.execute(delete(ClientLock).where(ClientLock.client_id == client_id)
                           .execution_options(synchronize_session=False))
        approaching = None
    if current is not None and current_available and (others_active or _ties([profile_id], now)):
        # The profile stays with the moderator answering its conversations, or approaching one of
        # its clients (moving it would take that fresh approach along, see ``move_profiles``).
        target = current
    elif approaching is not None and not _overloads(approaching, situation.next_in_line):
        target = approaching  # the client's other conversation goes to who approaches them
    else:
        target = situation.next_in_line  # read after taking the decisions' turn
    if target is None:
        return None
    if approaching is not None and approaching != target:
        if current is not None and current_available and others_active:
            _log_deferred(conversation_id, approaching, target, now)
        return None  # a free profile waits for the approach to end, then goes by load
    if current is None:
        if not _take_profile(profile_id, target, now):
            return None  # taken meanwhile by a path that does not take turns; the sweep retries
    elif current != target:
        move_profile(profile_id, current, target,
                     now, ChangeReason.QUEUE if current_available else ChangeReason.DISCONNECT)
    if approaching is None:
        seconds = current_app.config["CLIENT_LOCK_SECONDS"]
        if locks.lock_client(client_id, profile_id, target, now, seconds, reason="approach") is None:
            return None
    if not _claim(conversation_id, target, reason, now):
        from . import conflicts

        conflicts.record("claim_race", now, conversation_id=conversation_id, moderator_ids=[target],
                         detail="another process assigned it first",
                         resolution="kept by the first claimer (compare-and-set)")
        return None
    return target


_UNDECIDED = object()


def _first_decision(conversation_id: int, now: datetime, reason: ChangeReason, pushed: Snapshot | None = None,
                    ends_unit: bool = False, seen: Seen | None = None):
    """The usual decisions on PostgreSQL, with the decisions' turn held as briefly as possible: a
    conversation whose profile nobody holds (a new client's first message to it, or a profile that
    went free), of a client nobody approaches; or whose profile stays with its holder (available,
    answering its other active conversations), of a client nobody else approaches (the holder may:
    their approach then goes on as it is). Decisions take turns until their commit, and each
    round trip made while holding the turn makes every other decision wait; under a busy server
    each waits its turn in the event loop too. So the situation is read before taking the turn (to
    choose this path only), and after it one statement does the rest with its guards, reading
    after taking the turn: the next in line picked in it and the profile given only if still free,
    or its holder kept only if available and answering; the client locked only if nobody
    approaches them (or, for a kept profile, already approached by its holder), the conversation
    claimed only if still without a moderator, its history and the load counter. The turn is then
    held over that statement and the commit.

    Returns the moderator, None when the conversation needs no decision, or ``_UNDECIDED`` when
    the situation is another one or moved on meanwhile: then the whole decision is made by
    ``assign_if_unassigned`` after taking the turn (what the statement did by then is what that
    decision would have done first: a profile given, a client locked).

    With ``ends_unit`` (the caller writes nothing after the decision) the turn, the statement and
    the commit go out in one round trip (``database.locked_statement_then_commit``): the turn is
    then held for the database's work only, not while this process waits for the CPU to read the
    statement's answer and send the commit, which with several web processes on a busy machine
    held every other decision back. A decision that took another way then goes on in a new
    transaction (what was committed is what it would have done first).

    ``seen``: what the caller's statement that opened the ``pushed`` conversation read, so the
    situation is not read again: a profile seen held is kept by its holder only if the statement
    finds them available and answering; with nobody in line, a free profile's statement does
    nothing (no profile given, no client locked)."""
    if seen is not None and pushed is not None:
        if seen.approaching not in (None, seen.holder):
            return _UNDECIDED
        profile_id, client_id, holder = pushed.profile_id, pushed.client_id, seen.holder
    else:
        situation = _situation(conversation_id, now)
        if situation is None or situation.assigned_moderator_id is not None:
            return _UNDECIDED
        holder = situation.holder
        if situation.approaching not in (None, holder):
            return _UNDECIDED
        if holder is None and situation.next_in_line is None:
            return _UNDECIDED
        if holder is not None and not (situation.holder_available and situation.others_active):
            return _UNDECIDED
        profile_id, client_id = situation.profile_id, situation.client_id
    seconds = current_app.config["CLIENT_LOCK_SECONDS"]
    keeps = holder is not None
    statement = cached_statement(("first_decision", keeps), lambda: _first_decision_statement(keeps))
    params = {"cid": conversation_id, "pid": profile_id, "client": client_id, "now": now,
              "expires": now + timedelta(seconds=seconds), "token": secrets.token_hex(16), "reason": reason}
    if keeps:
        params["active_since"] = activity.active_since(now)
    if ends_unit:
        row = locked_statement_then_commit(statement, params, activity.ASSIGNMENT_LOCK_KEY)
        activity.decision_turn_given_back()
    else:
        activity.take_decision_turn()
        row = db.session.execute(statement, params).first()
        row = None if row is None else row._mapping
    if row is None:
        return _UNDECIDED
    if pushed is not None:  # its pushes render the holder and the profile's lock: no reload
        pushed.moderator, pushed.profile_lock = _HOLDER.snapshot(row), _LOCK.snapshot(row)
    elif (conversation := db.session.identity_map.get(identity_key(Conversation, conversation_id))) is not None:
        set_committed_value(conversation, "moderator", loaded(User, _HOLDER.values(row)))
        lock = _LOCK.snapshot(row)
        set_committed_value(conversation, "profile_lock", None if lock is None else loaded(ProfileLock, vars(lock)))
    events.record(events.WorkAssigned(conversation_id, row["target"]))
    return row["target"]


_HOLDER = Selected(User, "u", PUSHED[User])
_LOCK = Selected(ProfileLock, "l", PUSHED[ProfileLock])


def _first_decision_statement(keeps: bool):
    """``_first_decision``'s statement: data-modifying CTEs, each acting only on what the one
    before it returned (the moderator: picked and given the free profile, or its holder kept ->
    client lock, or the kept holder's live one -> claim -> history and load)."""
    c, changes, q = Conversation.__table__.c, AssignmentChange.__table__, QueueEntry.__table__.c
    pa, lock = ProfileAssignment.__table__, ClientLock.__table__
    now = bindparam("now", type_=DateTime())
    pid = bindparam("pid", type_=Integer)
    if keeps:  # whoever holds the profile now (read after the turn), if available and answering
        holder = User.__table__.alias("h")
        taken = (select(pa.c.moderator_id)
                 .where(pa.c.profile_id == pid,
                        select(holder.c.id).where(holder.c.id == pa.c.moderator_id,
                                                  moderator_queue.available(holder.c)).exists(),
                        _answered_elsewhere(pid, bindparam("cid", type_=Integer)).exists())
                 .cte("taken"))
    else:
        pick = moderator_queue.next_in_line().cte("pick")
        taken = (dialect_insert(pa)
                 .from_select(["profile_id", "moderator_id", "assigned_at"], select(pid, pick.c.moderator_id, now))
                 .on_conflict_do_nothing(index_elements=["profile_id"])
                 .returning(pa.c.moderator_id)
                 .cte("taken"))
    names = ["client_id", "profile_id", "moderator_id", "token", "locked_at", "expires_at", "lock_reason"]
    locking = dialect_insert(lock).from_select(names, select(
        bindparam("client", type_=Integer), pid, taken.c.moderator_id,
        bindparam("token", type_=lock.c.token.type), now, bindparam("expires", type_=DateTime()),
        literal("approach", type_=lock.c.lock_reason.type)))
    locked = (locking.on_conflict_do_update(index_elements=[lock.c.client_id],
                                            set_={name: locking.excluded[name] for name in names if name != "client_id"},
                                            where=lock.c.expires_at < now)
              .returning(lock.c.moderator_id)
              .cte("locked"))
    if keeps:  # or the holder already approaches the client: their lock stays as it is
        approaching = (select(lock.c.moderator_id)
                       .where(lock.c.client_id == bindparam("client", type_=Integer), lock.c.expires_at >= now,
                              lock.c.moderator_id.in_(select(taken.c.moderator_id))))
        locked = union_all(select(locked.c.moderator_id), approaching).cte("approached")
    target = select(locked.c.moderator_id).scalar_subquery()
    claimed = (update(Conversation.__table__)
               .where(c.id == bindparam("cid", type_=Integer), c.assigned_moderator_id.is_(None),
                      select(locked.c.moderator_id).exists())
               .values(assigned_moderator_id=target, assigned_at=now)
               .returning(c.id, c.assigned_moderator_id)
               .cte("claimed"))
    history = (insert(changes)
               .from_select(["conversation_id", "from_moderator_id", "to_moderator_id", "reason", "changed_at"],
                            select(claimed.c.id, cast(null(), Integer), claimed.c.assigned_moderator_id,
                                   bindparam("reason", type_=changes.c.reason.type), now))
               .cte("history"))
    counted = (update(QueueEntry.__table__)
               .where(q.moderator_id == select(claimed.c.assigned_moderator_id).scalar_subquery())
               .values(load=q.load + 1)
               .cte("counted"))
    users, profile_locks = User.__table__, ProfileLock.__table__
    return (select(claimed.c.assigned_moderator_id.label("target"), *_HOLDER.labelled(users),
                   *_LOCK.labelled(profile_locks))
            .select_from(claimed.join(users, users.c.id == claimed.c.assigned_moderator_id)
                         .outerjoin(profile_locks, profile_locks.c.profile_id == pid))
            .add_cte(history, counted))


def _overloads(approaching: int, next_in_line: int | None) -> bool:
    """Would one more profile make the approaching moderator ``BALANCE_THRESHOLD`` or more busier
    than the next in line? Then a free profile does not follow the approach: it waits for the
    approach to end and goes by the least-busy rule (else clients writing to several profiles
    pull every free profile, one after the other, to the first moderators who approached them)."""
    if next_in_line is None or next_in_line == approaching:
        return False
    loads = dict(db.session.execute(select(QueueEntry.moderator_id, QueueEntry.load)
                                    .where(QueueEntry.moderator_id.in_([approaching, next_in_line]))).all())
    if approaching not in loads or next_in_line not in loads:
        return False
    return loads[approaching] + 1 - loads[next_in_line] >= current_app.config["BALANCE_THRESHOLD"]


def _claim(conversation_id: int, target: int, reason: ChangeReason, now: datetime) -> bool:
    """The compare-and-set claim of an unassigned conversation, its history line and the
    holder's load + 1 (waiting work is active). On PostgreSQL one statement (data-modifying
    CTEs: the history and the counter only move when the claim matched a row); elsewhere three."""
    params = {"cid": conversation_id, "mid": target, "now": now, "reason": reason}
    if db.session.get_bind().dialect.name == "postgresql":
        if db.session.execute(cached_statement(("claim_recorded",), _claim_recorded_statement), params).scalar() != 1:
            return False
        events.record(events.WorkAssigned(conversation_id, target))
        return True
    c = Conversation.__table__.c
    result = db.session.execute(cached_statement(("claim",), lambda: update(Conversation.__table__)
                                         .where(c.id == bindparam("cid"), c.assigned_moderator_id.is_(None))
                                         .values(assigned_moderator_id=bindparam("mid"), assigned_at=bindparam("now"))),
                                params)
    if result.rowcount != 1:
        return False
    record_change(conversation_id, None, target, reason, now)
    activity.adjust_load(target, 1)
    events.record(events.WorkAssigned(conversation_id, target))
    return True


def _claim_recorded_statement():
    c, changes, q = Conversation.__table__.c, AssignmentChange.__table__, QueueEntry.__table__.c
    mid, now = bindparam("mid", type_=Integer), bindparam("now", type_=DateTime())
    claimed = (update(Conversation.__table__)
               .where(c.id == bindparam("cid", type_=Integer), c.assigned_moderator_id.is_(None))
               .values(assigned_moderator_id=mid, assigned_at=now)
               .returning(c.id)
               .cte("claimed"))
    history = (insert(changes)
               .from_select(["conversation_id", "from_moderator_id", "to_moderator_id", "reason", "changed_at"],
                            select(claimed.c.id, cast(null(), Integer), mid, bindparam("reason", type_=changes.c.reason.type), now))
               .cte("history"))
    counted = (update(QueueEntry.__table__)
               .where(q.moderator_id == mid, select(claimed.c.id).exists())
               .values(load=q.load + 1)
               .cte("counted"))
    return select(func.count()).select_from(claimed).add_cte(history, counted)


def _log_deferred(conversation_id: int, approaching: int, target: int, now: datetime) -> None:
    from . import conflicts

    conflicts.record("double_approach", now, conversation_id=conversation_id, moderator_ids=[approaching, target],
                     detail="the client is being approached by another moderator through another profile",
                     resolution="waits until that approach ends (reply or client lock expiry)")


def assign_orphans(now: datetime, limit: int = 200, client_id: int | None = None) -> dict[int, int]:
    """Assign waiting conversations that have no moderator (none was online when they arrived,
    or their client was being approached). Returns {conversation_id: moderator_id}."""
    activity.take_decision_turn()
    # Skip what would wait anyway: a client approached by one moderator through a profile
    # another moderator holds (it goes out when that approach ends).
    query = (select(Conversation.id)
             .outerjoin(ClientLock, (ClientLock.client_id == Conversation.client_id) & (ClientLock.expires_at >= now))
             .outerjoin(ProfileAssignment, ProfileAssignment.profile_id == Conversation.profile_id)
             .where(Conversation.assigned_moderator_id.is_(None), Conversation.awaiting_reply_since.is_not(None),
                    ClientLock.id.is_(None) | ProfileAssignment.moderator_id.is_(None)
                    | (ProfileAssignment.moderator_id == ClientLock.moderator_id))
             .order_by(Conversation.awaiting_reply_since, Conversation.id)
             .limit(limit))
    if client_id is not None:
        query = query.where(Conversation.client_id == client_id)
    anyone_free = (select(QueueEntry.moderator_id).join(User, User.id == QueueEntry.moderator_id)
                   .where(moderator_queue.available()))
    assigned = {}
    for conversation_id in list(db.session.scalars(query)):
        moderator_id = assign_if_unassigned(conversation_id, now)
        if moderator_id is not None:
            assigned[conversation_id] = moderator_id
        elif db.session.scalar(anyone_free.limit(1)) is None:
            break
    return assigned


def approach_done(client_id: int, moderator_id: int, now: datetime) -> dict[int, int]:
    """The moderator answered the client: their approach is over, the client lock goes, and the
    client's conversations that waited for it are assigned now. Returns what was assigned."""
    freed = db.session.execute(delete(ClientLock).where(ClientLock.client_id == client_id,
                                                        ClientLock.moderator_id == moderator_id)
                               .execution_options(synchronize_session=False)).rowcount
    return assign_orphans(now, client_id=client_id) if freed else {}


def release_moderator_conversations(moderator_id: int, now: datetime,
                                    reason: ChangeReason = ChangeReason.DISCONNECT) -> list[int]:
    """Let go of every profile a moderator holds (account disabled); their conversations become
    orphans, assigned again by the next decision."""
    released = []
    for profile_id in held_profiles(moderator_id):
        released += release_profile(profile_id, moderator_id, now, reason)
    return released


def reassign(conversation_id: int, to_moderator_id: int, now: datetime, reason: ChangeReason,
             actor: User | None = None) -> bool:
    """``_reassign``; a move made by hand (``actor``: the admin) writes a line of the moderation log."""
    moved = _reassign(conversation_id, to_moderator_id, now, reason)
    if moved and actor is not None:
        moderation_log.record("manual_reassignment", actor=actor, now=now, conversation_id=conversation_id,
                              subject=to_moderator_id)
    return moved


def _reassign(conversation_id: int, to_moderator_id: int, now: datetime, reason: ChangeReason) -> bool:
    """Move a conversation to another moderator (admin by hand): its profile moves, with the
    profile's other conversations and what an approached client ties to it (``move_profiles``).
    Guarded like a claim (compare-and-set on the holder read here, after taking the decisions'
    turn), so two movers cannot both win. A conversation nobody holds whose client another
    moderator approaches takes that approach along: their work with the client and the client
    lock go to the new moderator first, so the client is never approached by two."""
    activity.take_decision_turn()
    row = db.session.execute(select(Conversation.profile_id, Conversation.client_id, Conversation.assigned_moderator_id)
                             .where(Conversation.id == conversation_id)).first()
    if row is None or row.assigned_moderator_id == to_moderator_id:
        return False
    if row.assigned_moderator_id is not None:
        return bool(move_profile(row.profile_id, row.assigned_moderator_id, to_moderator_id, now, reason))
    approaching = db.session.scalar(select(ClientLock.moderator_id).where(ClientLock.client_id == row.client_id,
                                                                          ClientLock.expires_at >= now))
    if approaching is not None and approaching != to_moderator_id:
        along = db.session.scalar(select(Conversation.profile_id).where(
            Conversation.client_id == row.client_id, Conversation.assigned_moderator_id == approaching).limit(1))
        if along is not None and not move_profile(along, approaching, to_moderator_id, now, reason):
            return False
        db.session.execute(update(ClientLock).where(ClientLock.client_id == row.client_id,
                                                    ClientLock.moderator_id == approaching)
                           .values(moderator_id=to_moderator_id, locked_at=now, token=secrets.token_hex(16),
                                   expires_at=now + timedelta(seconds=current_app.config["CLIENT_LOCK_SECONDS"]))
                           .execution_options(synchronize_session=False))
    current = holder(row.profile_id)
    if current is None:
        if not _take_profile(row.profile_id, to_moderator_id, now):
            return False
    elif current != to_moderator_id and not move_profile(row.profile_id, current, to_moderator_id, now, reason):
        return False
    result = db.session.execute(
        update(Conversation)
        .where(Conversation.id == conversation_id, Conversation.assigned_moderator_id.is_(None))
        .values(assigned_moderator_id=to_moderator_id, assigned_at=now, last_moved_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    record_change(conversation_id, None, to_moderator_id, reason, now)
    activity.adjust_load(to_moderator_id, activity.load_of_conversation(conversation_id, now))
    events.record(events.WorkAssigned(conversation_id, to_moderator_id))
    return True
