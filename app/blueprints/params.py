"""Reading ids from requests: a malformed one is the client's error, never a 500.

Ids are INTEGER columns (PostgreSQL's 32-bit integer): a larger number cannot name a row, and
the database refuses to compare with it (an error, where a missing row is only an empty answer).
"""
from __future__ import annotations

from flask import abort
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from ..services.errors import ServiceError

MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:…>`` in routes: a number past ``MAX_ID`` matches no route (404)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def optional_id(value: str | None) -> int | None:
    """An id (0 to ``MAX_ID``), or None when absent or empty; anything else aborts with 400."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        abort(400)
    if not 0 <= number <= MAX_ID:
        abort(400)
    return number


def required_id(value: str | None) -> int:
    number = optional_id(value)
    if number is None:
        abort(400)
    return number


def uploaded_file(files, name: str, max_bytes: int) -> bytes | None:
    """The file a form sent as ``name`` (at most ``max_bytes`` + 1 bytes read: the service refuses
    a larger one), or None when none was chosen."""
    upload = files.get(name)
    if upload is None or not upload.filename:
        return None
    return upload.read(max_bytes + 1)


def history_bounds(args) -> tuple[int | None, int | None]:
    """A history request's ``before`` (older page) or ``after`` (catch-up) message id, at most one:
    anything else is a 400 that says so, in the reader's language."""
    values = {name: args.get(name) for name in ("before", "after")}
    bounds = []
    for name, value in values.items():
        try:
            bounds.append(optional_id(value))
        except HTTPException:
            raise ServiceError(_l("“%(name)s” must be a message number.", name=name)) from None
    if None not in bounds:
        raise ServiceError(_l("Ask for older messages or newer ones, not both at once."))
    return bounds[0], bounds[1]


def refresh_from(args) -> int | None:
    """A catch-up's ``refresh_from``: the first of the messages the page holds whose reactions it
    wants again (they may have changed while it was away). Not a message number: a 400."""
    try:
        return optional_id(args.get("refresh_from"))
    except HTTPException:
        raise ServiceError(_l("“%(name)s” must be a message number.", name="refresh_from")) from None


def reply_to(form) -> int | None:
    """The message a new one answers (``reply_to``), if any: not a message number is a 400 that
    says so, in the writer's language."""
    try:
        return optional_id(form.get("reply_to"))
    except HTTPException:
        raise ServiceError(_l("The message you answer is not a message number.")) from None
