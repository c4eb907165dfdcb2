"""Direct delivery: an SMTP or LMTP listener (aiosmtpd) that a mail server hands the desk's mail to.

A recipient that is no active direct mailbox is refused at RCPT (550), so the sending server
bounces it at once. A message is acknowledged with 250 only after intake committed it; when the
database cannot be reached the answer is 451 and the sending server keeps the message and tries
again, so nothing it handed over is lost. LMTP answers once per recipient, as the protocol asks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import DatabaseError, close_old_connections

from tierdesk.intake.mail.services import mailbox_for_delivery, receive_email
from tierdesk.intake.models import InboundEmail, Mailbox

logger = logging.getLogger(__name__)
T = TypeVar("T")


def _with_connection(call: Callable[[], T]) -> T:
    # Runs in a worker thread: Django's connections are per thread and may have gone stale.
    close_old_connections()
    try:
        return call()
    finally:
        close_old_connections()


def _direct_mailbox(address: str) -> Mailbox | None:
    mailbox = mailbox_for_delivery([address])
    return mailbox if mailbox is not None and mailbox.kind == Mailbox.Kind.DIRECT else None


class DeskHandler:
    def __init__(self, *, lmtp: bool) -> None:
        self.source = InboundEmail.Source.LMTP if lmtp else InboundEmail.Source.SMTP
        self.lmtp = lmtp

    async def _run(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, _with_connection, call)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        try:
            mailbox = await self._run(lambda: _direct_mailbox(address))
        except DatabaseError:
            logger.exception("mail listener: database unavailable at RCPT")
            return "451 4.3.0 Temporary failure, please try again later"
        if mailbox is None:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        statuses = [await self._deliver(raw, recipient) for recipient in envelope.rcpt_tos]
        if self.lmtp:
            return "\r\n".join(statuses)  # one status line per accepted recipient (RFC 2033)
        temporary = [status for status in statuses if status.startswith("4")]
        return temporary[0] if temporary else statuses[0]

    async def _deliver(self, raw: bytes, recipient: str) -> str:
        def deliver() -> str:
            mailbox = _direct_mailbox(recipient)
            if mailbox is None:
                return "550 5.1.1 No such mailbox here"
            receipt = receive_email(raw=raw, mailbox=mailbox, source=self.source)
            return f"250 2.0.0 OK {receipt.record.get_outcome_display().lower()}"

        try:
            return await self._run(deliver)
        except DatabaseError:
            logger.exception("mail listener: database unavailable, message for %s deferred", recipient)
            return "451 4.3.0 Temporary failure, please try again later"


class DeskController(Controller):
    def __init__(self, *, host: str, port: int, lmtp: bool, **kwargs: Any) -> None:
        super().__init__(
            DeskHandler(lmtp=lmtp),
            hostname=host,
            port=port,
            data_size_limit=settings.TIERDESK_EMAIL_MAX_BYTES,
            **kwargs,
        )
        self.lmtp = lmtp

    def factory(self) -> SMTP:
        server_class = LMTP if self.lmtp else SMTP
        return server_class(self.handler, **self.SMTP_kwargs)
