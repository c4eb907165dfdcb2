"""The outbox: e-mails and HTTP calls written with the change that caused them, delivered after.

A message is queued in the caller's transaction, so it exists exactly when the change does.
Delivery runs after commit (and every half minute for retries): each message is locked
while it is sent, retried with exponential backoff, and given up after MAX_ATTEMPTS with
its last error kept. Handlers registered per purpose hear of a delivery or a give-up.
"""

from __future__ import annotations

import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction

from tierdesk.core import clock
from tierdesk.core.errors import DomainError
from tierdesk.notifications.bounces import is_daemon
from tierdesk.notifications.models import OutboxMessage

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)
HTTP_TIMEOUT = 10  # seconds
KEEP_RESPONSE = 20_000  # characters of a response body kept for the record

# purpose -> handler(message), called in the delivering transaction after a success / a give-up.
on_delivered: dict[str, Callable[[OutboxMessage], None]] = {}
on_given_up: dict[str, Callable[[OutboxMessage], None]] = {}
# purpose -> headers(message) added to an HTTP call as it leaves, never stored with the message:
# credentials stay out of the outbox, and a signature over a timestamp is fresh on every retry
# (a retry an hour later would otherwise be refused by the receiver as stale). A handler that
# cannot build them raises DeliveryRefused, which counts as a failed attempt.
on_sending: dict[str, Callable[[OutboxMessage], dict[str, str]]] = {}


def _no_line_breaks(*values: str) -> None:
    """Header injection is impossible: no CR or LF in anything that becomes a header."""
    for value in values:
        if "\r" in value or "\n" in value:
            raise DomainError("Header values may not contain line breaks.")


def queue_email(
    *,
    organisation_id: int,
    key: str,
    purpose: str,
    to: Iterable[str],
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str = "",
    from_address: str = "",
    ticket_id: int | None = None,
    cc: Iterable[str] = (),
    body_html: str = "",
    references: Iterable[str] = (),
    reply_to: str = "",
) -> OutboxMessage | None:
    """Queue an e-mail; None when every recipient was a mailer daemon (nothing is queued then)."""
    recipients = _addresses(to)
    if not recipients:
        raise DomainError("An e-mail needs a recipient.")
    copied = _addresses(cc)
    sender = from_address or settings.DEFAULT_FROM_EMAIL
    thread = [reference.strip() for reference in references if reference.strip()]
    _no_line_breaks(subject, message_id, in_reply_to, sender, reply_to, *recipients, *copied, *thread)
    # A mailer daemon answers nothing, and writing to one is how mail loops start.
    recipients = [address for address in recipients if not is_daemon(address)]
    seen = {address.lower() for address in recipients}
    copied = [address for address in copied if not is_daemon(address) and address.lower() not in seen]
    if not recipients:
        recipients, copied = copied[:1], copied[1:]  # the copied people still hear of it
    if not recipients:
        logger.info("outbox: %s %s not queued: no recipient left but mailer daemons", purpose, key)
        return None
    message, _ = OutboxMessage.objects.get_or_create(
        key=key,
        defaults=dict(
            organisation_id=organisation_id,
            kind=OutboxMessage.Kind.EMAIL,
            purpose=purpose,
            ticket_id=ticket_id,
            next_attempt_at=clock.now(),
            from_address=sender,
            to_addresses="\n".join(recipients),
            cc_addresses="\n".join(copied),
            subject=subject[:250],
            body_text=body,
            body_html=body_html,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=" ".join(thread),
            headers={"Reply-To": reply_to} if reply_to else {},
        ),
    )
    _deliver_after_commit(message.pk)
    return message


def _addresses(values: Iterable[str]) -> list[str]:
    """Stripped, without blanks or repeats (compared case-insensitively), in their order."""
    found: dict[str, str] = {}
    for value in values:
        address = value.strip()
        if address and address.lower() not in found:
            found[address.lower()] = address
    return list(found.values())


def queue_http(
    *,
    organisation_id: int,
    key: str,
    purpose: str,
    method: str,
    url: str,
    headers: dict[str, str],
    body: str,
    ticket_id: int | None = None,
) -> OutboxMessage:
    _no_line_breaks(*headers.keys(), *headers.values())
    if not url.startswith(("https://", "http://")):
        raise DomainError(f"Not an HTTP address: {url!r}.")
    message, _ = OutboxMessage.objects.get_or_create(
        key=key,
        defaults=dict(
            organisation_id=organisation_id,
            kind=OutboxMessage.Kind.HTTP,
            purpose=purpose,
            ticket_id=ticket_id,
            next_attempt_at=clock.now(),
            method=method.upper(),
            url=url,
            headers=headers,
            body=body,
        ),
    )
    _deliver_after_commit(message.pk)
    return message


