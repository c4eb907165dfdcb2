"""E-mail intake through its service: every message ends as exactly one outcome, and nothing loops."""

from __future__ import annotations

import base64

import pytest

from tierdesk.core.actor import Actor
from tierdesk.intake.mail.services import receive_email, replay_quarantined
from tierdesk.intake.models import InboundEmail, Mailbox
from tierdesk.notifications.models import BouncingAddress, OutboxMessage
from tierdesk.notifications.services import thread_message_id
from tierdesk.testing.fixtures import World
from tierdesk.testing.mail import desk_mailbox, raw_email
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, TicketStatus, TimelineKind
from tierdesk.tickets.models import Attachment, Ticket, TicketParticipant

pytestmark = pytest.mark.django_db
Outcome = InboundEmail.Outcome


@pytest.fixture
def mailbox(world: World) -> Mailbox:
    world.client.email_domain = "hospital.test"
    world.client.save()
    return desk_mailbox(world.provider)


def receive(mailbox: Mailbox, raw: bytes) -> InboundEmail:
    return receive_email(raw=raw, mailbox=mailbox, source="pipe").record


def test_a_new_message_opens_a_ticket_for_the_known_requester(world: World, mailbox: Mailbox) -> None:
    record = receive(mailbox, raw_email(cc="Colin Colleague <colin@hospital.test>, support@northwind.test"))
    assert record.outcome == Outcome.TICKET_OPENED
    ticket = Ticket.objects.get(pk=record.ticket_id)
    assert (ticket.requester_id, ticket.channel, ticket.title) == (
        world.requester.pk,
        Channel.EMAIL,
        "Printer on floor 3 is jammed",
    )
    assert "paper jam" in ticket.description
    opened = ticket.timeline.get(event="opened")
    assert opened.data["message_id"].startswith("<test-") and opened.author_label.startswith("Rita Requester")
    # The colleague in Cc takes part; the desk's own address does not.
    assert list(TicketParticipant.objects.filter(ticket=ticket).values_list("email", flat=True)) == [
        "colin@hospital.test"
    ]


def test_the_same_message_twice_changes_nothing(world: World, mailbox: Mailbox) -> None:
    raw = raw_email(message_id="<once@mail.hospital.test>")
    first = receive_email(raw=raw, mailbox=mailbox, source="imap")
    second = receive_email(raw=raw, mailbox=mailbox, source="imap")
    assert (first.duplicate, second.duplicate) == (False, True)
    assert second.record.pk == first.record.pk
    assert Ticket.objects.count() == 1 and InboundEmail.objects.count() == 1


def test_a_message_without_a_message_id_is_deduplicated_by_its_bytes(world: World, mailbox: Mailbox) -> None:
    raw = raw_email().replace(b"Message-ID:", b"X-Old-Id:")
    first = receive(mailbox, raw)
    assert first.dedup_key.startswith("sha256:")
    assert receive_email(raw=raw, mailbox=mailbox, source="imap").duplicate
    assert Ticket.objects.count() == 1


def test_an_unknown_sender_from_a_clients_domain_becomes_its_requester(world: World, mailbox: Mailbox) -> None:
    record = receive(mailbox, raw_email(sender="Nina Nurse <nina@hospital.test>"))
    ticket = Ticket.objects.get(pk=record.ticket_id)
    assert (ticket.organisation_id, ticket.requester.email, ticket.requester.name) == (
        world.client.pk,
        "nina@hospital.test",
        "Nina Nurse",
    )


def test_an_unplaceable_sender_is_quarantined_and_replays_after_a_fix(world: World, mailbox: Mailbox) -> None:
    record = receive(mailbox, raw_email(sender="stranger@elsewhere.test"))
    assert record.outcome == Outcome.QUARANTINED and "unknown sender" in record.reason
    assert bytes(record.raw).startswith(b"From: stranger@elsewhere.test")
    mailbox.default_organisation = world.other_client
    mailbox.save()
    replayed = replay_quarantined(actor=Actor(user=world.admin), record_id=record.pk)
    assert replayed.pk == record.pk and replayed.outcome == Outcome.TICKET_OPENED and replayed.replays == 1
    assert Ticket.objects.get(pk=replayed.ticket_id).organisation_id == world.other_client.pk


