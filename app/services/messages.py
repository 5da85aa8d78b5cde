"""Message primitives shared by both sides: input checks, storing a message once, the result."""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, select
from sqlalchemy.orm.attributes import set_committed_value

from ..database import cached_statement, dialect_insert
from ..extensions import db
from ..models import Conversation, Message
from .errors import NotFound, ValidationError

MAX_BODY = 4000
MAX_TOKEN = 64


@dataclass
class Posted:
    """A message as its pushes render it.

    ``message`` is the ORM row, or a snapshot (``services.snapshots``) when the send path stored it
    by statements that return plain rows; both carry the columns declared in
    ``sending.rows`` with the same names, and a test renders every push template from each and
    compares the HTML."""
    message: Message
    created: bool  # False when the same client token was already stored (a re-send)
    # Conversations handed out as a side effect ({conversation id: moderator id}): a reply ends
    # the moderator's approach of the client, and the client's waiting conversations go out.
    assigned: dict[int, int] = field(default_factory=dict)
    lock_released: bool = False  # the reply ended the moderator's "answering" lock on the profile


def clean_body(body: str | None, max_length: int = MAX_BODY, required: bool = True) -> str:
    """The text as stored; empty only where it is not ``required`` (a photo's caption)."""
    body = (body or "").replace("\r\n", "\n").strip()
    if not body and required:
        raise ValidationError(_l("A message cannot be empty."))
    if len(body) > max_length:
        raise ValidationError(_l("A message is at most %(n)d characters long.", n=max_length))
    return body


def clean_token(token: str | None) -> str:
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN or not token.replace("-", "").isalnum():
        raise ValidationError(_l("The message has no valid identifier; reload the page."))
    return token


def check_reply_to(conversation_id: int, reply_to_id: int | None) -> dict:
    """The fields a message answering ``reply_to_id`` stores (none when it answers nothing): the
    message it answers must be one of this conversation's."""
    if reply_to_id is None:
        return {}
    found = db.session.scalar(select(Message.id).where(Message.id == reply_to_id,
                                                       Message.conversation_id == conversation_id))
    if found is None:
        raise NotFound(_l("The message you answer is not in this conversation."))
    return {"reply_to_id": reply_to_id}


def existing_message(conversation_id: int, token: str) -> Message | None:
    """The message stored earlier under this client token (a re-send), if any."""
    return db.session.scalar(
        select(Message).where(Message.conversation_id == conversation_id, Message.client_token == token)
    )


def orm_rows(model, dml):
    """A Core ``INSERT``/``UPDATE … RETURNING`` whose row comes back as the ORM object (new, or the
    loaded one refreshed): a fraction of the ORM's DML machinery for one row."""
    return (select(model).from_statement(dml.returning(*model.__table__.c))
            .execution_options(populate_existing=True))


def insert_message(conversation: Conversation, **fields) -> Posted:
    """One statement: ``INSERT … ON CONFLICT (conversation_id, client_token) DO NOTHING RETURNING``.
    No row back means the same token was stored before (a re-send): return that message."""
    names = tuple(sorted(fields))
    statement = cached_statement(("messages.insert", names), lambda: orm_rows(
        Message,
        dialect_insert(Message.__table__)
        .values(conversation_id=bindparam("conversation_id_"), **{name: bindparam(f"{name}_") for name in names})
        .on_conflict_do_nothing(index_elements=["conversation_id", "client_token"])
    ))
    params = {f"{name}_": value for name, value in fields.items()}
    params["conversation_id_"] = conversation.id
    message = db.session.scalars(statement, params).first()
    if message is not None:
        return Posted(message, created=True)
    return Posted(existing_message(conversation.id, fields["client_token"]), created=False)


def reload_keeping_links(conversation: Conversation, message: Message, statement, params: dict):
    """Run a conversation ``UPDATE … RETURNING`` (``orm_rows``) that reloads the row, and keep the
    rows already loaded beside it linked, and the message to it: the pushes render them next,
    without lazy-load round trips. The row the statement returned (the conversation first, then
    whatever it returns beside it), None when the update matched no row."""
    links = {name: conversation.__dict__[name] for name in ("client", "profile", "moderator", "profile_lock")
             if name in conversation.__dict__}
    updated = db.session.execute(statement, params).first()
    if updated is None:
        return None
    moderator = links.get("moderator")
    if "moderator" in links and (moderator.id if moderator is not None else None) != conversation.assigned_moderator_id:
        del links["moderator"]  # changed hands meanwhile: loaded when needed
        links.pop("profile_lock", None)
    for name, value in links.items():
        set_committed_value(conversation, name, value)
    set_committed_value(message, "conversation", conversation)
    set_committed_value(conversation, "last_message", message)  # it is the latest: the lists' preview
    return updated
