"""Language choice: the user's own setting, then a cookie, then the browser's."""
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from flask import current_app, g, has_request_context, request, session
from flask_babel import force_locale, get_locale, get_translations
from flask_login import current_user
from sqlalchemy.orm.exc import DetachedInstanceError

LANG_COOKIE = "sb_lang"
SESSION_LOCALE_KEY = "sb_locale"  # the logged-in user's language, remembered at log-in


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


def locale_without_database() -> str:
    """The request's language when the database cannot be asked (no connection to be had): the
    logged-in user's if this request already loaded them, the one their session remembers, then
    the cookie and the browser's, as ``select_locale`` would choose."""
    languages = current_app.config["LANGUAGES"]
    user = g.get("_login_user")  # Flask-Login's user of this request, when it was loaded
    try:
        from sqlalchemy import inspect

        locale = inspect(user).dict.get("locale") if user is not None else None  # loaded state only
    except Exception:  # noqa: BLE001 - the anonymous user is no mapped row
        locale = None
    for candidate in (locale, session.get(SESSION_LOCALE_KEY), request.cookies.get(LANG_COOKIE)):
        if candidate in languages:
            return candidate
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


@lru_cache(maxsize=64)
def zone(name: str | None) -> ZoneInfo | None:
    """A stored time zone name as a ZoneInfo (None for a name this machine does not know)."""
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def viewer_zone() -> ZoneInfo | None:
    """The zone times are shown in for this render: the one set for a push's recipient
    (``for_viewer``), else the logged-in user's when this request loaded them (a page always has:
    its top bar names them); never a query of its own. None: the display zone."""
    if not has_request_context():
        return None
    chosen = g.get(_VIEWER_ZONE_KEY)
    if chosen is not None:
        return chosen or None  # False: someone else's render, in the display zone
    user = g.get("_login_user")
    try:
        from sqlalchemy import inspect

        name = inspect(user).dict.get("time_zone") if user is not None else None
    except Exception:  # noqa: BLE001 - the anonymous user is no mapped row
        name = None
    return zone(name)


_VIEWER_ZONE_KEY = "_sb_viewer_zone"


@contextmanager
def for_viewer(locale: str, time_zone: str | None):
    """Render for someone (a push's recipient): their language and time zone; ``time_zone`` None:
    the request's user's (their own answer)."""
    before = g.get(_VIEWER_ZONE_KEY)
    setattr(g, _VIEWER_ZONE_KEY, before if time_zone is None else (zone(time_zone) or False))
    try:
        with in_language(locale):
            yield
    finally:
        setattr(g, _VIEWER_ZONE_KEY, before)


def in_language(locale: str) -> AbstractContextManager:
    """``force_locale`` for what is rendered for someone (a push, the answer to a send): it never
    asks which language the request is in, which would load the logged-in user. The locale is
    parsed once per process: parsing it is most of what a switch costs, and a message's send
    switches several times (bench/results/renovation)."""
    return force_locale(_parsed(locale))


@lru_cache(maxsize=32)
def _parsed(locale: str) -> Locale:
    return Locale.parse(locale)


MEMO_MOST = 20_000  # (language, text) pairs kept: the catalogue's size for each language, with room


def install_template_translations(app) -> None:
    """Templates' ``_()`` through a memo of the catalogue's answers, per language. A pushed
    message renders a dozen strings per recipient and a page of history hundreds, and for each one
    Flask-Babel finds the catalogue again (its context, the locale's name, its cache): that cost
    more than the rest of a message bubble (``bench/instructions.py``). The answers are the same:
    the language is Flask-Babel's ``get_locale()``, the text its catalogue's; plural and
    contextual forms go through Flask-Babel as before."""
    memo: dict = {}

    def gettext(text: str) -> str:
        key = (get_locale(), text)
        try:
            return memo[key]
        except KeyError:
            translated = get_translations().ugettext(text)
            if len(memo) < MEMO_MOST:
                memo[key] = translated
            return translated

    app.jinja_env.install_gettext_callables(
        gettext=gettext,
        ngettext=lambda s, p, n: get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: get_translations().unpgettext(c, s, p, n),
    )
