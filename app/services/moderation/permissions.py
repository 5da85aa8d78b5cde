"""Moderation: who may do what, written once.

``TABLE`` is the table of ``README.md`` ("Moderation: who may do what") as data, one entry per
row: its key, the object and action as the README writes them, and for each role ``YES``, ``NO``
or a condition (``HELD``: only for a client of a conversation the moderator holds; ``OWN``: only
what they imposed or wrote themselves). ``tests/test_permissions_table.py`` checks that the README
says the same and walks every row that exists by calling the real service or page for each role.

Services ask ``require(actor, key)`` for the role part; the condition (which conversation, whose
sanction) stays with the service that knows the object.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...models import Role, User
from ..errors import Forbidden

YES = "yes"
NO = "no"
HELD = "own conversations only"
OWN = "own only"
HELD_TIMED = "own conversations only, for a limited time"

ROLES = ("client", "moderator", "admin")

# key: (object, action, {role: answer})
TABLE: dict[str, tuple[str, str, dict[str, str]]] = {
    "sanction_ban": ("Sanction", "ban a client", {"client": NO, "moderator": NO, "admin": YES}),
    "sanction_mute": ("Sanction", "mute a client", {"client": NO, "moderator": HELD_TIMED, "admin": YES}),
    "sanction_lift": ("Sanction", "lift a ban or mute", {"client": NO, "moderator": OWN, "admin": YES}),
    "log_read_all": ("Moderation log", "read all", {"client": NO, "moderator": NO, "admin": YES}),
    "log_read_client": ("Moderation log", "read a client's", {"client": NO, "moderator": HELD, "admin": YES}),
    "report_file_content": ("Report", "file on a message or profile", {"client": YES, "moderator": NO, "admin": NO}),
    "report_file_client": ("Report", "file on a client", {"client": NO, "moderator": HELD, "admin": NO}),
    "report_decide": ("Report", "decide", {"client": NO, "moderator": NO, "admin": YES}),
    "filter_manage": ("Content filter", "manage", {"client": NO, "moderator": NO, "admin": YES}),
    "filter_review": ("Content filter", "review flagged", {"client": NO, "moderator": NO, "admin": YES}),
    "fact_sheet_read": ("Fact sheet", "read", {"client": NO, "moderator": HELD, "admin": YES}),
    "fact_sheet_edit": ("Fact sheet", "edit", {"client": NO, "moderator": HELD, "admin": YES}),
    "client_notes_read": ("Client notes", "read", {"client": NO, "moderator": HELD, "admin": YES}),
    "client_notes_edit": ("Client notes", "edit", {"client": NO, "moderator": HELD, "admin": YES}),
    "canned_manage_global": ("Canned replies", "manage global", {"client": NO, "moderator": NO, "admin": YES}),
    "canned_manage_own": ("Canned replies", "manage own", {"client": NO, "moderator": YES, "admin": YES}),
    "canned_use": ("Canned replies", "use", {"client": NO, "moderator": YES, "admin": NO}),
}


def answer(role: Role | str, key: str) -> str:
    """What the table says for ``role`` on row ``key``."""
    return TABLE[key][2][getattr(role, "value", role)]


def allowed(actor: User, key: str) -> bool:
    """The role may do it at all (``YES`` or a condition the service then checks)."""
    return answer(actor.role, key) != NO


def require(actor: User, key: str, refusal=None) -> None:
    """Forbidden (with ``refusal``, or a plain "you may not") when the table says no to the role."""
    if not allowed(actor, key):
        raise Forbidden(refusal or _l("You may not do this."))
