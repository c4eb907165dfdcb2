"""E-mail intake: one raw message in, exactly one outcome out.

Every message ends as a new ticket, an entry on an existing ticket, a quarantined item (raw bytes
kept, reason shown to admins, re-playable) or a deliberate ignore with its reason. The record of
the message is written in the same transaction as its effect and is unique per provider by
Message-ID (the hash of the bytes when it has none): a message fetched or delivered again finds
its record and changes nothing, and one that fails in any way is quarantined rather than lost,
so it never blocks the messages behind it.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import logging
import re
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from tierdesk.accounts.models import Requester, User
from tierdesk.accounts.services import create_requester
from tierdesk.audit.services import record_event
from tierdesk.core import secrets
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.core.models import check_lengths
from tierdesk.intake.mail import noise as mail_noise
from tierdesk.intake.mail.parsing import ParsedMail, clean_text, first_message_id, parse, sha256
from tierdesk.intake.models import InboundEmail, Mailbox
from tierdesk.notifications import bounces
from tierdesk.notifications.models import OutboxMessage
from tierdesk.routing.models import VendorEscalation
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets import services as tickets
from tierdesk.tickets import workflow
from tierdesk.tickets.choices import Channel, TicketStatus
from tierdesk.tickets.models import Ticket, TicketParticipant

logger = logging.getLogger(__name__)

Outcome = InboundEmail.Outcome
TICKET_TAG = re.compile(r"\[([A-Z]{2,6}\d{4,12})\]")


@dataclass(frozen=True)
class Receipt:
    record: InboundEmail
    duplicate: bool  # seen before: nothing was done this time


class _Quarantine(Exception):
    """Stop acting on this message and quarantine it with this reason."""


# --- entry points ------------------------------------------------------------------------------


def receive_email(*, raw: bytes, mailbox: Mailbox, source: str) -> Receipt:
    """Take one message as it arrived. Never raises for anything the message contains."""
    provider_id = _provider_id(mailbox)
    digest = sha256(raw)
    message_id = _header_message_id(raw)
    key = _dedup_key(message_id, digest)
    existing = InboundEmail.objects.filter(provider_id=provider_id, dedup_key=key).first()
    if existing is not None:
        return Receipt(existing, duplicate=True)
    record = InboundEmail(
        organisation_id=mailbox.organisation_id,
        provider_id=provider_id,
        mailbox=mailbox,
        source=source,
        dedup_key=key,
        message_id=message_id[:300],
        sha256=digest,
        size=len(raw),
        raw=raw,
        outcome=Outcome.QUARANTINED,
    )
    try:
        with transaction.atomic():
            record.save(force_insert=True)  # holds the key: a concurrent copy waits here, then finds it
            _act(record, raw, mailbox)
            record.save()
        return Receipt(record, duplicate=False)
    except IntegrityError:
        existing = InboundEmail.objects.filter(provider_id=provider_id, dedup_key=key).first()
        if existing is not None:
            return Receipt(existing, duplicate=True)
        return Receipt(_quarantine_new(record, "the database refused it (integrity error)"), duplicate=False)
    except Exception as exc:
        logger.exception("e-mail %s to %s quarantined", key, mailbox.address)
        return Receipt(_quarantine_new(record, f"{type(exc).__name__}: {exc}"), duplicate=False)


def replay_quarantined(*, actor: Actor, record_id: int) -> InboundEmail:
    """Run a quarantined message through intake again (after a fix: a requester added, a bug fixed)."""
    record = InboundEmail.objects.quarantined().select_related("mailbox__organisation").filter(pk=record_id).first()
    if record is None:
        raise NotFound("No such quarantined message.")
    _require_admin(actor, record.provider_id)
    try:
        with transaction.atomic():
            locked = InboundEmail.objects.select_for_update().get(pk=record.pk)
            if locked.outcome != Outcome.QUARANTINED:
                return locked  # someone replayed it meanwhile
            locked.replays += 1
            locked.reason = ""
            locked.ticket = None
            _act(locked, bytes(locked.raw), locked.mailbox)
            locked.save()
            _audit_replay(actor, locked)
            return locked
    except Exception as exc:
        logger.warning("replay of e-mail %s failed: %s", record.pk, exc)
        with transaction.atomic():
            InboundEmail.objects.filter(pk=record.pk).update(
                replays=record.replays + 1, reason=f"replay {record.replays + 1}: {type(exc).__name__}: {exc}"[:4000]
            )
            record.refresh_from_db()
            _audit_replay(actor, record)
        return record


def mailbox_for_delivery(recipients: list[str]) -> Mailbox | None:
    """The active direct mailbox one of these envelope recipients names."""
    wanted = [address.strip().lower() for address in recipients if address.strip()]
    return (
        Mailbox.objects.select_related("organisation").filter(address__in=wanted, is_active=True).order_by("pk").first()
    )


# --- the pipeline ------------------------------------------------------------------------------


def _act(record: InboundEmail, raw: bytes, mailbox: Mailbox) -> None:
    if len(raw) > settings.TIERDESK_EMAIL_MAX_BYTES:
        _set(
            record,
            Outcome.QUARANTINED,
            f"too large: {len(raw)} bytes (the limit is {settings.TIERDESK_EMAIL_MAX_BYTES})",
        )
        return
    mail = parse(raw)
    record.from_address = mail.from_address[:254]
    record.subject = mail.subject[:250]
    try:
        noise = mail_noise.detect(mail)
        if noise is not None:
            _handle_noise(record, mail, noise)
            return
        if not mail.from_address:
            raise _Quarantine("it has no sender address to answer")
        ticket, how = _thread(mail, record.provider_id)
        if ticket is not None:
            _append(record, mail, ticket, how, mailbox)
        else:
            _open(record, mail, mailbox)
    except _Quarantine as why:
        _set(record, Outcome.QUARANTINED, str(why))


def _set(record: InboundEmail, outcome: str, reason: str, ticket: Ticket | None = None) -> None:
    record.outcome = outcome
    record.reason = reason[:4000]
    if ticket is not None:
        record.ticket = ticket
    log = logger.info if outcome != Outcome.QUARANTINED else logger.warning
    log("e-mail %s: %s (%s)", record.dedup_key, outcome, record.reason)


def _handle_noise(record: InboundEmail, mail: ParsedMail, noise: mail_noise.Noise) -> None:
    actor = Actor.system("email")
    if noise.kind == "bounce":
        for address in noise.failed_recipients:
            bounces.flag_bouncing(provider_id=record.provider_id, email=address, reason=noise.reason)
        ticket = _ticket_of_our_mail(noise.original_message_ids, record.provider_id)
        if ticket is not None:
            tickets.record_system_event(
                actor=actor,
                ticket=ticket,
                event="email_bounced",
                data={"recipients": noise.failed_recipients, "reason": noise.reason[:500]},
            )
        _set(record, Outcome.IGNORED, f"bounce: {noise.reason}", ticket)
        return
    if noise.kind == "auto_reply":
        ticket, _ = _thread(mail, record.provider_id)
        if ticket is not None and ticket.status not in workflow.TERMINAL:
            # Kept for the agents (a vendor's "we received your case 12345"), never answered.
            sender = _sender_actor(mail)
            tickets.add_note(
                actor=sender,
                ticket=ticket,
                body=f"Automatic reply from {mail.from_address}:\n\n{mail.reply_text() or mail.subject}",
                data=_entry_data(record, mail, auto_reply=True),
            )
            _set(record, Outcome.APPENDED, f"auto-reply ({noise.reason}) kept as an internal note", ticket)
            return
    _set(record, Outcome.IGNORED, f"{noise.kind.replace('_', ' ')}: {noise.reason}")


def _thread(mail: ParsedMail, provider_id: int) -> tuple[Ticket | None, str]:
    """The ticket this message answers: by our Message-IDs it quotes, then by the number in the subject."""
    ids = mail.thread_ids
    if ids:
        ticket = _ticket_of_our_mail(ids, provider_id)
        if ticket is not None:
            return ticket, "its In-Reply-To/References name our mail"
        earlier = (
            InboundEmail.objects.filter(provider_id=provider_id, message_id__in=ids, ticket__isnull=False)
            .select_related("ticket")
            .order_by("-received_at")
            .first()
        )
        if earlier is not None and earlier.ticket is not None:
            return earlier.ticket, "its In-Reply-To/References name a message on the ticket"
    for number in TICKET_TAG.findall(mail.subject):
        ticket = _tickets_of(provider_id).filter(number=number).first()
        if ticket is not None:
            return ticket, f"its subject names [{number}]"
    return None, ""


def _ticket_of_our_mail(message_ids: list[str], provider_id: int) -> Ticket | None:
    if not message_ids:
        return None
    ours = (
        OutboxMessage.objects.filter(message_id__in=message_ids, ticket__isnull=False)
        .order_by("-created_at")
        .values_list("ticket_id", flat=True)
    )
    return _tickets_of(provider_id).filter(pk__in=list(ours[:20])).order_by("-created_at").first()


def _tickets_of(provider_id: int):  # type: ignore[no-untyped-def]
    return Ticket.objects.select_related("requester", "organisation").filter(
        Q(organisation_id=provider_id) | Q(organisation__provider_id=provider_id)
    )


def _append(record: InboundEmail, mail: ParsedMail, ticket: Ticket, how: str, mailbox: Mailbox) -> None:
    who, actor = _role_on(ticket, mail, record.provider_id)
    if who == "stranger":
        _append_foreign(record, mail, ticket, how, mailbox)
        return
    if ticket.status in workflow.TERMINAL:
        if who in ("requester", "participant"):
            _open(record, mail, mailbox, follows=ticket)
            return
        raise _Quarantine(f"a reply to {ticket.number}, which is {ticket.get_status_display().lower()}")
    data = _entry_data(record, mail)
    body = mail.reply_text() or "(no text)"
    if who == "vendor":
        tickets.add_note(
            actor=actor, ticket=ticket, body=f"Reply from the vendor ({mail.from_address}):\n\n{body}", data=data
        )
    else:
        tickets.reply(actor=actor, ticket=ticket, body=body, data=data)
    is_public = who != "vendor"
    skipped = _attach(actor, ticket, mail, is_public=is_public)
    if who in ("requester", "participant"):
        tickets.add_participants(actor=actor, ticket=ticket, people=_copied(mail, record.provider_id))
        if ticket.status == TicketStatus.RESOLVED:
            _reopen(actor, ticket)
    reason = f"added to {ticket.number} as a {'vendor note' if who == 'vendor' else 'reply'} from the {who}: {how}"
    if skipped:
        reason += f"; attachments not kept on the ticket (too large): {', '.join(skipped)}"
    _set(record, Outcome.APPENDED, reason, ticket)


def _append_foreign(record: InboundEmail, mail: ParsedMail, ticket: Ticket, how: str, mailbox: Mailbox) -> None:
    """A reply from an address that takes no part in the ticket: possibly spoofed, so never appended blindly."""
    policy = mailbox.foreign_reply_policy
    stranger = f"{mail.from_address} takes no part in {ticket.number} ({how})"
    if policy == Mailbox.ForeignReplyPolicy.NEW_TICKET:
        _open(record, mail, mailbox, note=f"Opened as a new ticket: {stranger}.")
        return
    if policy == Mailbox.ForeignReplyPolicy.INTERNAL_NOTE and ticket.status not in workflow.TERMINAL:
        actor = _sender_actor(mail)
        tickets.add_note(
            actor=actor,
            ticket=ticket,
            body=f"E-mail from {mail.from_address}, who takes no part in this ticket:\n\n{mail.reply_text()}",
            data=_entry_data(record, mail),
        )
        _attach(actor, ticket, mail, is_public=False)
        _set(record, Outcome.APPENDED, f"internal note: {stranger}", ticket)
        return
    raise _Quarantine(stranger)


def _open(
    record: InboundEmail, mail: ParsedMail, mailbox: Mailbox, *, follows: Ticket | None = None, note: str = ""
) -> None:
    requester = _requester_for(mail, mailbox, record.provider_id)
    actor = _sender_actor(mail)
    description = mail.text or "(the message has no text)"
    data = _entry_data(record, mail)
    if follows is not None:
        description = (
            f"Follow-up to {follows.number}, which is {follows.get_status_display().lower()}.\n\n{description}"
        )
        data["follows"] = follows.number
    ticket = tickets.open_ticket(
        actor=actor,
        requester=requester,
        title=(mail.subject or "(no subject)")[:250],
        description=description,
        channel=Channel.EMAIL,
        data=data,
    )
    skipped = _attach(actor, ticket, mail, is_public=True)
    tickets.add_participants(actor=actor, ticket=ticket, people=_copied(mail, record.provider_id))
    reason = f"opened {ticket.number} for {requester.email} ({ticket.organisation.name})"
    if follows is not None:
        reason += f", a follow-up to {follows.number}"
    if note:
        reason += f". {note}"
    if skipped:
        reason += f"; attachments not kept on the ticket (too large): {', '.join(skipped)}"
    _set(record, Outcome.TICKET_OPENED, reason, ticket)


# --- who is writing ----------------------------------------------------------------------------


def _sender_actor(mail: ParsedMail) -> Actor:
    name = f"{mail.from_name} <{mail.from_address}>" if mail.from_name else mail.from_address
    return Actor(user=None, via="email", name=name[:200])


def _role_on(ticket: Ticket, mail: ParsedMail, provider_id: int) -> tuple[str, Actor]:
    sender = mail.from_address
    if sender and sender == (ticket.requester.email or "").lower():
        return "requester", _sender_actor(mail)
    if TicketParticipant.objects.filter(ticket=ticket, email=sender).exists():
        return "participant", _sender_actor(mail)
    agent = User.objects.agents_of(provider_id).filter(email__iexact=sender).first()
    if agent is not None:
        return "agent", Actor(user=agent, via="email")
    if VendorEscalation.objects.filter(ticket=ticket, contact__email__iexact=sender).exists():
        return "vendor", _sender_actor(mail)
    return "stranger", _sender_actor(mail)


def _requester_for(mail: ParsedMail, mailbox: Mailbox, provider_id: int) -> Requester:
    """The requester the sender is: known by address, else a new one in the client their domain
    or the mailbox names. A sender nobody can place is quarantined, not guessed."""
    organisations = Organisation.objects.filter(Q(pk=provider_id) | Q(provider_id=provider_id), is_active=True)
    known = list(
        Requester.objects.filter(organisation__in=organisations, email__iexact=mail.from_address).order_by("pk")
    )
    if known:
        mine = [person for person in known if person.organisation_id == mailbox.organisation_id]
        return (mine or known)[0]
    domain = mail.from_address.rpartition("@")[2]
    organisation = organisations.filter(email_domain__iexact=domain).exclude(email_domain="").first()
    if organisation is None and not mailbox.organisation.is_provider:
        organisation = mailbox.organisation
    if organisation is None and mailbox.default_organisation_id:
        organisation = organisations.filter(pk=mailbox.default_organisation_id).first()
    if organisation is None:
        raise _Quarantine(
            f"unknown sender {mail.from_address}: no requester, no client with the domain {domain}, "
            f"and the mailbox {mailbox.address} has no default client"
        )
    try:
        with transaction.atomic():
            return create_requester(
                actor=Actor.system("email"),
                organisation=organisation,
                name=mail.from_name or mail.from_address.partition("@")[0],
                email=mail.from_address,
            )
    except DomainError:  # created meanwhile by a message from the same sender
        found = Requester.objects.filter(organisation=organisation, email__iexact=mail.from_address).first()
        if found is None:
            raise
        return found


def _copied(mail: ParsedMail, provider_id: int) -> list[tuple[str, str]]:
    """The people a message was also addressed to, less the desk's own mailboxes and agents."""
    people = [*mail.to, *mail.cc]
    addresses = {address for _, address in people}
    desk = set(Mailbox.objects.filter(address__in=addresses).values_list("address", flat=True))
    desk |= {
        a.lower()
        for a in User.objects.agents_of(provider_id).filter(email__in=addresses).values_list("email", flat=True)
    }
    desk |= {
        a.lower()
        for a in Organisation.objects.filter(support_email__in=addresses).values_list("support_email", flat=True)
    }
    return [
        (name, address)
        for name, address in people
        if address not in desk and address != mail.from_address and not bounces.is_daemon(address)
    ][:50]