def test_a_reply_threads_by_our_message_id_and_is_trimmed(world: World, mailbox: Mailbox) -> None:
    ticket = Ticket.objects.get(pk=receive(mailbox, raw_email()).ticket_id)
    tickets.reply(actor=Actor(user=world.agent), ticket=ticket, body="Did you open tray 2?")
    ours = thread_message_id(ticket.number, "agent-reply-1")
    OutboxMessage.objects.create(
        organisation_id=ticket.organisation_id,
        kind="email",
        key="t:ours",
        purpose="agent_reply",
        ticket=ticket,
        next_attempt_at=ticket.created_at,
        message_id=ours,
        state="sent",
    )
    body = "Yes, and it is empty.\n\nOn Thu, 3 Dec 2026 at 10:00, Service Desk wrote:\n> Did you open tray 2?\n"
    record = receive(mailbox, raw_email(subject="Re: something else", body=body, in_reply_to=ours))
    assert record.outcome == Outcome.APPENDED and record.ticket_id == ticket.pk
    entry = ticket.timeline.filter(kind=TimelineKind.REPLY).last()
    assert entry is not None and entry.body == "Yes, and it is empty." and entry.channel == Channel.EMAIL
    assert entry.data["inbound_email_id"] == record.pk


def test_a_reply_threads_by_the_number_in_the_subject(world: World, mailbox: Mailbox) -> None:
    ticket = Ticket.objects.get(pk=receive(mailbox, raw_email()).ticket_id)
    tickets.transition(actor=Actor(user=world.agent), ticket=ticket, to_status=TicketStatus.PENDING_CUSTOMER)
    record = receive(mailbox, raw_email(subject=f"RE: [{ticket.number}] Printer", body="Still jammed."))
    assert record.outcome == Outcome.APPENDED
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS  # the customer answered: the ball is back with the desk


def test_a_reply_to_a_resolved_ticket_reopens_it_and_to_a_closed_one_opens_a_follow_up(
    world: World, mailbox: Mailbox
) -> None:
    ticket = Ticket.objects.get(pk=receive(mailbox, raw_email()).ticket_id)
    agent = Actor(user=world.agent)
    tickets.transition(
        actor=agent, ticket=ticket, to_status=TicketStatus.RESOLVED, resolution_code="fixed", resolution_notes="Done"
    )
    receive(mailbox, raw_email(subject=f"Re: [{ticket.number}]", body="It jammed again."))
    ticket.refresh_from_db()
    assert ticket.status == TicketStatus.IN_PROGRESS and ticket.reopen_count == 1
    tickets.transition(
        actor=agent, ticket=ticket, to_status=TicketStatus.RESOLVED, resolution_code="fixed", resolution_notes="Done"
    )
    tickets.transition(actor=agent, ticket=ticket, to_status=TicketStatus.CLOSED)
    record = receive(mailbox, raw_email(subject=f"Re: [{ticket.number}]", body="And again."))
    assert record.outcome == Outcome.TICKET_OPENED and record.ticket_id != ticket.pk
    assert f"Follow-up to {ticket.number}" in Ticket.objects.get(pk=record.ticket_id).description


