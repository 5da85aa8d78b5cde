"""Language choice: the user's own setting, then a cookie, then the browser's."""
from contextlib import AbstractContextManager
from functools import lru_cache

from babel import Locale
from flask import current_app, has_request_context, request
from flask_babel import force_locale
from flask_login import current_user
from sqlalchemy.orm.exc import DetachedInstanceError

LANG_COOKIE = "sb_lang"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # CLI and jobs: English for ops, force_locale() for users
        return "en"
    try:
        if current_user and current_user.is_authenticated and current_user.locale in languages:
            return current_user.locale
    except DetachedInstanceError:  # a long-lived socket request whose session was closed
        pass
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in languages:
        return cookie
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def in_language(locale: str) -> AbstractContextManager:
    """``force_locale`` for what is rendered for someone (a push, the answer to a send): it never
    asks which language the request is in, which would load the logged-in user. The locale is
    parsed once per process: parsing it is most of what a switch costs, and a message's send
    switches several times (bench/results/renovation)."""
    return force_locale(_parsed(locale))


@lru_cache(maxsize=32)
def _parsed(locale: str) -> Locale:
    return Locale.parse(locale)
