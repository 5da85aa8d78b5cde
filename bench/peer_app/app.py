"""The peer: Switchboard's message push written the way a Flask developer usually would.

Flask-SocketIO on ``gunicorn -k gevent -w 1`` (python-engineio serves WebSockets under the plain
gevent worker through simple-websocket), a Redis message queue, Flask-SQLAlchemy. A moderator's
socket connects with ``?moderator=<n>`` and joins room ``mod-<n>``; ``POST /messages`` (form
fields ``body`` and ``moderator``) inserts the message, renders a small fragment with Jinja and
emits it to that moderator's room. No login, no CSRF: only the push path is compared.

Environment: DATABASE_URL (PostgreSQL, or an SQLite file), REDIS_URL (``redis://`` or the
``unix://`` socket of an embedded Redis), PEER_CHANNEL (the Redis pub/sub channel).
Imported by gunicorn's gevent worker after it has monkey-patched the process (no --preload),
so psycopg picks a gevent-friendly wait function.
"""
import os
import sys
from datetime import datetime, timezone

from flask import Flask, render_template, request
from flask_socketio import SocketIO, join_room
from flask_sqlalchemy import SQLAlchemy
from socketio import RedisManager
from sqlalchemy import event
from sqlalchemy.engine import Engine

app = Flask(__name__)
app.config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
db = SQLAlchemy(app)


def queue_options(url: str, channel: str) -> dict:
    """Flask-SocketIO hands only redis:// URLs to its Redis manager; the embedded Redis listens
    on a unix socket, so that one gets the same manager (``RedisManager``) directly."""
    if url.startswith("unix://"):
        return {"client_manager": RedisManager(url, channel=channel)}
    return {"message_queue": url, "channel": channel}


socketio = SocketIO(app, async_mode="gevent",
                    **queue_options(os.environ["REDIS_URL"], os.environ.get("PEER_CHANNEL", "flask-socketio")))


class Message(db.Model):
    __tablename__ = "peer_messages"
    id = db.Column(db.Integer, primary_key=True)
    moderator = db.Column(db.Integer, nullable=False)
    body = db.Column(db.Text, nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=lambda: datetime.now(timezone.utc))


@event.listens_for(Engine, "connect")
def sqlite_journal(dbapi_conn, _record):
    """Same SQLite journal settings as Switchboard (WAL, synchronous=NORMAL), so that the two
    differ in how they push, not in how often SQLite syncs the disk."""
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def check_psycopg_wait() -> None:
    """psycopg imported before gevent patched the process would block the whole worker on
    every query and make the peer look slower than it is: refuse to run like that."""
    waiting = sys.modules.get("psycopg.waiting")
    if waiting is not None and waiting.wait.__name__ == "wait_c":
        raise RuntimeError("psycopg was imported before gevent monkey patching; do not use --preload")


with app.app_context():
    db.create_all()
check_psycopg_wait()


@socketio.on("connect")
def join_moderator_room():
    join_room(f"mod-{int(request.args['moderator'])}")


@app.post("/messages")
def post_message():
    """Insert, render, commit, then push: moderators never see a message that is not stored."""
    moderator = int(request.form["moderator"])
    message = Message(moderator=moderator, body=request.form["body"])
    db.session.add(message)
    db.session.flush()  # the id, for the fragment
    fragment = render_template("message.html", message=message)
    db.session.commit()
    socketio.emit("message", fragment, to=f"mod-{moderator}")
    return fragment


@app.get("/healthz")
def healthz():
    """Readiness probe for the benchmark."""
    return "ok"
