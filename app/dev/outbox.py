"""Read the local mail sink's Maildir for the admin "Outbox" page.

The sink (app.dev.mailsink) stores each mail as received, prefixed with its SMTP envelope
(X-MailFrom, X-RcptTo). Nothing here raises for a missing directory, an unknown key or an
odd message: the page lists what it can.
"""
from __future__ import annotations

import html as html_lib
import mailbox
import re
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

# Maildir keys look like "1700000000.M123456P789Q1.host" (the host part may hold "\057").
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._,=+\\-]{0,254}$")
_DELIVERY_RE = re.compile(r"^(\d+)\.M(\d+)P(\d+)Q(\d+)")


def _open(outbox_dir) -> mailbox.Maildir | None:
    path = Path(outbox_dir)
    if not (path / "new").is_dir() and not (path / "cur").is_dir():
        return None
    return mailbox.Maildir(str(path), factory=None, create=False)


def _valid_key(key) -> bool:
    return isinstance(key, str) and bool(_KEY_RE.match(key)) and ".." not in key


def _delivered(key: str) -> tuple[int, int, int]:
    """Delivery order from the key itself (seconds, microseconds, counter): no stat() per file."""
    match = _DELIVERY_RE.match(key)
    return (int(match[1]), int(match[2]), int(match[4])) if match else (0, 0, 0)


def _parse(box: mailbox.Maildir, key: str, headers_only: bool) -> EmailMessage | None:
    try:
        with box.get_file(key) as fh:
            return BytesParser(policy=policy.default).parse(fh, headersonly=headers_only)
    except (KeyError, OSError):  # removed meanwhile
        return None


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg[name]
    except Exception:  # noqa: BLE001 - a malformed header must not break the page: show it raw
        value = next((raw for field, raw in msg.raw_items() if field.lower() == name.lower()), "")
    return str(value or "").strip()


def _recipients(msg: EmailMessage) -> list[str]:
    envelope = _header(msg, "X-RcptTo")
    if envelope:
        return [r.strip() for r in envelope.split(",") if r.strip()]
    found: list[str] = []
    for name in ("To", "Cc"):
        try:
            header = msg[name]
            found += [a.addr_spec for a in getattr(header, "addresses", ())] if header else []
        except Exception:  # noqa: BLE001
            found.append(_header(msg, name))
    return found


def _date(msg: EmailMessage, key: str) -> datetime | None:
    try:
        value = msg["Date"]
        if value is not None and getattr(value, "datetime", None):
            return value.datetime
    except Exception:  # noqa: BLE001 - unparsable Date: fall back to the delivery time
        pass
    seconds = _delivered(key)[0]
    return datetime.fromtimestamp(seconds, timezone.utc) if seconds else None


def _summary(key: str, msg: EmailMessage) -> dict:
    return {
        "key": key,
        "sender": _header(msg, "From") or _header(msg, "X-MailFrom"),
        "recipients": _recipients(msg),
        "subject": _header(msg, "Subject"),
        "date": _date(msg, key),
    }


def list_mails(outbox_dir, limit: int = 200) -> list[dict]:
    """Newest first: key, sender, recipients, subject (decoded), date (datetime or None)."""
    box = _open(outbox_dir)
    if box is None:
        return []
    try:
        keys = sorted(box.keys(), key=_delivered, reverse=True)
    except OSError:
        return []
    mails = []
    for key in keys:
        if len(mails) >= limit:
            break
        msg = _parse(box, key, headers_only=True)
        if msg is not None:
            mails.append(_summary(key, msg))
    return mails


def _content(part) -> str:
    try:
        return part.get_content()
    except Exception:  # noqa: BLE001 - unknown charset or broken encoding
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else str(payload)


def _html_to_text(markup: str) -> str:
    text = re.sub(r"(?is)<(script|style)\b.*?</\1>", "", markup)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</h\d>", "\n", text)
    return html_lib.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def get_mail(outbox_dir, key) -> dict | None:
    """One mail with ``text`` (plain body) and ``html`` (HTML body or None); None if unknown."""
    if not _valid_key(key):
        return None
    box = _open(outbox_dir)
    if box is None:
        return None
    try:
        if key not in box:
            return None
    except OSError:
        return None
    msg = _parse(box, key, headers_only=False)
    if msg is None:
        return None
    mail = _summary(key, msg)
    try:
        plain = msg.get_body(preferencelist=("plain",))
        rich = msg.get_body(preferencelist=("html",))
    except Exception:  # noqa: BLE001
        plain = rich = None
    mail["html"] = _content(rich) if rich is not None else None
    if plain is not None:
        mail["text"] = _content(plain)
    elif mail["html"] is not None:
        mail["text"] = _html_to_text(mail["html"])
    else:
        mail["text"] = "" if msg.is_multipart() else _content(msg)
    return mail