# --- helpers -----------------------------------------------------------------------------------


def _attach(actor: Actor, ticket: Ticket, mail: ParsedMail, *, is_public: bool) -> list[str]:
    """Store the message's attachments and inline images on the ticket; return the names too large to keep."""
    skipped: list[str] = []
    for attachment in mail.attachments:
        try:
            tickets.add_attachment(
                actor=actor,
                ticket=ticket,
                stream=io.BytesIO(attachment.data),
                filename=attachment.filename,
                is_public=is_public,
            )
        except DomainError:
            skipped.append(attachment.filename)
    return skipped


def _reopen(actor: Actor, ticket: Ticket) -> None:
    try:
        tickets.transition(
            actor=actor, ticket=ticket, to_status=TicketStatus.IN_PROGRESS, reason="the requester replied by e-mail"
        )
    except DomainError as exc:  # past the reopen window: the reply stays on the resolved ticket for the agent
        logger.info("reply to resolved %s not reopening it: %s", ticket.number, exc)


def _entry_data(record: InboundEmail, mail: ParsedMail, *, auto_reply: bool = False) -> dict[str, object]:
    data: dict[str, object] = {"inbound_email_id": record.pk, "from": mail.from_address}
    if mail.message_id:
        data["message_id"] = mail.message_id
    if auto_reply:
        data["auto_reply"] = True
    return data


