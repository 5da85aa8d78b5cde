"""``flask rounds status|run-now`` through Flask's CLI runner."""
from datetime import timedelta

from app.clock import utcnow
from tests.support.context import app_context
from tests.support.rounds import moderators_with_loads, post_waiting, settle


def test_rounds_status_and_run_now(app, rq_worker, smtp_sink):
    runner = app.test_cli_runner()
    empty = runner.invoke(args=["rounds", "status"])
    assert empty.exit_code == 0, empty.output
    assert "pending messages: 0" in empty.output and "no cycle open" in empty.output

    now = utcnow()
    with app_context():
        light, heavy = moderators_with_loads([0, 1], now - timedelta(minutes=1))
        post_waiting(3, now - timedelta(minutes=8))
    before = runner.invoke(args=["rounds", "status"])
    assert "pending messages: 3  (oldest waiting 8 min)" in before.output
    assert "a round starts at the next pass" in before.output
    assert f"#{light.id} {light.email} (offline)" in before.output

    ran = runner.invoke(args=["rounds", "run-now"])
    assert ran.exit_code == 0, ran.output
    assert f"pending-messages pass: round: cycle 1 round 1, e-mailing moderators #{light.id}, #{heavy.id}" in ran.output
    assert "round check: not due (cycle 1)" in ran.output

    after = runner.invoke(args=["rounds", "status"])
    assert "cycle 1 open: round 1" in after.output and f"called in: #{light.id}, #{heavy.id}" in after.output
    assert "cycle 1 round 1" in after.output and "pending 3" in after.output
    again = runner.invoke(args=["rounds", "run-now"])
    assert "pending-messages pass: cycle open (cycle 1)" in again.output          # nobody is e-mailed twice
    with app_context():
        settle(smtp_sink, [light.email, heavy.email], 2)                           # the worker sends the two mails