def _deliver_after_commit(message_id: int) -> None:
    def enqueue() -> None:
        from tierdesk.notifications.tasks import deliver_outbox_message

        deliver_outbox_message.delay(message_id)

    transaction.on_commit(enqueue)


@dataclass
class DeliveryResult:
    sent: int = 0
    retrying: int = 0
    given_up: int = 0


def deliver_due(*, now: datetime | None = None, batch: int = 100) -> DeliveryResult:
    """Send every message that is due (the periodic retry loop)."""
    now = now or clock.now()
    result = DeliveryResult()
    for message_id in list(OutboxMessage.objects.due(now).values_list("pk", flat=True)[:batch]):
        state = deliver(message_id, now=now)
        if state == OutboxMessage.State.SENT:
            result.sent += 1
        elif state == OutboxMessage.State.FAILED:
            result.given_up += 1
        elif state == OutboxMessage.State.PENDING:
            result.retrying += 1
    return result


def deliver(message_id: int, *, now: datetime | None = None) -> str | None:
    """Send one message if it is due; the row lock makes two workers never send it twice."""
    now = now or clock.now()
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, state=OutboxMessage.State.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return None
        message.attempts += 1
        try:
            if message.kind == OutboxMessage.Kind.EMAIL:
                _send_email(message)
            else:
                _send_http(message)
        except (OSError, DeliveryRefused) as exc:
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if message.attempts >= MAX_ATTEMPTS:
                message.state = OutboxMessage.State.FAILED
                logger.warning("outbox: gave up on %s %s: %s", message.purpose, message.pk, message.last_error)
                if message.purpose in on_given_up:
                    on_given_up[message.purpose](message)
            else:
                message.next_attempt_at = now + min(FIRST_RETRY * 2 ** (message.attempts - 1), LONGEST_WAIT)
            message.save()
            return message.state
        message.state = OutboxMessage.State.SENT
        message.sent_at = now
        message.last_error = ""
        message.save()
        if message.purpose in on_delivered:
            on_delivered[message.purpose](message)
        return message.state


class DeliveryRefused(Exception):
    """The other side answered, but not with success (an HTTP 4xx/5xx)."""


def _send_email(message: OutboxMessage) -> None:
    headers = {
        "Message-ID": message.message_id,
        # Answering machines (out-of-office, other desks) stay quiet, so no mail loop starts
        # (RFC 3834; Exchange reads its own header, which leaves delivery reports alone).
        "Auto-Submitted": "auto-replied",
        "X-Auto-Response-Suppress": "OOF, AutoReply",
        # Our own mail coming back (a forward, a misrouted copy) is recognised and ignored by intake.
        "X-Tierdesk-Loop": settings.MESSAGE_ID_DOMAIN,
    }
    if message.in_reply_to:
        headers["In-Reply-To"] = message.in_reply_to
    if message.references or message.in_reply_to:
        headers["References"] = message.references or message.in_reply_to
    reply_to = str(message.headers.get("Reply-To", "")) if isinstance(message.headers, dict) else ""
    try:  # checked again as it leaves: a row changed by other means must not smuggle in a header either
        _no_line_breaks(message.subject, message.from_address, reply_to, *headers.values())
    except DomainError as exc:
        raise DeliveryRefused(exc.detail) from exc
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=message.from_address,
        to=message.to_addresses.splitlines(),
        cc=message.cc_addresses.splitlines(),
        reply_to=[reply_to] if reply_to else None,
        headers=headers,
        connection=get_connection(fail_silently=False),
    )
    if message.body_html:
        email.attach_alternative(message.body_html, "text/html")
    email.send()


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is answered as a refusal: following it would carry the tracker's credentials
    to another host, and an API that moved is a configuration change, not something to guess."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


def _send_http(message: OutboxMessage) -> None:
    # Only http(s) addresses are queued (queue_http checks), never file: or custom schemes.
    headers = dict(message.headers)
    if message.purpose in on_sending:
        headers.update(on_sending[message.purpose](message))
    request = urllib.request.Request(  # noqa: S310
        message.url, data=message.body.encode("utf-8"), headers=headers, method=message.method
    )
    try:
        with _NO_REDIRECTS.open(request, timeout=HTTP_TIMEOUT) as response:
            message.response_status = response.status
            message.response_body = response.read(KEEP_RESPONSE).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        message.response_status = exc.code
        message.response_body = exc.read(KEEP_RESPONSE).decode("utf-8", "replace")
        raise DeliveryRefused(f"HTTP {exc.code} from {message.url}") from exc