def _quarantine_new(record: InboundEmail, reason: str) -> InboundEmail:
    record.pk = None
    record.outcome = Outcome.QUARANTINED
    record.reason = reason[:4000]
    record.ticket = None
    try:
        with transaction.atomic():
            record.save(force_insert=True)
    except IntegrityError:
        return InboundEmail.objects.get(provider_id=record.provider_id, dedup_key=record.dedup_key)
    return record


def _provider_id(mailbox: Mailbox) -> int:
    return mailbox.organisation.root_provider_id


def _header_message_id(raw: bytes) -> str:
    try:
        headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:262_144])
        return first_message_id(clean_text(str(headers.get("Message-ID", "") or "")))
    except Exception:
        return ""


def _dedup_key(message_id: str, digest: str) -> str:
    if message_id and len(message_id) <= 290:
        return f"mid:{message_id}"
    return f"sha256:{digest}"


def _require_admin(actor: Actor, provider_id: int) -> None:
    user = actor.user
    if user is None:
        return  # an operator's command
    if not user.is_agent_side or user.organisation_id != provider_id or not (user.is_staff or user.role == "admin"):
        raise PermissionDenied("Only the provider's admins may replay quarantined mail.")


def _audit_replay(actor: Actor, record: InboundEmail) -> None:
    record_event(
        actor=actor,
        action="email.replayed",
        obj=record,
        organisation_id=record.organisation_id,
        after={"outcome": record.outcome, "reason": record.reason[:500], "ticket_id": record.ticket_id},
    )


