"""Reading ids from requests: a malformed one is the client's error (400), never a 500."""
from __future__ import annotations

from flask import abort


def optional_id(value: str | None) -> int | None:
    """A non-negative integer, or None when absent or empty; anything else aborts with 400."""
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        abort(400)
    if number < 0:
        abort(400)
    return number


def required_id(value: str | None) -> int:
    number = optional_id(value)
    if number is None:
        abort(400)
    return number
