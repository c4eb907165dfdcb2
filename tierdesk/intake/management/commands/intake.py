"""`tierdesk intake ...`: the e-mail channel from the operator's side.

intake email [--mailbox ADDRESS] < message.eml   take one message from a pipe (e.g. a Postfix alias)
intake smtp [--host H] [--port P] [--lmtp]         listen for direct delivery from a mail server
intake imap [--mailbox ADDRESS] [--once]           poll IMAP mailboxes (the workers do it every minute)
intake replay ID [ID ...]                          run quarantined messages through intake again
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.intake.mail.parsing import addresses
from tierdesk.intake.models import InboundEmail, Mailbox

EX_TEMPFAIL = 75  # sysexits.h: the mail server keeps the message and tries again


class Command(BaseCommand):
    help = __doc__ or ""

    def add_arguments(self, parser: CommandParser) -> None:
        verbs = parser.add_subparsers(dest="verb", required=True)
        pipe = verbs.add_parser("email", help="Take one message on standard input.")
        pipe.add_argument("--mailbox", default="", help="The mailbox's address (default: from the message's To).")
        smtp = verbs.add_parser("smtp", help="Listen for SMTP or LMTP delivery.")
        smtp.add_argument("--host", default="127.0.0.1")
        smtp.add_argument("--port", type=int, default=2525)
        smtp.add_argument("--lmtp", action="store_true", help="Speak LMTP (for Postfix/Dovecot local delivery).")
        imap = verbs.add_parser("imap", help="Poll IMAP mailboxes.")
        imap.add_argument("--mailbox", default="", help="Only this mailbox (its address).")
        imap.add_argument("--once", action="store_true", help="Poll once and stop.")
        imap.add_argument("--interval", type=int, default=60, help="Seconds between polls.")
        imap.add_argument("--limit", type=int, default=None, help="At most this many messages per poll.")
        replay = verbs.add_parser("replay", help="Replay quarantined messages.")
        replay.add_argument("ids", nargs="+", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['verb']}")(options)

    def _email(self, options: dict[str, Any]) -> None:
        from tierdesk.intake.mail.services import mailbox_for_delivery, receive_email

        raw = sys.stdin.buffer.read()
        if not raw:
            raise CommandError("Nothing on standard input.")
        try:
            if options["mailbox"]:
                mailbox = mailbox_for_delivery([options["mailbox"]])
                if mailbox is None:
                    raise CommandError(f"No active mailbox with the address {options['mailbox']}.")
            else:
                mailbox = mailbox_for_delivery(_envelope_guess(raw))
                if mailbox is None:
                    raise CommandError("None of the message's recipients is a mailbox here; name one with --mailbox.")
            receipt = receive_email(raw=raw, mailbox=mailbox, source=InboundEmail.Source.PIPE)
        except DatabaseError as exc:
            self.stderr.write(f"database unavailable, try again later: {exc}")
            sys.exit(EX_TEMPFAIL)
        record = receipt.record
        seen = " (seen before: nothing changed)" if receipt.duplicate else ""
        self.stdout.write(f"{record.get_outcome_display()}: {record.reason}{seen}")

    def _smtp(self, options: dict[str, Any]) -> None:
        from tierdesk.intake.mail.listener import DeskController

        controller = DeskController(host=options["host"], port=options["port"], lmtp=options["lmtp"])
        controller.start()
        protocol = "LMTP" if options["lmtp"] else "SMTP"
        self.stdout.write(f"Listening for {protocol} on {options['host']}:{options['port']} (Ctrl-C stops).")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()

    def _imap(self, options: dict[str, Any]) -> None:
        from tierdesk.intake.mail import imap

        mailboxes = Mailbox.objects.filter(kind=Mailbox.Kind.IMAP, is_active=True)
        if options["mailbox"]:
            mailboxes = mailboxes.filter(address=options["mailbox"].strip().lower())
        ids = list(mailboxes.values_list("pk", flat=True))
        if not ids:
            raise CommandError("No active IMAP mailbox to poll.")
        while True:
            for mailbox_id in ids:
                result = imap.poll_mailbox(mailbox_id, limit=options["limit"])
                self.stdout.write(str(result))
            if options["once"]:
                return
            time.sleep(max(options["interval"], 1))

    def _replay(self, options: dict[str, Any]) -> None:
        from tierdesk.intake.mail.services import replay_quarantined

        for record_id in options["ids"]:
            try:
                record = replay_quarantined(actor=Actor.system("command"), record_id=record_id)
            except DomainError as exc:
                self.stderr.write(f"{record_id}: {exc}")
                continue
            self.stdout.write(f"{record_id}: {record.get_outcome_display()}: {record.reason}")


def _envelope_guess(raw: bytes) -> list[str]:
    """Where a piped message was delivered: the headers mail servers add, then To and Cc."""
    from tierdesk.intake.mail.parsing import parse

    try:
        message = parse(raw).message
    except Exception:  # an unreadable message names no mailbox; the operator must
        return []
    found: list[str] = []
    for header in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"):
        found += [address for _, address in addresses(message, header)]
    return found