# --- configuration -----------------------------------------------------------------------------


@transaction.atomic
def create_mailbox(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str,
    address: str,
    kind: str = Mailbox.Kind.DIRECT,
    default_organisation: Organisation | None = None,
    foreign_reply_policy: str = Mailbox.ForeignReplyPolicy.QUARANTINE,
    imap_host: str = "",
    imap_port: int = 993,
    imap_security: str = Mailbox.Security.SSL,
    imap_username: str = "",
    imap_password: str = "",
    imap_folder: str = "INBOX",
    after_processing: str = Mailbox.AfterProcessing.FLAG,
    processed_folder: str = "Tierdesk/Processed",
) -> Mailbox:
    _require_admin(actor, organisation.root_provider_id)
    address = address.strip().lower()
    if "@" not in address:
        raise DomainError(f"{address!r} is not an e-mail address.")
    if Mailbox.objects.filter(address=address).exists():
        raise DomainError(f"The address {address} already belongs to a mailbox.")
    if default_organisation is not None and default_organisation.root_provider_id != organisation.root_provider_id:
        raise DomainError("The default client must be one of this provider's clients.")
    if kind == Mailbox.Kind.IMAP and not (imap_host and imap_username):
        raise DomainError("An IMAP mailbox needs a host and a user name.")
    mailbox = Mailbox(
        organisation=organisation,
        name=name.strip() or address,
        address=address,
        kind=kind,
        default_organisation=default_organisation,
        foreign_reply_policy=foreign_reply_policy,
        imap_host=imap_host,
        imap_port=imap_port,
        imap_security=imap_security,
        imap_username=imap_username,
        imap_password_encrypted=secrets.encrypt(imap_password),
        imap_folder=imap_folder,
        after_processing=after_processing,
        processed_folder=processed_folder,
    )
    check_lengths(mailbox)
    mailbox.full_clean(exclude=["organisation", "default_organisation"])
    mailbox.save(force_insert=True)
    record_event(
        actor=actor,
        action="mailbox.created",
        obj=mailbox,
        organisation_id=organisation.pk,
        after={"address": address, "kind": kind, "imap_host": imap_host, "imap_username": imap_username},
    )
    return mailbox


@transaction.atomic
def set_imap_password(*, actor: Actor, mailbox: Mailbox, password: str) -> Mailbox:
    """Store a new IMAP password, encrypted; the audit trail records that it changed, never the value."""
    _require_admin(actor, _provider_id(mailbox))
    Mailbox.objects.filter(pk=mailbox.pk).update(imap_password_encrypted=secrets.encrypt(password), last_error="")
    mailbox.imap_password_encrypted = secrets.encrypt(password)
    record_event(
        actor=actor, action="mailbox.password_changed", obj=mailbox, organisation_id=mailbox.organisation_id, after={}
    )
    return mailbox
