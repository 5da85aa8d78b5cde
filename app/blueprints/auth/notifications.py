"""The notification centre: the bell's badge and panel, the page, marking read and deleting.

Every role has one; each view acts on the logged-in user's own notifications only (another's id
is a 404, ``services.notifications``). Each change pushes the new count to every page of the user
(after the commit); the answer carries it too, so this page is right even while its socket is down.
"""
from __future__ import annotations

from flask import current_app, redirect, render_template, request
from flask_login import current_user, login_required

from ...clock import utcnow
from ...database import write_transaction
from ...services import notifications
from ...web.auth import safe_next
from ..params import optional_id
from . import bp


def _page_number() -> int:
    return max(1, min(optional_id(request.values.get("page")) or 1, 10_000))


def _listing(where: str):
    """The panel (the latest few) or the page's list, as the form that asked shows it."""
    if where == "panel":
        page = notifications.listing(current_user.id, 1, current_app.config["NOTIFICATIONS_PANEL_SIZE"])
        template = "notifications/_panel.html"
    else:
        page = notifications.listing(current_user.id, _page_number())
        template = "notifications/_list.html"
    return render_template(template, page=page, unread=notifications.unread_count(current_user.id), oob_count=True)


@bp.route("/notifications")
@login_required
def notification_page():
    page = notifications.listing(current_user.id, _page_number())
    return render_template("notifications/page.html", page=page, unread=notifications.unread_count(current_user.id))


@bp.route("/notifications/panel")
@login_required
def notification_panel():
    return _listing("panel")


@bp.route("/notifications/badge")
@login_required
def notification_badge():
    """The badge alone: fetched again by the page after a reconnect and while its socket is down."""
    return render_template("partials/_notification_count.html", count=notifications.unread_count(current_user.id))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def notification_read(notification_id: int):
    with write_transaction():
        notifications.mark_read(current_user, notification_id, utcnow())
    return _listing(request.form.get("where", "page"))


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def notification_open(notification_id: int):
    """Read it and go where it points."""
    with write_transaction():
        row = notifications.mark_read(current_user, notification_id, utcnow())
    return redirect(safe_next(row.link) or "/notifications")


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def notification_read_all():
    with write_transaction():
        notifications.mark_all_read(current_user, utcnow())
    return _listing(request.form.get("where", "page"))


@bp.route("/notifications/<int:notification_id>/delete", methods=["POST"])
@login_required
def notification_delete(notification_id: int):
    with write_transaction():
        notifications.remove(current_user, notification_id)
    return _listing(request.form.get("where", "page"))


@bp.route("/notifications/delete-read", methods=["POST"])
@login_required
def notification_delete_read():
    with write_transaction():
        notifications.remove_read(current_user)
    return _listing(request.form.get("where", "page"))
