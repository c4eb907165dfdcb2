"""Mail to requesters about their tickets: the acknowledgement, an agent's public reply, a status
change, and the resolution with its satisfaction link.

Each is rendered from the provider's wording (an EmailTemplate row an admin edited) or the built-in
one (templates/notifications/email/), queued in the outbox under a key naming its cause, so a task
run twice queues it once. Templates see plain values, never model instances: an admin's template
can print what a requester may read, and nothing else (no password hashes, no other tickets).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import formataddr
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.template import Context, Engine, Template, TemplateDoesNotExist, TemplateSyntaxError, loader
from django.urls import reverse

from tierdesk.accounts.choices import Role
from tierdesk.accounts.models import Requester
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.core.rendering import render_markdown
from tierdesk.notifications import outbox
from tierdesk.notifications.bounces import bouncing, is_daemon
from tierdesk.notifications.models import EmailTemplate, OutboxMessage
from tierdesk.notifications.services import thread_message_id
from tierdesk.tickets import satisfaction
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, TicketStatus, TimelineKind
from tierdesk.tickets.models import Ticket, TimelineEntry

logger = logging.getLogger(__name__)

Kind = EmailTemplate.Kind

# Who writes the timeline entry when an acknowledgement is held back.
MAILER = Actor(user=None, via="email", name="Outbound e-mail")

# Status changes the requester hears of (a reopen is its own event, see kind_for_status_change).
STATUS_MAIL: dict[str, str] = {
    TicketStatus.PENDING_CUSTOMER: Kind.STATUS_CHANGED,
    TicketStatus.CANCELLED: Kind.STATUS_CHANGED,
    TicketStatus.RESOLVED: Kind.RESOLVED,
}

AGENT_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)

# Enough of the thread for any mail client to place the message; RFC 5322 keeps the first and the latest.
MAX_REFERENCES = 10
MESSAGE_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")

# Admins' wording and ours are compiled here: no template directories (no {% include %} of the
# desk's pages) and no tag libraries beyond the built-in ones.
ENGINE = Engine(libraries={}, string_if_invalid="")


_silenced: contextvars.ContextVar[bool] = contextvars.ContextVar("tierdesk_requester_mail_silenced", default=False)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """No mail to requesters for changes committed inside this block: for building history (the
    demo's 90 days of tickets), where every requester would otherwise hear of the past at once."""
    token = _silenced.set(True)
    try:
        yield
    finally:
        _silenced.reset(token)


def is_silenced() -> bool:
    return _silenced.get()


class WordingError(Exception):
    """An admin's template does not compile or render; the message says where."""


@dataclass(frozen=True)
class Wording:
    subject: str
    body_text: str
    body_html: str


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def kind_for_status_change(event: str, new_status: str) -> str | None:
    """Which mail a status change sends, if any: a reopen, waiting for the customer, a cancellation
    or a resolution. Moving between agents' own states is not the requester's news."""
    if event == "reopened":
        return Kind.STATUS_CHANGED
    if event == "status_changed":
        return STATUS_MAIL.get(new_status)
    return None


# --- what the desk sends -----------------------------------------------------------------------


@transaction.atomic
def acknowledge(*, ticket_id: int) -> OutboxMessage | None:
    """Tell the requester their new ticket arrived (not for monitoring alerts), at most
    TIERDESK_ACK_LIMIT_PER_HOUR times an hour per address: more is most likely a mail loop."""
    ticket = _ticket(ticket_id)
    if ticket is None or ticket.channel == Channel.MONITORING:
        return None
    key = _key(Kind.ACKNOWLEDGEMENT, ticket.pk)
    queued = OutboxMessage.objects.filter(key=key).first()
    if queued is not None:
        return queued
    to, cc = _recipients(ticket)
    if not to and not cc:
        logger.info("requester mail: no acknowledgement for %s: no address to write to", ticket.number)
        return None
    address = (to or cc)[0]
    if _over_ack_limit(ticket, address):
        return None
    return _queue(ticket, Kind.ACKNOWLEDGEMENT, key, f"{Kind.ACKNOWLEDGEMENT}-{ticket.pk}", to, cc, {})


@transaction.atomic
def mail_agent_reply(*, entry_id: int) -> OutboxMessage | None:
    """Mail an agent's public reply to the requester (and those copied). The requester's own
    replies, and anything written without an agent's login, are not mailed back."""
    entry = (
        TimelineEntry.objects.select_related("author")
        .filter(pk=entry_id, kind=TimelineKind.REPLY, is_public=True)
        .first()
    )
    if entry is None or entry.author is None or not entry.author.is_agent_side:
        return None
    if isinstance(entry.data, dict) and entry.data.get("chat"):
        return None  # a line of a live chat (selfservice): the requester read it as it was written
    ticket = _ticket(entry.ticket_id)
    if ticket is None or entry.author_id == ticket.requester.user_id:
        return None
    key = _key(Kind.AGENT_REPLY, entry.pk)
    reply = {"body": entry.body, "body_html": render_markdown(entry.body), "author": entry.author_label}
    return _queue_once(ticket, Kind.AGENT_REPLY, key, entry.pk, {"reply": reply})


@transaction.atomic
def mail_status_change(*, entry_id: int) -> OutboxMessage | None:
    """Mail a status change the requester should hear of; a resolution carries the satisfaction link."""
    entry = TimelineEntry.objects.filter(pk=entry_id, kind=TimelineKind.EVENT).first()
    data = entry.data if entry is not None and isinstance(entry.data, dict) else {}
    kind = kind_for_status_change(entry.event, str(data.get("new", ""))) if entry is not None else None
    if entry is None or kind is None:
        return None
    ticket = _ticket(entry.ticket_id)
    if ticket is None:
        return None
    extra: dict[str, Any] = {
        "status": str(data.get("new", "")),
        "reopened": entry.event == "reopened",
        "status_label": _status_label(str(data.get("new", ""))),
        "old_status_label": _status_label(str(data.get("old", ""))),
        "reason": str(data.get("reason", "")),
    }
    if kind == Kind.RESOLVED:
        path = reverse("portal:satisfaction", args=[satisfaction.link_token(ticket)])
        extra["satisfaction_url"] = f"{settings.TIERDESK_BASE_URL}{path}"
        extra["satisfaction_days"] = satisfaction.LINK_MAX_AGE.days
        extra["resolution_notes"] = entry.body
        extra["resolution_notes_html"] = render_markdown(entry.body)
    return _queue_once(ticket, kind, _key(kind, entry.pk), entry.pk, extra)


def _ticket(ticket_id: int) -> Ticket | None:
    return Ticket.objects.select_related("organisation__provider", "requester").filter(pk=ticket_id).first()


def _key(kind: str, cause_id: int) -> str:
    return f"requester_mail:{kind}:{cause_id}"


def _provider_id(ticket: Ticket) -> int:
    return ticket.organisation.provider_id or ticket.organisation_id


def _queue_once(ticket: Ticket, kind: str, key: str, cause_id: int, extra: dict[str, Any]) -> OutboxMessage | None:
    queued = OutboxMessage.objects.filter(key=key).first()
    if queued is not None:
        return queued
    to, cc = _recipients(ticket)
    if not to and not cc:
        logger.info("requester mail: no %s for %s: no address to write to", kind, ticket.number)
        return None
    return _queue(ticket, kind, key, f"{kind}-{cause_id}", to, cc, extra)


def _queue(
    ticket: Ticket, kind: str, key: str, part: str, to: list[str], cc: list[str], extra: dict[str, Any]
) -> OutboxMessage | None:
    wording = wording_for(_provider_id(ticket), kind)
    if wording is None:
        logger.info("requester mail: no %s for %s: the admins switched that mail off", kind, ticket.number)
        return None
    rendered = _render_or_default(wording, kind, mail_context(ticket, extra), ticket)
    message_id = thread_message_id(ticket.number, part)
    in_reply_to, references = _thread(ticket, message_id)
    try:
        return outbox.queue_email(
            organisation_id=ticket.organisation_id,
            key=key,
            purpose=kind,
            ticket_id=ticket.pk,
            to=to,
            cc=cc,
            from_address=sender_for(ticket),
            subject=with_ticket_number(rendered.subject, ticket.number),
            body=rendered.text,
            body_html=rendered.html,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
        )
    except DomainError as exc:  # e.g. a line break in an address: refused, and the change it reports stands
        logger.warning("requester mail: %s for %s refused: %s", kind, ticket.number, exc.detail)
        return None


def _render_or_default(wording: Wording, kind: str, context: dict[str, Any], ticket: Ticket) -> RenderedMail:
    """The admins' wording; if it fails at this ticket (it rendered against the sample), ours."""
    try:
        return render(wording, context)
    except WordingError as exc:
        logger.warning(
            "requester mail: the %s template failed for %s (%s); the built-in one is used", kind, ticket.number, exc
        )
        return render(default_wording(kind), context)


def _recipients(ticket: Ticket) -> tuple[list[str], list[str]]:
    """The requester in To and the participants in Cc, without daemons, flagged bouncing addresses
    and anything that is not an address (one bad participant does not silence the others)."""
    requester = ticket.requester.email.strip()
    copied = [email.strip() for email in ticket.participants.values_list("email", flat=True)]
    candidates = [address for address in [requester, *copied] if _is_address(address) and not is_daemon(address)]
    flagged = bouncing(_provider_id(ticket), candidates)
    if flagged:
        logger.info("requester mail for %s skips bouncing addresses: %s", ticket.number, ", ".join(sorted(flagged)))
    usable = [address for address in candidates if address.lower() not in flagged]
    to = [requester] if requester in usable else []
    cc = [address for address in usable if address.lower() != requester.lower()]
    return to, cc


def _is_address(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        if value:
            logger.warning("requester mail: %r is not an e-mail address; skipped", value)
        return False
    return True


def _over_ack_limit(ticket: Ticket, address: str) -> bool:
    """True (and recorded on the ticket, once) when this address had its hour's acknowledgements."""
    # The requester's row is locked, so two tickets opened at once cannot both slip under the limit.
    list(Requester.objects.select_for_update().filter(pk=ticket.requester_id).values_list("pk"))
    limit = settings.TIERDESK_ACK_LIMIT_PER_HOUR
    sent = OutboxMessage.objects.filter(
        purpose=Kind.ACKNOWLEDGEMENT, created_at__gte=clock.now() - timedelta(hours=1), to_addresses__iexact=address
    ).count()
    if sent < limit:
        return False
    logger.info("requester mail: acknowledgement for %s suppressed: %s had %d this hour", ticket.number, address, sent)
    if not ticket.timeline.filter(event="acknowledgement_suppressed").exists():
        tickets.record_system_event(
            actor=MAILER,
            ticket=ticket,
            event="acknowledgement_suppressed",
            data={"to": address, "limit_per_hour": limit},
        )
    return True


def sender_for(ticket: Ticket) -> str:
    """The organisation's support address (a client without one uses its provider's), named after
    the organisation whose address it is; else DEFAULT_FROM_EMAIL as configured."""
    organisation = ticket.organisation
    for owner in (organisation, organisation.provider):
        if owner is not None and owner.support_email:
            return formataddr((" ".join(owner.name.split()), owner.support_email.strip()))
    return str(settings.DEFAULT_FROM_EMAIL)


def with_ticket_number(subject: str, number: str) -> str:
    """One line, carrying [INC0001234]: replies are threaded by it when their headers are lost."""
    subject = " ".join(subject.split())
    tag = f"[{number}]"
    if tag not in subject[:250]:
        subject = f"{tag} {subject}".strip()
    return subject[:250]


def _thread(ticket: Ticket, own_message_id: str) -> tuple[str, list[str]]:
    """In-Reply-To: the requester's latest mail on the ticket (intake keeps its Message-ID in the
    timeline entry), else our latest mail; References: both, in the order they were written.
    An agent's own mail to the desk is left out: the requester never had it."""
    written_to_us = (
        ticket.timeline.filter(is_public=True, data__has_key="message_id")
        .exclude(author__role__in=AGENT_ROLES)
        .only("created_at", "data")
    )
    inbound = [
        (entry.created_at, str(entry.data.get("message_id", "")))
        for entry in written_to_us
        if isinstance(entry.data, dict)
    ]
    ours = list(
        OutboxMessage.objects.filter(ticket=ticket, kind=OutboxMessage.Kind.EMAIL, purpose__in=Kind.values)
        .exclude(message_id="")
        .values_list("created_at", "message_id")
    )
    # A Message-ID from outside is kept only if it looks like one (no spaces, no line breaks).
    inbound = [(at, value) for at, value in inbound if MESSAGE_ID.fullmatch(value) and len(value) <= 250]
    thread: list[str] = []
    for _, value in sorted([*ours, *inbound], key=lambda item: item[0]):
        if value != own_message_id and value not in thread:
            thread.append(value)
    if len(thread) > MAX_REFERENCES:
        thread = [thread[0], *thread[-(MAX_REFERENCES - 1) :]]
    latest = max(inbound, key=lambda item: item[0])[1] if inbound else ""
    return latest or (thread[-1] if thread else ""), thread


# --- wording and rendering -----------------------------------------------------------------------


def wording_for(provider_id: int, kind: str) -> Wording | None:
    """The provider's wording of this kind of mail, else the built-in one; None when switched off."""
    row = EmailTemplate.objects.filter(organisation_id=provider_id, kind=kind).first()
    if row is None:
        return default_wording(kind)
    if not row.is_active:
        return None
    return Wording(subject=row.subject, body_text=row.body_text, body_html=row.body_html)


def default_wording(kind: str) -> Wording:
    base = f"notifications/email/{kind}"
    return Wording(
        subject=_source(f"{base}.subject.txt"), body_text=_source(f"{base}.txt"), body_html=_source(f"{base}.html")
    )


def _source(name: str) -> str:
    return str(loader.get_template(name).template.source)  # type: ignore[attr-defined]


def render(wording: Wording, context: dict[str, Any]) -> RenderedMail:
    """Text without escaping, HTML auto-escaped: the values are what people typed."""
    return RenderedMail(
        subject=" ".join(_render(wording.subject, context, autoescape=False).split()),
        text=_render(wording.body_text, context, autoescape=False),
        html=_render(wording.body_html, context, autoescape=True) if wording.body_html.strip() else "",
    )


def _render(source: str, context: dict[str, Any], *, autoescape: bool) -> str:
    try:
        return Template(source, engine=ENGINE).render(Context(context, autoescape=autoescape))
    except (TemplateSyntaxError, TemplateDoesNotExist) as exc:
        raise WordingError(str(exc)) from exc
    except Exception as exc:  # a filter that fails at these values: the admin's problem, not the ticket's
        raise WordingError(f"{type(exc).__name__}: {exc}") from exc


def mail_context(ticket: Ticket, extra: dict[str, Any]) -> dict[str, Any]:
    """What a template may print, as plain values."""
    requester = ticket.requester
    portal_path = reverse("portal:ticket", args=[ticket.number])
    return {
        "ticket": {
            "number": ticket.number,
            "title": ticket.title,
            "description": ticket.description,
            "status": ticket.status,
            "status_label": ticket.get_status_display(),
            "priority_label": ticket.get_priority_display(),
            "type_label": ticket.get_ticket_type_display(),
            "opened_at": ticket.created_at,
        },
        "requester": {"name": requester.name, "first_name": _first_name(requester.name), "email": requester.email},
        "organisation": {"name": ticket.organisation.name},
        "portal_url": f"{settings.TIERDESK_BASE_URL}{portal_path}",
        "status_label": ticket.get_status_display(),
        **extra,
    }


def sample_context(kind: str) -> dict[str, Any]:
    """Made-up values of the same shape, for checking and previewing an admin's wording."""
    from django.utils.safestring import mark_safe

    context: dict[str, Any] = {
        "ticket": {
            "number": "INC0001234",
            "title": "Printer on floor 3 is jammed",
            "description": "The printer shows a paper jam <and> nothing prints.",
            "status": TicketStatus.IN_PROGRESS,
            "status_label": TicketStatus.IN_PROGRESS.label,
            "priority_label": "P3 Moderate",
            "type_label": "Incident",
            "opened_at": clock.now(),
        },
        "requester": {"name": "Rita Requester", "first_name": "Rita", "email": "rita@client.example"},
        "organisation": {"name": "Client Organisation"},
        "portal_url": f"{settings.TIERDESK_BASE_URL}/portal/tickets/INC0001234/",
        "status_label": TicketStatus.IN_PROGRESS.label,
    }
    if kind == Kind.AGENT_REPLY:
        context["reply"] = {
            "body": "Hello Rita,\n\nthe tray was stuck; it prints again.",
            "body_html": mark_safe("<p>Hello Rita,</p><p>the tray was stuck; it prints again.</p>"),
            "author": "Alex Agent",
        }
    if kind in (Kind.STATUS_CHANGED, Kind.RESOLVED):
        context.update(
            status=TicketStatus.PENDING_CUSTOMER,
            reopened=False,
            status_label=TicketStatus.PENDING_CUSTOMER.label,
            old_status_label=TicketStatus.IN_PROGRESS.label,
            reason="Could you send a photo of the printer's display?",
        )
    if kind == Kind.RESOLVED:
        context.update(
            status=TicketStatus.RESOLVED,
            status_label=TicketStatus.RESOLVED.label,
            satisfaction_url=f"{settings.TIERDESK_BASE_URL}/portal/satisfaction/sample/",
            satisfaction_days=satisfaction.LINK_MAX_AGE.days,
            resolution_notes="Replaced the pickup roller.",
            resolution_notes_html=mark_safe("<p>Replaced the pickup roller.</p>"),
        )
    return context


def check_wording(source: str, kind: str, *, html: bool = False) -> str:
    """Compile and render an admin's template against the sample; WordingError says what is wrong."""
    return _render(source, sample_context(kind), autoescape=html)


def _status_label(value: str) -> str:
    return str(TicketStatus(value).label) if value in TicketStatus.values else value


def _first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else ""


@transaction.atomic
def mail_major_incident_update(
    *, ticket: Ticket, update_id: int, major: Ticket, status_label: str, body: str
) -> OutboxMessage | None:
    """Tell a requester about the outage their ticket is part of, about their own ticket (so a reply
    threads there); once per update and requester, whoever calls it again."""
    fresh = _ticket(ticket.pk)
    if fresh is None:
        return None
    key = _key(Kind.MAJOR_INCIDENT_UPDATE, update_id) + f":{fresh.requester_id}"
    extra = {
        "update": body,
        "major_incident": {"number": major.number, "title": major.title, "status_label": status_label},
    }
    return _queue_once(fresh, Kind.MAJOR_INCIDENT_UPDATE, key, update_id, extra)
