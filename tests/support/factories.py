"""Users, profiles, tokens and row counts."""
from __future__ import annotations

import uuid

from app.database import write_transaction
from app.extensions import db
from app.models import Role
from app.services import profiles, users
from tests.support.context import app_context

PASSWORD = "test-password-1"


def make_user(role: Role = Role.CLIENT, email: str | None = None, online: bool = False, **extra):
    """A stored user (English unless ``locale`` is given); an online moderator is also in the queue."""
    email = email or f"{role.value}-{uuid.uuid4().hex[:8]}@example.test"
    extra.setdefault("locale", "en")  # assertions read English text
    with app_context() as owned:
        with write_transaction():
            user = users.create_user(email=email, password=PASSWORD, role=role,
                                     display_name=extra.pop("display_name", email.split("@")[0]), **extra)
            user.is_online = online
            if online and role == Role.MODERATOR:
                from app.clock import utcnow
                from app.services import moderator_queue

                db.session.flush()
                moderator_queue.join(user.id, utcnow())
        db.session.refresh(user)
        if owned:
            db.session.expunge(user)
    return user


def queued_moderator(at):
    """An online moderator who joined the queue at ``at`` (queue order follows it)."""
    from app.services import moderator_queue

    moderator = make_user(Role.MODERATOR)
    with write_transaction():
        db.session.merge(moderator).is_online = True
        moderator_queue.join(moderator.id, at)
    return moderator


def make_profile(name: str = "Camille", age: int = 29):
    """A stored profile."""
    with app_context() as owned:
        with write_transaction():
            profile = profiles.create_profile(name=name, age=age, city="Paris", bio="Bio")
        db.session.refresh(profile)
        if owned:
            db.session.expunge(profile)
    return profile


def count(model, **filters) -> int:
    """How many rows of ``model`` match ``filters``."""
    with app_context():
        return db.session.query(model).filter_by(**filters).count()


def token() -> str:
    """A fresh client token (idempotency key of a sent message)."""
    return uuid.uuid4().hex
