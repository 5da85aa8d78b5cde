"""Switchboard: clients chat with profiles that moderators operate."""
from __future__ import annotations

from flask import Flask

from .config import BASE_DIR, Config


def create_app(config_class: type = Config) -> Flask:
    app = Flask(
        __name__,
        template_folder=str(BASE_DIR / "templates"),
        static_folder=str(BASE_DIR / "static"),
        instance_path=str(config_class.INSTANCE_DIR),
    )
    app.config.from_object(config_class)
    from .web.templating import TemplateEnvironment

    app.jinja_environment = TemplateEnvironment  # before anything creates app.jinja_env

    from . import database, logs, redis_client
    from .extensions import babel, csrf, db, htmx, limiter, login, mail, sock
    from .web.i18n import install_template_translations, select_locale

    from PIL import Image

    Image.MAX_IMAGE_PIXELS = app.config["IMAGE_MAX_PIXELS"]  # any decode in this process refuses bombs
    database.configure_sqlite(app)
    db.init_app(app)
    _init_migrations(app, db)
    login.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    install_template_translations(app)
    mail.init_app(app)
    htmx.init_app(app)
    # /ws is declared on `sock` when this module is first imported. Imported before init_app, it
    # always lands in flask-sock's blueprint, which init_app registers on every app; imported after
    # (the first app of a process), it went onto that app alone, under another endpoint name.
    from .realtime import socket

    sock.init_app(app)
    redis_client.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_client.limits_storage_uri(app.config["REDIS_URL"]))
    limiter.init_app(app)

    from .realtime import hub
    from .realtime.middleware import no_deflate

    hub.init_app(app)
    from .realtime import push
    from .services import events

    events.subscribe(push.dispatch)  # pushes follow the commits of units of work
    from .jobs import notifications as notification_jobs

    events.subscribe(notification_jobs.after_commit)  # so do the jobs they call for (mails, checks)
    from . import metrics

    metrics.init_app(app)  # counts what was committed, once its pushes are out
    push.init_app(app)
    from .realtime import typing_indicator

    typing_indicator.init_app(app)
    app.wsgi_app = no_deflate(app.wsgi_app)
    if app.config["TRUSTED_PROXIES"]:  # the client's address and scheme as the proxies in front saw them
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)

    from . import web

    web.init_app(app)

    from .blueprints.params import IdConverter

    app.url_map.converters["int"] = IdConverter  # before the routes that use it
    from .blueprints.admin import bp as admin_bp
    from .blueprints.auth import bp as auth_bp
    from .blueprints.chat import bp as chat_bp
    from .blueprints.moderator import bp as moderator_bp
    from .blueprints.ops import bp as ops_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(chat_bp)
    app.register_blueprint(moderator_bp, url_prefix="/moderateur")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(ops_bp)
    limiter.exempt(ops_bp)

    socket.init_app(app)

    from . import cli

    cli.init_app(app)
    from . import models  # noqa: F401  so Flask-Migrate sees every table

    logs.configure(app.config["LOG_FORMAT"])
    return app


def _init_migrations(app: Flask, db) -> None:
    """``flask db`` and the tests migrate; a web worker never does, and Flask-Migrate brings alembic
    and mako into every process that imports it (``bench/idle_sockets.py``: the worker's memory
    with no socket)."""
    from .runtime import under_gevent

    if under_gevent():
        return
    from flask_migrate import Migrate

    Migrate(app, db, directory=str(BASE_DIR / "migrations"), render_as_batch=True)
