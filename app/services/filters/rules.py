"""The content filter rules, kept by admins, and the review of the messages they flagged.

Invariant: a stored rule always compiles (checked here at save, by RE2, within the program size
``FILTER_PROGRAM_MAX_SIZE``), so the send path never meets a rule it cannot run. Every change
bumps the rules' version in Redis after its commit (``matcher.bump_version``): the caller commits,
then calls ``changed()``.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ...extensions import db
from ...models import FILTER_ACTIONS, FILTER_KINDS, FILTER_LANGUAGES, FilterRule, FlaggedMessage, Message, User
from ..errors import Forbidden, NotFound, ValidationError
from . import matcher


def _admin(actor: User) -> None:
    if not actor.is_admin:
        raise Forbidden(_l("Only admins manage content filters."))


def list_rules() -> list[FilterRule]:
    return list(db.session.scalars(select(FilterRule).order_by(FilterRule.id)))


def get_rule(rule_id: int | None) -> FilterRule:
    rule = db.session.get(FilterRule, rule_id) if rule_id is not None else None
    if rule is None:
        raise NotFound(_l("This filter rule does not exist."))
    return rule


def check(kind: str | None, expression: str | None, language: str | None, action: str | None) -> tuple[str, str, str, str]:
    """The rule's fields, cleaned, or a ``ValidationError`` saying what is wrong."""
    if kind not in FILTER_KINDS:
        raise ValidationError(_l("Choose a kind of rule: a word list or a pattern."))
    if language not in FILTER_LANGUAGES:
        raise ValidationError(_l("Choose a language."))
    if action not in FILTER_ACTIONS:
        raise ValidationError(_l("Choose what the rule does: block, mask or flag."))
    expression = (expression or "").strip()
    limit = current_app.config["FILTER_EXPRESSION_MAX_LENGTH"]
    if len(expression) > limit:
        raise ValidationError(_l("A rule is at most %(count)d characters.", count=limit))
    if kind == "words" and not matcher.word_list(expression):
        raise ValidationError(_l("Write at least one word."))
    if kind == "pattern":
        if not expression:
            raise ValidationError(_l("Write a pattern."))
        if "(?P<" in expression:
            raise ValidationError(_l("Named groups are not allowed in a pattern."))
        try:
            compiled = matcher.compile_one(kind, expression)
        except Exception as exc:  # re2 reports every syntax it refuses this way
            detail = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            raise ValidationError(_l("This pattern is not valid: %(error)s. Patterns use RE2 syntax "
                                     "(no look-around, no back-references).", error=detail)) from None
        if compiled.programsize > current_app.config["FILTER_PROGRAM_MAX_SIZE"]:
            raise ValidationError(_l("This pattern is too complex. Make it shorter or simpler."))
        if compiled.search("") is not None:
            raise ValidationError(_l("This pattern matches an empty message: it would match everything."))
    return kind, expression, language, action


def create_rule(actor: User, *, kind: str | None, expression: str | None, language: str | None,
                action: str | None, now: datetime) -> FilterRule:
    _admin(actor)
    kind, expression, language, action = check(kind, expression, language, action)
    if db.session.scalar(select(func.count()).select_from(FilterRule)) >= current_app.config["FILTER_RULES_MAX"]:
        raise ValidationError(_l("There are already as many rules as allowed. Delete one first."))
    rule = FilterRule(kind=kind, expression=expression, language=language, action=action, enabled=True,
                      created_at=now, created_by_id=actor.id, updated_at=now, updated_by_id=actor.id)
    db.session.add(rule)
    db.session.flush()
    return rule


def update_rule(actor: User, rule_id: int | None, *, kind: str | None, expression: str | None,
                language: str | None, action: str | None, now: datetime) -> FilterRule:
    _admin(actor)
    rule = get_rule(rule_id)
    rule.kind, rule.expression, rule.language, rule.action = check(kind, expression, language, action)
    rule.updated_at, rule.updated_by_id = now, actor.id
    return rule


def set_enabled(actor: User, rule_id: int | None, enabled: bool, now: datetime) -> FilterRule:
    _admin(actor)
    rule = get_rule(rule_id)
    rule.enabled, rule.updated_at, rule.updated_by_id = enabled, now, actor.id
    return rule


def delete_rule(actor: User, rule_id: int | None, now: datetime) -> None:
    _admin(actor)
    db.session.delete(get_rule(rule_id))


def changed() -> None:
    """After the commit of a change: every process reloads its rules."""
    matcher.bump_version()


def flagged(*, reviewed: bool = False, limit: int = 200) -> list[FlaggedMessage]:
    """The flagged messages still to review (or those reviewed), newest first, with their message."""
    query = (select(FlaggedMessage).options(joinedload(FlaggedMessage.message).joinedload(Message.conversation),
                                            joinedload(FlaggedMessage.reviewed_by))
             .where(FlaggedMessage.reviewed_at.is_not(None) if reviewed else FlaggedMessage.reviewed_at.is_(None))
             .order_by(FlaggedMessage.flagged_at.desc(), FlaggedMessage.id.desc()).limit(limit))
    return list(db.session.scalars(query))


def mark_reviewed(actor: User, flagged_id: int | None, now: datetime) -> FlaggedMessage:
    """Take a flagged message off the list (once: a second time changes nothing)."""
    _admin(actor)
    row = db.session.get(FlaggedMessage, flagged_id) if flagged_id is not None else None
    if row is None:
        raise NotFound(_l("This flagged message does not exist."))
    if row.reviewed_at is None:
        row.reviewed_at, row.reviewed_by_id = now, actor.id
    return row
