"""Property-based test of the assignment engine (hypothesis state machine): random sequences
of moderators connecting, leaving, going idle, clients writing (to one profile or two at once),
moderators replying, time passing, the periodic passes running together or one at a time, an
admin moving a conversation by hand and an account being disabled. After every step the
invariants hold."""
import os
from collections import Counter
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import func, select

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, ChangeReason, ClientLock, Conversation, Message, QueueEntry, Role, User
from app.services import activity, assignment, balancing, chat, inactivity, moderator_queue, monitoring, sending
from app.services import users as user_service
from tests.support import context
from tests.support.factories import token

T0 = datetime(2026, 11, 23, 12, 0, 0)
TICK = timedelta(seconds=1)


class AssignmentMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.ctx = context.TEST_APP.test_request_context()
        self.ctx.push()
        try:
            self._set_up()
        except BaseException:
            self.teardown()  # hypothesis tears down only the machines it could make
            raise
        self.now = T0
        self.just_balanced = False  # true only right after the periodic passes

    def _set_up(self):
        context.empty_tables()
        with write_transaction():
            self.moderators = [user_service.create_user(email=f"m{i}@prop.test", password="long-enough-1",
                                                        role=Role.MODERATOR, display_name=f"m{i}")
                               for i in range(4)]
            self.clients = [user_service.create_user(email=f"c{i}@prop.test", password="long-enough-1",
                                                     role=Role.CLIENT, display_name=f"c{i}") for i in range(5)]
            from app.services import profiles

            self.profiles = [profiles.create_profile(name=f"p{i}", age=30) for i in range(3)]

    def teardown(self):
        db.session.remove()
        self.ctx.pop()

    @rule(i=st.integers(0, 3))
    def moderator_connects(self, i):
        self.just_balanced = False
        self.now += TICK  # every step takes a moment: what happened before is strictly earlier
        with write_transaction():
            moderator = db.session.get(User, self.moderators[i].id)
            if not moderator.is_online:
                moderator.is_online, moderator.last_online_at = True, self.now
                moderator.last_activity_at = self.now
                moderator_queue.join(moderator.id, self.now)
                assignment.assign_orphans(self.now)

    @rule(i=st.integers(0, 3))
    def moderator_disconnects(self, i):
        self.just_balanced = False
        self.now += TICK  # every step takes a moment: what happened before is strictly earlier
        with write_transaction():
            moderator = db.session.get(User, self.moderators[i].id)
            moderator.is_online = False
            moderator_queue.leave(moderator.id)

    @rule(c=st.integers(0, 4), p=st.integers(0, 2))
    def client_writes(self, c, p):
        self.just_balanced = False
        self.now += TICK  # every step takes a moment: what happened before is strictly earlier
        sending.send_client_message(self.clients[c].id, self.profiles[p].id, "hi", token(), self.now)  # as the route

    @rule(data=st.data())
    def moderator_replies(self, data):
        self.just_balanced = False
        self.now += TICK  # every step takes a moment: what happened before is strictly earlier
        waiting = db.session.execute(select(Conversation.id, Conversation.assigned_moderator_id).where(
            Conversation.awaiting_reply_since.is_not(None), Conversation.assigned_moderator_id.is_not(None))
            .order_by(Conversation.id)).all()  # a fixed order: a replay draws the same conversation
        if not waiting:
            return
        conversation_id, moderator_id = data.draw(st.sampled_from(waiting))
        with write_transaction():
            chat.post_profile_reply(db.session.get(User, moderator_id), conversation_id, "hello", token(), self.now)

    @rule(c=st.integers(0, 4), first=st.integers(0, 2), second=st.integers(0, 2))
    def client_writes_to_two_profiles(self, c, first, second):
        """One client writes to two profiles in the same instant (two tabs)."""
        self.just_balanced = False
        self.now += TICK
        for p in sorted({first, second}):
            sending.send_client_message(self.clients[c].id, self.profiles[p].id, "hi", token(), self.now)

    @rule(seconds=st.sampled_from([1, 5, 15, 61, 301, 1900]))
    def time_passes(self, seconds):
        self.just_balanced = False
        self.now += TICK  # every step takes a moment: what happened before is strictly earlier
        self.now += timedelta(seconds=seconds)

    @rule()
    def periodic_passes_run(self):
        self.now += TICK
        with write_transaction():
            monitoring.run_checks(self.now)
        with write_transaction():
            inactivity.reassign_from_idle_moderators(self.now, 60)
        with write_transaction():
            balancing.rebalance(self.now, 2, 300)
        self.just_balanced = True

    @rule(which=st.sampled_from(["monitoring", "inactivity", "balancing"]))
    def one_pass_runs(self, which):
        """A periodic pass on its own (they run on their own schedules, not always together)."""
        self.just_balanced = False
        self.now += TICK
        with write_transaction():
            if which == "monitoring":
                monitoring.run_checks(self.now)
            elif which == "inactivity":
                inactivity.reassign_from_idle_moderators(self.now, 60)
            else:
                balancing.rebalance(self.now, 2, 300)

    @rule(data=st.data(), i=st.integers(0, 3))
    def admin_moves_a_conversation(self, data, i):
        self.just_balanced = False
        self.now += TICK
        conversations = list(db.session.scalars(select(Conversation.id).order_by(Conversation.id)))
        if not conversations:
            return
        conversation_id = data.draw(st.sampled_from(conversations))
        with write_transaction():
            assignment.reassign(conversation_id, self.moderators[i].id, self.now, ChangeReason.MANUAL)

    @rule(i=st.integers(0, 3))
    def moderator_goes_quiet(self, i):
        """A moderator stays online but stops typing (their last sign of activity is old)."""
        self.just_balanced = False
        self.now += TICK
        with write_transaction():
            db.session.get(User, self.moderators[i].id).last_activity_at = self.now - timedelta(minutes=10)

    @rule(i=st.integers(0, 3))
    def account_disabled(self, i):
        self.just_balanced = False
        self.now += TICK
        with write_transaction():
            user_service.set_active(self.moderators[i].id, False, self.now)
        with write_transaction():  # enabled again at once: the machine keeps four moderators
            db.session.get(User, self.moderators[i].id).active = True

    # -- invariants -------------------------------------------------------------------
    @invariant()
    def one_conversation_per_client_and_profile(self):
        pairs = db.session.execute(select(Conversation.client_id, Conversation.profile_id)).all()
        assert len(pairs) == len(set(pairs))

    @invariant()
    def history_matches_holders(self):
        """The last recorded change of every conversation names its current holder."""
        for conversation_id, holder in db.session.execute(select(Conversation.id, Conversation.assigned_moderator_id)):
            last = db.session.scalar(select(AssignmentChange).where(AssignmentChange.conversation_id == conversation_id)
                                     .order_by(AssignmentChange.id.desc()).limit(1))
            assert (last.to_moderator_id if last else None) == holder

    @invariant()
    def waiting_work_has_a_moderator_when_one_is_free(self):
        queued_online = db.session.scalar(select(func.count()).select_from(QueueEntry).join(
            User, User.id == QueueEntry.moderator_id).where(User.is_online.is_(True)))
        unassigned = db.session.scalar(select(func.count()).select_from(Conversation).where(
            Conversation.awaiting_reply_since.is_not(None), Conversation.assigned_moderator_id.is_(None)))
        deferred = db.session.scalar(select(func.count()).select_from(Conversation).join(
            ClientLock, ClientLock.client_id == Conversation.client_id).where(
            Conversation.awaiting_reply_since.is_not(None), Conversation.assigned_moderator_id.is_(None),
            ClientLock.expires_at >= self.now))
        if self.just_balanced:  # only a client being approached by someone else may wait
            assert not (unassigned - deferred and queued_online)

    @invariant()
    def a_profile_has_one_moderator(self):
        holders = db.session.execute(select(Conversation.profile_id, Conversation.assigned_moderator_id).where(
            Conversation.assigned_moderator_id.is_not(None)).distinct()).all()
        profiles = [profile for profile, _ in holders]
        assert len(profiles) == len(set(profiles))
        for profile, moderator in holders:
            assert assignment.holder(profile) == moderator

    @invariant()
    def no_client_is_approached_by_two_moderators(self):
        """While a client lock runs, every first assignment of that client's conversations went
        to the lock's moderator, or the work it gave has since moved to them (a move takes the
        lock along, at the same instant when the first holder left at once)."""
        for lock in db.session.scalars(select(ClientLock).where(ClientLock.expires_at >= self.now)):
            firsts = db.session.execute(select(AssignmentChange.id, AssignmentChange.conversation_id,
                                               AssignmentChange.to_moderator_id).join(
                Conversation, Conversation.id == AssignmentChange.conversation_id).where(
                Conversation.client_id == lock.client_id, AssignmentChange.from_moderator_id.is_(None),
                AssignmentChange.to_moderator_id.is_not(None), AssignmentChange.changed_at >= lock.locked_at)).all()
            for change_id, conversation_id, to_id in firsts:
                if to_id == lock.moderator_id:
                    continue
                moved_on = db.session.scalar(select(AssignmentChange.id).where(
                    AssignmentChange.conversation_id == conversation_id, AssignmentChange.id > change_id,
                    AssignmentChange.from_moderator_id == to_id,
                    AssignmentChange.to_moderator_id == lock.moderator_id).limit(1))
                assert moved_on is not None, (conversation_id, to_id, lock.moderator_id)

    @invariant()
    def an_approached_client_stays_with_the_approaching_moderator(self):
        """While a client lock runs, every conversation of that client that its moderator held at
        some moment since the lock was taken is still theirs (or waits for a moderator): no move
        split the client between two moderators, and the lock follows the work it covers."""
        for lock in db.session.scalars(select(ClientLock).where(ClientLock.expires_at >= self.now)):
            for conversation_id, holder in db.session.execute(select(
                    Conversation.id, Conversation.assigned_moderator_id).where(Conversation.client_id == lock.client_id)):
                changes = db.session.execute(select(AssignmentChange.changed_at, AssignmentChange.to_moderator_id)
                                             .where(AssignmentChange.conversation_id == conversation_id)
                                             .order_by(AssignmentChange.id)).all()
                before = [to for at, to in changes if at < lock.locked_at]
                held_since = (before[-1:] == [lock.moderator_id]
                              or any(at >= lock.locked_at and to == lock.moderator_id for at, to in changes))
                if held_since:
                    assert holder in (lock.moderator_id, None), (lock.client_id, lock.moderator_id, conversation_id,
                                                                 holder, changes)

    @invariant()
    def loads_within_threshold_after_a_balance_pass(self):
        if not self.just_balanced:
            return
        loads = balancing.online_loads(self.now)
        if len(loads) < 2:
            return
        lowest = min(loads.values())
        for moderator, load in loads.items():
            # a gap of 2+ stays only when no profile of the busier side may move: moved lately
            # (anti ping-pong), or too big to narrow the gap (profiles move whole)
            if load - lowest >= 2:
                assert balancing.movable_profile(moderator, self.now, 300, load - lowest - 1) is None

    @invariant()
    def load_counters_follow_the_work(self):
        """A counter may run ahead of the exact load (conversations go quiet with time) but never
        behind it; right after the periodic pass (which resyncs) it is exact."""
        counters = dict(db.session.execute(select(QueueEntry.moderator_id, QueueEntry.load)).all())
        for moderator_id, counted in counters.items():
            exact = activity.load_of(moderator_id, self.now)
            assert counted >= exact
            if self.just_balanced:
                assert counted == exact

    @invariant()
    def every_message_is_stored_once(self):
        tokens = Counter(db.session.scalars(select(Message.client_token)))
        assert all(n == 1 for n in tokens.values())


# ENGINE_EXAMPLES runs more (a longer hunt for a rare sequence); CI runs 60 on PostgreSQL, where
# the engine's concurrent paths are, and 30 on SQLite.
_EXAMPLES = os.environ.get("ENGINE_EXAMPLES") or ("60" if os.environ.get("DATABASE_URL", "").startswith("postgresql")
                                                 else "30")
AssignmentMachine.TestCase.settings = settings(max_examples=int(_EXAMPLES),
                                               stateful_step_count=25, deadline=None,
                                               suppress_health_check=list(HealthCheck))
TestAssignmentEngine = AssignmentMachine.TestCase
