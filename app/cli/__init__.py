"""``flask`` commands for ops: seed-demo, users create|list|disable|enable|set-password|promote|demote,
assignment, locks, rounds, tickets."""
from __future__ import annotations

import click
from flask import Flask

from ..clock import utcnow
from ..database import write_transaction
from ..jobs.avatars import process_avatar
from ..models import Role
from ..services import balancing, demo, locks, monitoring, users
from ..services.errors import ServiceError


def init_app(app: Flask) -> None:
    from . import backup, cleanup, jobs, reports

    for commands in (backup, cleanup, jobs, reports):
        commands.init_app(app)

    @app.cli.command("seed-demo")
    def seed_demo():
        """Create demo accounts, profiles and conversations if the database is empty."""
        config = app.config
        with write_transaction():
            avatars = demo.seed(utcnow(), config["UPLOAD_DIR"], config["AVATAR_MAX_BYTES"],
                                config["IMAGE_MAX_PIXELS"], config["IMAGE_MAX_SIDE"])
        if avatars is None:
            click.echo("Database not empty: demo data left alone.")
            return
        for pending in avatars:  # the avatar job's own work, done now: the first page shows them
            process_avatar(pending.profile_id, pending.original, pending.replaced)
        click.echo("Demo data created.")

    @app.cli.group("assignment")
    def assignment_group():
        """The assignment engine."""

    @assignment_group.command("status")
    def assignment_status():
        """Online moderators with their load, waiting work, locks, open conflicts."""
        now = utcnow()
        report = monitoring.status(now)
        click.echo(f"waiting conversations: {report['waiting']}  (unassigned: {report['unassigned']})")
        click.echo(f"locks: {report['profile_locks']} profile, {report['client_locks']} client; "
                   f"open conflicts: {report['open_conflicts']}")
        click.echo("online moderators (load = active conversations):")
        for row in report["moderators"]:
            click.echo(f"  #{row['id']:<6} load {row['load']:<4} {row['email']}")

    @assignment_group.command("rebalance")
    def assignment_rebalance():
        """Run one load-balancing pass now."""
        from flask import current_app

        with write_transaction():
            result = balancing.rebalance(utcnow(), current_app.config["BALANCE_THRESHOLD"],
                                         current_app.config["BALANCE_COOLDOWN_SECONDS"])
        for conversation_id, source, target in result.moves:
            click.echo(f"conversation #{conversation_id}: moderator #{source} -> #{target}")
        click.echo(f"{len(result.moves)} move(s).")

    @assignment_group.command("monitor")
    def assignment_monitor():
        """Run one monitoring pass now (the scheduler runs one every minute)."""
        with write_transaction():
            report = monitoring.run_checks(utcnow())
        for key, value in report.as_dict().items():
            click.echo(f"{key}: {value}")

    @app.cli.group("locks")
    def locks_group():
        """Profile and client locks."""

    @locks_group.command("clean")
    def locks_clean():
        """Delete expired locks."""
        with write_transaction():
            removed = locks.clean_expired(utcnow())
        click.echo(f"Removed {removed} expired lock(s).")

    @locks_group.command("list")
    def locks_list():
        """Show the locks in force."""
        now = utcnow()
        for lock in locks.active_profile_locks(now):
            left = int((lock.expires_at - now).total_seconds())
            click.echo(f"profile #{lock.profile_id:<6} moderator #{lock.moderator_id:<6} {lock.lock_type:<12} {left}s left")
        for lock in locks.active_client_locks(now):
            left = int((lock.expires_at - now).total_seconds())
            click.echo(f"client  #{lock.client_id:<6} moderator #{lock.moderator_id:<6} via profile #{lock.profile_id} "
                       f"{lock.lock_reason} {left}s left")

    @app.cli.group("rounds")
    def rounds_group():
        """Notification rounds (e-mails calling moderators in while messages wait)."""

    @rounds_group.command("status")
    def rounds_status():
        """Waiting messages, moderators online, the current cycle and the last rounds."""
        from flask import current_app

        from ..services import rounds

        now = utcnow()
        state = rounds.cycle_state(now, rounds.Settings.from_config(current_app.config))
        oldest = state.summary.oldest_wait(now)
        click.echo(f"pending messages: {state.summary.count}"
                   + (f"  (oldest waiting {int(oldest.total_seconds() // 60)} min)" if oldest is not None else ""))
        click.echo(f"moderators online: {state.online_moderators}")
        if state.is_open:
            latest = state.latest
            next_check = state.next_check_at.isoformat(sep=" ", timespec="seconds") if state.next_check_at else "none"
            click.echo(f"cycle {latest.cycle} open: round {latest.round_number} sent "
                       f"{latest.sent_at.isoformat(sep=' ', timespec='seconds')}, next check {next_check}; "
                       f"called in: {', '.join(f'#{m}' for m in state.notified_ids)}")
        else:
            click.echo("no cycle open; " + ("a round starts at the next pass" if state.would_start
                                            else "conditions for a round not met"))
        click.echo("next to call in: " + (", ".join(f"#{m.id} {m.email} ({'online' if m.is_online else 'offline'})"
                                                   for m in state.next_moderators) or "nobody"))
        for row in rounds.history(limit=10):
            r = row.round
            click.echo(f"  cycle {r.cycle} round {r.round_number}  {r.sent_at.isoformat(sep=' ', timespec='seconds')}  "
                       f"pending {r.pending_messages_count}  answered since {row.answered}  "
                       f"moderators {', '.join(f'#{m}' for m in r.moderator_ids_notified)}"
                       + ("  (cycle ended)" if r.cycle_ended_at else ""))

    @rounds_group.command("run-now")
    def rounds_run_now():
        """Run the pending-messages pass and the round check now (e-mails go through the worker)."""
        from ..jobs.rounds import check_notification_round, process_pending_messages

        for name, job in (("pending-messages pass", process_pending_messages), ("round check", check_notification_round)):
            outcome = job()
            detail = ""
            if outcome["action"] == "round":
                detail = (f": cycle {outcome['cycle']} round {outcome['round_number']}, e-mailing moderators "
                          + ", ".join(f"#{m}" for m in outcome["moderator_ids"]))
            elif outcome["cycle"] is not None:
                detail = f" (cycle {outcome['cycle']})"
            click.echo(f"{name}: {outcome['action'].replace('_', ' ')}{detail}")

    @app.cli.group("users")
    def users_group():
        """Manage accounts."""

    @users_group.command("create")
    @click.option("--email", required=True)
    @click.option("--name", "display_name", required=True)
    @click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.MODERATOR.value)
    @click.option("--locale", type=click.Choice(["fr", "en", "es", "de"]), default="fr")
    @click.password_option()
    def create(email, display_name, role, locale, password):
        """Create an account (moderators and admins are created this way or by an admin)."""
        try:
            with write_transaction():
                user = users.create_user(email=email, password=password, role=Role(role),
                                         display_name=display_name, locale=locale)
        except ServiceError as exc:
            raise click.ClickException(str(exc.message))
        click.echo(f"Created {user.role.value} #{user.id} {user.email}")

    @users_group.command("list")
    @click.option("--role", type=click.Choice([r.value for r in Role]))
    def list_(role):
        """List accounts."""
        for user in users.list_users(Role(role) if role else None):
            state = "active" if user.active else "disabled"
            online = "online" if user.is_online else "offline"
            click.echo(f"{user.id:>5}  {user.role.value:<9} {state:<8} {online:<7} {user.email}  {user.display_name}")

    def _account(email: str):
        user = users.find_by_email(email)
        if user is None:
            raise click.ClickException(f"No account with e-mail {email}")
        return user

    def _set_active(email: str, active: bool) -> None:
        user = _account(email)
        with write_transaction():
            users.set_active(user.id, active, utcnow())
        click.echo(f"{'Enabled' if active else 'Disabled'} {email}")

    @users_group.command("disable")
    @click.argument("email")
    def disable(email):
        """Disable an account (it can no longer log in; its conversations are released)."""
        _set_active(email, False)

    @users_group.command("enable")
    @click.argument("email")
    def enable(email):
        """Enable a disabled account again (a line of the moderation log)."""
        _set_active(email, True)

    @users_group.command("set-password")
    @click.argument("email")
    @click.password_option(prompt="New password")
    def set_password(email, password):
        """Set an account's password (asked twice); its sessions end everywhere."""
        user = _account(email)
        try:
            with write_transaction():
                users.set_password(user.id, password, None, utcnow())
        except ServiceError as exc:
            raise click.ClickException(str(exc.message))
        click.echo(f"New password set for {email}; its sessions were ended.")

    def _change_role(email: str, role: str, reason: str, promote: bool) -> None:
        user = _account(email)
        try:
            with write_transaction():
                users.change_role(user.id, Role(role), promote=promote, reason=reason, actor=None, now=utcnow())
        except ServiceError as exc:
            raise click.ClickException(str(exc.message))
        click.echo(f"{email} is now {role} ({'promoted' if promote else 'demoted'}: {reason}).")

    @users_group.command("promote")
    @click.argument("email")
    @click.option("--role", type=click.Choice([Role.MODERATOR.value, Role.ADMIN.value]), required=True)
    @click.option("--reason", required=True, help="Why, for the moderation log.")
    def promote(email, role, reason):
        """Raise an account to moderator or admin (a line of the moderation log)."""
        _change_role(email, role, reason, promote=True)

    @users_group.command("demote")
    @click.argument("email")
    @click.option("--role", type=click.Choice([Role.CLIENT.value, Role.MODERATOR.value]), required=True)
    @click.option("--reason", required=True, help="Why, for the moderation log.")
    def demote(email, role, reason):
        """Lower an account to moderator or client; a moderator's conversations are released, as
        disabling them would (a line of the moderation log)."""
        _change_role(email, role, reason, promote=False)

    @app.cli.group("tickets")
    def tickets_group():
        """Support tickets (changes made here are recorded with no actor)."""

    from ..services import ticket_lists
    from ..services import tickets as ticket_service

    def _ticket_call(fn, *args, **kwargs):
        try:
            with write_transaction():
                return fn(*args, **kwargs)
        except ServiceError as exc:
            raise click.ClickException(str(exc.message))

    @tickets_group.command("list")
    @click.option("--state", type=click.Choice(ticket_lists.QUEUE_STATES), default="active", show_default=True)
    @click.option("--assignee", default="anyone", show_default=True, help="anyone, nobody, or an admin's e-mail")
    @click.option("--page", type=click.IntRange(min=1), default=1)
    def tickets_list(state, assignee, page):
        """List tickets, the latest changed first."""
        if assignee not in ("anyone", "nobody"):
            admin = users.find_by_email(assignee)
            if admin is None:
                raise click.ClickException(f"No account with e-mail {assignee}")
            assignee = str(admin.id)
        found = ticket_lists.queue(None, utcnow(), ticket_lists.QueueFilters(state=state, assignee=assignee,
                                                                                  page=page))
        for t in found.tickets:
            click.echo(f"#{t.id:<5} {t.state:<8} {t.priority:<6} {t.kind:<12} "
                       f"{t.updated_at.isoformat(sep=' ', timespec='minutes')}  {t.opener.email} -> "
                       f"{t.assignee.email if t.assignee else 'nobody'}  {t.subject}")
        click.echo(f"{len(found.tickets)} of {found.total} ticket(s), page {found.page}"
                   + ("; more with --page" if found.has_next else ""))

    @tickets_group.command("show")
    @click.argument("ticket_id", type=int)
    def tickets_show(ticket_id):
        """A ticket with its whole history, internal notes included."""
        try:
            view = ticket_service.ticket_page(None, ticket_id)
        except ServiceError as exc:
            raise click.ClickException(str(exc.message))
        t, people = view.ticket, view.people
        click.echo(f"#{t.id} {t.subject}")
        click.echo(f"kind {t.kind}, state {t.state}, priority {t.priority}; opened by {people[t.opener_id].email} "
                   f"{t.created_at.isoformat(sep=' ', timespec='minutes')}; assignee "
                   f"{people[t.assignee_id].email if t.assignee_id else 'nobody'}"
                   + (f"; conversation #{t.conversation_id}" if t.conversation_id else "")
                   + (f"; sanction #{t.sanction_id}" if t.sanction_id else ""))
        for event, note in view.timeline:
            who = people[event.actor_id].email if event.actor_id in people else "command line"
            change = {k: v for k, v in event.detail.items() if k not in ("told", "comment_id")}
            click.echo(f"  {event.created_at.isoformat(sep=' ', timespec='minutes')}  {who}: {event.action}"
                       + (" (internal)" if event.internal else "") + (f" {change}" if change else ""))
            text = t.body if event.action == "created" else note.body if note else None
            if text:
                click.echo("    " + text.replace("\n", "\n    "))

    @tickets_group.command("assign")
    @click.argument("ticket_id", type=int)
    @click.option("--to", "email", required=True, help="an admin's e-mail, or 'nobody'")
    def tickets_assign(ticket_id, email):
        """Give a ticket to an admin (or to nobody)."""
        admin_id = None
        if email != "nobody":
            admin = users.find_by_email(email)
            if admin is None:
                raise click.ClickException(f"No account with e-mail {email}")
            admin_id = admin.id
        _ticket_call(ticket_service.assign, None, ticket_id, admin_id, utcnow())
        click.echo(f"Ticket #{ticket_id} assigned to {email}")

    @tickets_group.command("close")
    @click.argument("ticket_id", type=int)
    @click.option("--reason", default="", help="why, kept in the ticket's history")
    def tickets_close(ticket_id, reason):
        """Close a ticket."""
        _ticket_call(ticket_service.set_status, None, ticket_id, "closed", utcnow(), reason=reason)
        click.echo(f"Ticket #{ticket_id} closed")
