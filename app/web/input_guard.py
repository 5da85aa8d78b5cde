"""Input no view can read is refused before any view runs.

PostgreSQL's text cannot hold the NUL character (0x00): a message, a name or a search carrying
one would fail in the database (a 500) on PostgreSQL and be stored on SQLite. No keyboard types
it, so a request with one in its address, parameters or form is refused with a clear 400.

A form field sent as a file part where the app reads text (an e-mail, a password, a name) would
reach the form as a file object, which no text check expects (a 500): only the upload fields
(``UPLOAD_FIELDS``) may carry a file, any other file part is refused with a clear 400.
"""
from __future__ import annotations

from itertools import chain

from flask import request
from flask_babel import lazy_gettext as _l

from ..services.errors import ServiceError

UPLOAD_FIELDS = frozenset({"avatar", "photo"})  # the form fields that take a file: a profile's picture, a photo in chat


def init_app(app) -> None:
    @app.before_request
    def refuse_unreadable_input():
        fields = chain(request.args.items(multi=True), request.form.items(multi=True),
                       (request.view_args or {}).items())
        if "\x00" in request.path or any("\x00" in key or (isinstance(value, str) and "\x00" in value)
                                          for key, value in fields):
            raise ServiceError(_l("Text cannot contain the NUL character (0x00)."))
        if request.files and any(name not in UPLOAD_FIELDS for name in request.files):
            raise ServiceError(_l("This form field takes text, not a file."))
