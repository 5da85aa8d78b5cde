"""Switchboard's local mail sink: an SMTP server that keeps every mail in a Maildir.

With no MAIL_SERVER configured, `make run` starts this sink so that invitations and
notifications can be read on the admin "Outbox" page instead of leaving the machine.

    python -m app.dev.mailsink [--host 127.0.0.1] [--port 8025] [--outbox instance/outbox]

Only the standard library and aiosmtpd are imported here (never the Flask app), so the sink
starts fast and does not need the app's configuration, database or Redis.
"""
from __future__ import annotations

import argparse
import mailbox
import os
import signal
import sys
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

DEFAULT_OUTBOX = Path(__file__).resolve().parent.parent / "instance" / "outbox"


def _header_value(value: str) -> bytes:
    # Envelope addresses may be UTF-8 (SMTPUTF8); keep them on one line, never raw CR/LF.
    return value.replace("\r", " ").replace("\n", " ").encode("utf-8", "replace")


class OutboxHandler:
    """aiosmtpd handler: every accepted message becomes one file in a Maildir.

    The message is stored as received (line ends as LF), prefixed with the SMTP envelope
    (X-MailFrom, X-RcptTo), so Bcc recipients stay visible on the outbox page. Maildir delivery
    writes to tmp/ then renames into new/: a reader never sees half a message.
    """

    def __init__(self, outbox_dir: str | os.PathLike[str]):
        self.outbox_dir = Path(outbox_dir)
        self.outbox_dir.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(str(self.outbox_dir), create=True)  # creates new/ cur/ tmp/

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        prefix = (b"X-MailFrom: " + _header_value(envelope.mail_from or "") + b"\n"
                  + b"X-RcptTo: " + _header_value(", ".join(envelope.rcpt_tos)) + b"\n")
        try:  # Maildir files use bare LF line ends
            mailbox.Maildir(str(self.outbox_dir), create=True).add(prefix + content.replace(b"\r\n", b"\n"))
        except OSError as exc:
            return f"451 Requested action aborted: cannot store message ({exc.strerror})"
        return "250 OK"


def start_sink(outbox_dir: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8025) -> Controller:
    """Start the sink in a background thread and return its Controller (call ``.stop()``).

    ``hostname`` is always passed: without it aiosmtpd binds ``::1`` only and connections to
    127.0.0.1 are refused.
    """
    controller = Controller(OutboxHandler(outbox_dir), hostname=host, port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m app.dev.mailsink", description="Switchboard's local mail sink.")
    parser.add_argument("--host", default=os.environ.get("MAIL_SINK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("MAIL_PORT", "8025")))
    parser.add_argument("--outbox", default=os.environ.get("MAIL_OUTBOX_DIR") or str(DEFAULT_OUTBOX))
    args = parser.parse_args(argv)

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    try:
        controller = start_sink(args.outbox, host=args.host, port=args.port)
    except Exception as exc:  # noqa: BLE001 - e.g. port in use: say so, exit non-zero
        print(f"mail sink: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 1
    print(f"mail sink: listening on {args.host}:{args.port}, storing mail in {args.outbox}", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        controller.stop()
    print("mail sink: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