@pytest.mark.parametrize(
    ("policy", "outcome"),
    [("quarantine", Outcome.QUARANTINED), ("new_ticket", Outcome.TICKET_OPENED), ("internal_note", Outcome.APPENDED)],
)
def test_a_reply_from_a_stranger_follows_the_mailbox_policy(
    world: World, mailbox: Mailbox, policy: str, outcome: str
) -> None:
    ticket = Ticket.objects.get(pk=receive(mailbox, raw_email()).ticket_id)
    mailbox.foreign_reply_policy = policy
    mailbox.save()
    record = receive(mailbox, raw_email(sender="mallory@hospital.test", subject=f"Re: [{ticket.number}] close it"))
    assert record.outcome == outcome
    assert not ticket.timeline.filter(kind=TimelineKind.REPLY).exists()  # never appended as the requester's word
    if outcome == Outcome.APPENDED:
        note = ticket.timeline.get(kind=TimelineKind.NOTE)
        assert not note.is_public and "takes no part" in note.body
    if outcome == Outcome.QUARANTINED:
        assert "mallory@hospital.test takes no part" in record.reason


def test_a_participant_and_an_agent_may_reply_by_mail(world: World, mailbox: Mailbox) -> None:
    ticket = Ticket.objects.get(pk=receive(mailbox, raw_email(cc="colin@hospital.test")).ticket_id)
    receive(mailbox, raw_email(sender="colin@hospital.test", subject=f"Re: [{ticket.number}]", body="Same here."))
    receive(mailbox, raw_email(sender="agent@northwind.test", subject=f"Re: [{ticket.number}]", body="On my way."))
    replies = list(ticket.timeline.filter(kind=TimelineKind.REPLY).values_list("author_label", "author_id"))
    assert replies == [("colin@hospital.test", None), (str(world.agent), world.agent.pk)]
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None  # the agent's reply by mail is the first response


def test_attachments_and_inline_images_are_stored(world: World, mailbox: Mailbox) -> None:
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
    )
    raw = raw_email(
        html="<p>See <b>screenshot</b><script>alert(1)</script></p>",
        attachments=[("error.png", "image/png", png), ("log.txt", "text/plain", b"E: tray 2\n")],
    )
    record = receive(mailbox, raw)
    stored = {a.filename: a for a in Attachment.objects.filter(ticket_id=record.ticket_id)}
    assert set(stored) == {"error.png", "log.txt"}
    assert stored["error.png"].content_type == "image/png" and stored["error.png"].size == len(png)


def test_html_only_mail_becomes_text(world: World, mailbox: Mailbox) -> None:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "rita@hospital.test", "support@northwind.test", "VPN"
    message.set_content("<html><body><p>The <b>VPN</b> drops</p><script>x()</script></body></html>", subtype="html")
    record = receive(mailbox, message.as_bytes())
    description = Ticket.objects.get(pk=record.ticket_id).description
    assert "VPN" in description and "drops" in description and "<" not in description


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto-Submitted": "auto-replied"},
        {"X-Autoreply": "yes"},
        {"Precedence": "bulk"},
        {"List-Id": "<it-news.hospital.test>"},
    ],
)
def test_auto_replies_open_nothing(world: World, mailbox: Mailbox, headers: dict[str, str]) -> None:
    record = receive(mailbox, raw_email(subject="Out of office", headers=headers))
    assert record.outcome == Outcome.IGNORED and record.reason
    assert not Ticket.objects.exists() and not OutboxMessage.objects.exists()


def test_an_auto_reply_to_a_ticket_is_kept_as_a_note_and_not_answered(world: World, mailbox: Mailbox) -> None:
    ticket = Ticket.objects.get(pk=receive(mailbox, raw_email()).ticket_id)
    mails_before = OutboxMessage.objects.count()
    raw = raw_email(subject=f"Automatic reply: [{ticket.number}] Printer", body="I am away until Monday.")
    record = receive(mailbox, raw)
    assert record.outcome == Outcome.APPENDED
    assert ticket.timeline.filter(kind=TimelineKind.NOTE, data__auto_reply=True).exists()
    assert OutboxMessage.objects.count() == mails_before


