"""The account commands (set-password, enable, promote, demote), through Flask's CLI runner: each
changes the account, writes its line in the moderation log (role changes, enabling) and in the
app log."""
from app.clock import utcnow
from app.database import write_transaction
from app.extensions import db
from app.models import Conversation, ModerationAction, Role, User
from app.services import assignment, sending, users
from tests.support.context import app_context
from tests.support.factories import PASSWORD, make_profile, make_user, token


def _stored(email) -> User:
    with app_context():
        return User.query.filter_by(email=email).one()


def _log_lines(action) -> list[ModerationAction]:
    with app_context():
        return ModerationAction.query.filter_by(action=action).all()


def test_set_password_asks_twice_refuses_a_common_one_and_ends_the_sessions(app, caplog):
    user = make_user(email="ops@example.test")
    runner = app.test_cli_runner()
    caplog.set_level("INFO", logger="app.services.users")
    common = runner.invoke(args=["users", "set-password", "ops@example.test"], input="password123\npassword123\n")
    assert common.exit_code != 0 and "most common" in common.output
    result = runner.invoke(args=["users", "set-password", "ops@example.test"],
                           input="cli-chosen-secret\ncli-chosen-secret\n")
    assert result.exit_code == 0, result.output
    assert _stored(user.email).session_version == user.session_version + 1
    assert f"password of user {user.id} set by the command line" in caplog.text
    with app.app_context():
        assert users.authenticate("ops@example.test", "cli-chosen-secret") is not None
        assert users.authenticate("ops@example.test", PASSWORD) is None
    mismatch = runner.invoke(args=["users", "set-password", "ops@example.test"], input="one-secret-1\nother-secret-2\n"
                             "one-secret-1\none-secret-1\n")
    assert mismatch.exit_code == 0 and "do not match" in mismatch.output.lower()


def test_enable_brings_a_disabled_account_back_with_a_log_line(app, caplog):
    user = make_user(email="back@example.test")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "disable", "back@example.test"]).exit_code == 0
    caplog.set_level("INFO", logger="app.services.users")
    result = runner.invoke(args=["users", "enable", "back@example.test"])
    assert result.exit_code == 0, result.output
    assert _stored(user.email).active is True
    [line] = _log_lines("account_enabled")
    assert line.subject_id == user.id and line.actor_id is None
    assert f"user {user.id} enabled by the command line" in caplog.text
    assert runner.invoke(args=["users", "enable", "nobody@example.test"]).exit_code != 0


def test_promote_and_demote_need_a_reason_and_a_direction(app, caplog):
    user = make_user(email="rising@example.test")
    runner = app.test_cli_runner()
    assert runner.invoke(args=["users", "promote", "rising@example.test", "--role", "moderator"]).exit_code != 0
    caplog.set_level("INFO", logger="app.services.users")
    result = runner.invoke(args=["users", "promote", "rising@example.test", "--role", "moderator",
                                 "--reason", "hired for the night shift"])
    assert result.exit_code == 0, result.output
    assert _stored(user.email).role == Role.MODERATOR
    [line] = _log_lines("role_promoted")
    assert (line.subject_id, line.reason, line.detail) == (user.id, "hired for the night shift",
                                                           {"from": "client", "to": "moderator"})
    assert f"role of user {user.id} changed from client to moderator" in caplog.text
    wrong_way = runner.invoke(args=["users", "demote", "rising@example.test", "--role", "moderator",
                                    "--reason", "x"])
    assert wrong_way.exit_code != 0 and _log_lines("role_demoted") == []
    assert runner.invoke(args=["users", "promote", "rising@example.test", "--role", "client",
                               "--reason", "x"]).exit_code != 0       # not a choice of promote


def test_demoting_a_moderator_releases_their_conversations_like_disabling(app):
    now = utcnow()
    client, profile = make_user(), make_profile()
    moderator = make_user(Role.MODERATOR, email="leaving@example.test", online=True)
    with app_context():
        with write_transaction():
            sending.post_client_message(db.session.get(User, client.id), profile.id, "hello", token(), now)
        with write_transaction():
            assignment.assign_orphans(now)
        assert Conversation.query.one().assigned_moderator_id == moderator.id
    result = app.test_cli_runner().invoke(args=["users", "demote", "leaving@example.test", "--role", "client",
                                                "--reason", "left the team"])
    assert result.exit_code == 0, result.output
    with app_context():
        assert Conversation.query.one().assigned_moderator_id != moderator.id
        assert assignment.held_profiles(moderator.id) == []
        stored = db.session.get(User, moderator.id)
        assert stored.role == Role.CLIENT and stored.is_online is False
        assert stored.session_version == moderator.session_version + 1
    [line] = _log_lines("role_demoted")
    assert line.reason == "left the team" and line.detail == {"from": "moderator", "to": "client"}
