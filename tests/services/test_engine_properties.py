"""Property-based test of the assignment engine (hypothesis state machine): random sequences
of moderators connecting, leaving, going idle, clients writing, moderators replying, time
passing and the periodic passes running. After every step the invariants hold."""
from collections import Counter
from datetime import datetime, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import delete, func, select

from app.database import write_transaction
from app.extensions import db
from app.models import AssignmentChange, Conversation, Message, QueueEntry, Role, User
from app.services import assignment, balancing, chat, inactivity, monitoring, queue
from app.services import users as user_service
from tests import support
from tests.support import token

T0 = datetime(2026, 11, 23, 12, 0, 0)


class AssignmentMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.ctx = support.TEST_APP.test_request_context()
        self.ctx.push()
        with write_transaction():
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(delete(table))
            self.moderators = [user_service.create_user(email=f"m{i}@prop.test", password="long-enough-1",
                                                        role=Role.MODERATOR, display_name=f"m{i}")
                               for i in range(4)]
            self.clients = [user_service.create_user(email=f"c{i}@prop.test", password="long-enough-1",
                                                     role=Role.CLIENT, display_name=f"c{i}") for i in range(5)]
            from app.services import profiles

            self.profiles = [profiles.create_profile(name=f"p{i}", age=30) for i in range(3)]
        self.now = T0
        self.just_balanced = False  # true only right after the periodic passes

    def teardown(self):
        db.session.remove()
        self.ctx.pop()

    @rule(i=st.integers(0, 3))
    def moderator_connects(self, i):
        self.just_balanced = False
        with write_transaction():
            moderator = db.session.get(User, self.moderators[i].id)
            if not moderator.is_online:
                moderator.is_online, moderator.last_online_at = True, self.now
                moderator.last_activity_at = self.now
                queue.join(moderator.id, self.now)
                assignment.assign_orphans(self.now)

    @rule(i=st.integers(0, 3))
    def moderator_disconnects(self, i):
        self.just_balanced = False
        with write_transaction():
            moderator = db.session.get(User, self.moderators[i].id)
            moderator.is_online = False
            queue.leave(moderator.id)

    @rule(c=st.integers(0, 4), p=st.integers(0, 2))
    def client_writes(self, c, p):
        self.just_balanced = False
        with write_transaction():
            chat.post_client_message(db.session.get(User, self.clients[c].id), self.profiles[p].id, "hi",
                                     token(), self.now)

    @rule(data=st.data())
    def moderator_replies(self, data):
        self.just_balanced = False
        waiting = db.session.execute(select(Conversation.id, Conversation.assigned_moderator_id).where(
            Conversation.awaiting_reply_since.is_not(None), Conversation.assigned_moderator_id.is_not(None))).all()
        if not waiting:
            return
        conversation_id, moderator_id = data.draw(st.sampled_from(waiting))
        with write_transaction():
            chat.post_profile_reply(db.session.get(User, moderator_id), conversation_id, "hello", token(), self.now)

    @rule(seconds=st.sampled_from([5, 15, 61, 301, 1900]))
    def time_passes(self, seconds):
        self.just_balanced = False
        self.now += timedelta(seconds=seconds)

    @rule()
    def periodic_passes_run(self):
        with write_transaction():
            monitoring.run_checks(self.now)
        with write_transaction():
            inactivity.reassign_from_idle_moderators(self.now, 60)
        with write_transaction():
            balancing.rebalance(self.now, 2, 300)
        self.just_balanced = True

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
        if self.just_balanced:
            assert not (unassigned and queued_online)

    @invariant()
    def loads_within_threshold_after_a_balance_pass(self):
        if not self.just_balanced:
            return
        loads = balancing.online_loads(self.now)
        if len(loads) < 2:
            return
        spread = max(loads.values()) - min(loads.values())
        if spread >= 2:   # allowed only when nothing on the busiest side may move (anti ping-pong)
            busiest = max(loads, key=loads.get)
            assert balancing.movable_conversation(busiest, self.now, 300) is None

    @invariant()
    def every_message_is_stored_once(self):
        tokens = Counter(db.session.scalars(select(Message.client_token)))
        assert all(n == 1 for n in tokens.values())


AssignmentMachine.TestCase.settings = settings(max_examples=20, stateful_step_count=20, deadline=None,
                                               suppress_health_check=list(HealthCheck))
TestAssignmentEngine = AssignmentMachine.TestCase