def test_our_own_mail_coming_back_is_ignored(world: World, mailbox: Mailbox, settings: object) -> None:
    raw = raw_email(headers={"X-Tierdesk-Loop": settings.MESSAGE_ID_DOMAIN})  # type: ignore[attr-defined]
    record = receive(mailbox, raw)
    assert record.outcome == Outcome.IGNORED and "came back" in record.reason


def _bounce(failed: str, original_id: str) -> bytes:
    return (
        "From: MAILER-DAEMON@mx.hospital.test\r\nTo: support@northwind.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <bounce-1@mx.hospital.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n\r\n'
        "--B\r\nContent-Type: text/plain\r\n\r\nI could not deliver your message.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.hospital.test\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: desk@northwind.test\r\nTo: {failed}\r\nMessage-ID: {original_id}\r\nSubject: [INC] x\r\n"
        "--B--\r\n"
    ).encode()


def test_a_bounce_flags_the_recipient_and_tells_the_ticket_and_sends_nothing(world: World, mailbox: Mailbox) -> None:
    ticket = Ticket.objects.get(pk=receive(mailbox, raw_email()).ticket_id)
    ours = thread_message_id(ticket.number, "acknowledgement-1")
    OutboxMessage.objects.create(
        organisation_id=ticket.organisation_id,
        kind="email",
        key="t:ack",
        purpose="acknowledgement",
        ticket=ticket,
        next_attempt_at=ticket.created_at,
        message_id=ours,
        state="sent",
    )
    mails_before = OutboxMessage.objects.count()
    record = receive(mailbox, _bounce("rita@hospital.test", ours))
    assert record.outcome == Outcome.IGNORED and record.reason.startswith("bounce: delivery to rita@hospital.test")
    assert record.ticket_id == ticket.pk
    flagged = BouncingAddress.objects.get(email="rita@hospital.test")
    assert flagged.organisation_id == world.provider.pk and "5.1.1" in flagged.reason
    event = ticket.timeline.get(event="email_bounced")
    assert event.data["recipients"] == ["rita@hospital.test"]
    assert OutboxMessage.objects.count() == mails_before


def test_a_broken_message_is_quarantined_and_the_next_one_still_goes_through(world: World, mailbox: Mailbox) -> None:
    mailbox.default_organisation = world.client
    mailbox.save()
    broken = b"\xff\xfe\x00garbage without headers \x00\x01\x02"
    first = receive(mailbox, broken)
    assert first.outcome in (Outcome.QUARANTINED, Outcome.IGNORED) and first.reason
    second = receive(mailbox, raw_email())
    assert second.outcome == Outcome.TICKET_OPENED


def test_a_deactivated_requester_is_quarantined_with_the_reason(world: World, mailbox: Mailbox) -> None:
    world.colleague.is_active = False
    world.colleague.save()
    record = receive(mailbox, raw_email(sender="colin@hospital.test"))
    assert record.outcome == Outcome.QUARANTINED and "deactivated" in record.reason
    assert bytes(record.raw)


def test_mail_from_another_providers_number_does_not_cross_tenants(world: World, mailbox: Mailbox) -> None:
    from tierdesk.testing.factories import RequesterFactory, open_ticket

    stranger = RequesterFactory.create(organisation=world.other_provider_client, email="x@rival-client.test")
    theirs = open_ticket(stranger)
    record = receive(mailbox, raw_email(subject=f"Re: [{theirs.number}] hello"))
    assert record.outcome == Outcome.TICKET_OPENED and record.ticket_id != theirs.pk
    assert not theirs.timeline.filter(kind=TimelineKind.REPLY).exists()


def test_a_message_over_the_size_limit_is_quarantined_unread(world: World, mailbox: Mailbox, settings: object) -> None:
    settings.TIERDESK_EMAIL_MAX_BYTES = 1000  # type: ignore[attr-defined]
    record = receive(mailbox, raw_email(body="x" * 5000))
    assert record.outcome == Outcome.QUARANTINED and "too large" in record.reason and record.size > 1000
