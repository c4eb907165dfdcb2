"""Mail to requesters over real SMTP: acknowledgement, agent reply, status changes, the resolution's
satisfaction link, loops and bounces, and the admins' wording."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from django.core import signing
from django.test import Client, override_settings
from django.urls import reverse

from tierdesk.audit.models import AuditEvent
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.notifications import bounces, outbox, requester_mail
from tierdesk.notifications.models import BouncingAddress, EmailTemplate, OutboxMessage
from tierdesk.tenancy.models import Organisation
from tierdesk.testing import factories as f
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services as tickets
from tierdesk.tickets.models import SatisfactionRating, Ticket, TicketParticipant, TimelineEntry

pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db(transaction=True)]

DOMAIN = "desk.northwind.test"


class Mailbox:
    """An SMTP server on loopback (aiosmtpd) keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for (_, rcpt), m in zip(self.envelopes, self.messages, strict=True) if address in rcpt]


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=box.port,
        EMAIL_USE_TLS=False,
        EMAIL_HOST_USER="",
        EMAIL_HOST_PASSWORD="",
        EMAIL_TIMEOUT=5,
        MESSAGE_ID_DOMAIN=DOMAIN,
        DEFAULT_FROM_EMAIL="Tierdesk <desk@tierdesk.test>",
        TIERDESK_BASE_URL="https://desk.northwind.test",
        TIERDESK_ACK_LIMIT_PER_HOUR=5,
    ):
        yield box
    box.stop()


@pytest.fixture
def desk(world: World) -> World:
    """The hospital has its own support address; the bank uses the provider's."""
    Organisation.objects.filter(pk=world.client.pk).update(support_email="support@hospital.test")
    Organisation.objects.filter(pk=world.provider.pk).update(support_email="servicedesk@northwind.test")
    return world


def parts(mail: EmailMessage) -> dict[str, str]:
    return {part.get_content_type(): str(part.get_content()) for part in mail.walk() if not part.is_multipart()}


def agent(world: World) -> Actor:
    return Actor(user=world.agent)


def resolve(world: World, ticket: Ticket) -> Ticket:
    return tickets.transition(
        actor=agent(world),
        ticket=ticket,
        to_status="resolved",
        resolution_code="fixed",
        resolution_notes="Replaced the *pickup roller*.",
    )


def satisfaction_path(mail: EmailMessage) -> str:
    found = re.search(r"https://desk\.northwind\.test(/portal/satisfaction/[^/\s]+/)", parts(mail)["text/plain"])
    assert found is not None
    return found.group(1)


# --- what the requester receives -------------------------------------------------------------------


def test_the_acknowledgement_is_text_and_html_from_the_organisations_address(desk: World, mailbox: Mailbox) -> None:
    ticket = open_ticket(desk.requester, title="Printer on floor 3 is jammed")

    [mail] = mailbox.messages
    assert mailbox.envelopes == [("support@hospital.test", ["rita@hospital.test"])]
    assert mail["From"] == "Hospital <support@hospital.test>" and mail["To"] == "rita@hospital.test"
    assert mail.get_content_type() == "multipart/alternative"
    body = parts(mail)
    assert set(body) == {"text/plain", "text/html"}
    assert ticket.number in body["text/plain"] and "Printer on floor 3 is jammed" in body["text/html"]
    assert f"https://desk.northwind.test/portal/tickets/{ticket.number}/" in body["text/plain"]
    assert mail["Subject"] == f"[{ticket.number}] We have received your request: Printer on floor 3 is jammed"
    assert mail["Auto-Submitted"] == "auto-replied" and mail["X-Tierdesk-Loop"] == DOMAIN
    sent = OutboxMessage.objects.get(purpose="acknowledgement", ticket=ticket)
    assert sent.state == "sent" and sent.message_id == mail["Message-ID"]
    assert sent.message_id == f"<{ticket.number}.acknowledgement-{ticket.pk}@{DOMAIN}>"

    # Asked again (a retried task): the same message, not a second mail.
    assert requester_mail.acknowledge(ticket_id=ticket.pk) == sent
    assert len(mailbox.messages) == 1


def test_a_client_without_an_address_writes_from_its_providers(desk: World, mailbox: Mailbox) -> None:
    banker = f.RequesterFactory.create(organisation=desk.other_client, name="Bo Banker", email="bo@bank.test")
    open_ticket(banker, title="Card reader")
    [mail] = mailbox.messages
    assert mail["From"] == "Northwind <servicedesk@northwind.test>"


def test_monitoring_alerts_are_not_acknowledged(desk: World, mailbox: Mailbox) -> None:
    open_ticket(desk.requester, title="Disk full on srv-12", channel="monitoring")
    assert mailbox.messages == [] and not OutboxMessage.objects.exists()


def test_history_built_while_mail_is_silenced_mails_nobody(desk: World, mailbox: Mailbox) -> None:
    with requester_mail.silenced():  # as the demo builds its 90 days
        ticket = open_ticket(desk.requester, title="From the past")
        resolve(desk, ticket)
    assert mailbox.messages == [] and not OutboxMessage.objects.exists()
    tickets.transition(actor=agent(desk), ticket=ticket, to_status="in_progress")
    assert [m["Subject"] for m in mailbox.messages] == [f"[{ticket.number}] Reopened: From the past"]


def test_an_agents_reply_threads_onto_the_requesters_mail(desk: World, mailbox: Mailbox) -> None:
    ticket = open_ticket(desk.requester, title="VPN drops")
    TicketParticipant.objects.create(organisation=ticket.organisation, ticket=ticket, email="colin@hospital.test")
    # What intake records of the requester's mail: a public reply keeping the mail's Message-ID.
    TimelineEntry.objects.create(
        organisation=ticket.organisation,
        ticket=ticket,
        kind="reply",
        is_public=True,
        author_label="Rita Requester <rita@hospital.test>",
        channel="email",
        body="It drops again every ten minutes.",
        data={"message_id": "<rita-2@mail.hospital.test>"},
    )
    # An agent's earlier answer by mail: the requester got our copy of it, never the agent's own mail.
    TimelineEntry.objects.create(
        organisation=ticket.organisation,
        ticket=ticket,
        kind="reply",
        is_public=True,
        author=desk.agent,
        author_label="Alex Agent",
        channel="email",
        body="Looking into it.",
        data={"message_id": "<alex-1@mail.northwind.test>"},
    )
    tickets.reply(actor=agent(desk), ticket=ticket, body="Please try the **new profile**.\n\n<script>x()</script>")

    ack, reply = mailbox.messages
    assert reply["In-Reply-To"] == "<rita-2@mail.hospital.test>"
    assert reply["References"].split() == [ack["Message-ID"], "<rita-2@mail.hospital.test>"]
    assert reply["Subject"] == f"[{ticket.number}] Re: VPN drops"
    assert reply["To"] == "rita@hospital.test" and reply["Cc"] == "colin@hospital.test"
    assert mailbox.envelopes[1][1] == ["rita@hospital.test", "colin@hospital.test"]
    body = parts(reply)
    assert "Please try the **new profile**." in body["text/plain"] and "Alex Agent" in body["text/plain"]
    assert "<strong>new profile</strong>" in body["text/html"] and "<script>" not in body["text/html"]
    sent = OutboxMessage.objects.get(purpose="agent_reply")
    assert sent.in_reply_to == "<rita-2@mail.hospital.test>" and sent.cc_addresses == "colin@hospital.test"


def test_the_requesters_own_reply_is_not_mailed_back(desk: World, mailbox: Mailbox) -> None:
    ticket = open_ticket(desk.requester, title="VPN drops")
    tickets.reply(actor=Actor(user=desk.requester_user), ticket=ticket, body="Still broken.")
    tickets.reply(actor=Actor(user=None, via="email", name="Rita"), ticket=ticket, body="By mail: still broken.")
    assert [m["Subject"] for m in mailbox.messages] == [f"[{ticket.number}] We have received your request: VPN drops"]
    assert not OutboxMessage.objects.filter(purpose="agent_reply").exists()


def test_status_changes_the_requester_should_hear_of(desk: World, mailbox: Mailbox) -> None:
    ticket = open_ticket(desk.requester, title="Laptop slow")
    ticket = tickets.transition(actor=agent(desk), ticket=ticket, to_status="in_progress")  # not their news
    ticket = tickets.transition(
        actor=agent(desk), ticket=ticket, to_status="pending_customer", reason="Which model is it?"
    )
    ticket = tickets.transition(actor=agent(desk), ticket=ticket, to_status="in_progress")
    ticket = resolve(desk, ticket)
    ticket = tickets.transition(actor=Actor(user=desk.requester_user), ticket=ticket, to_status="in_progress")
    subjects = [m["Subject"] for m in mailbox.messages]
    assert subjects == [
        f"[{ticket.number}] We have received your request: Laptop slow",
        f"[{ticket.number}] We need your answer: Laptop slow",
        f"[{ticket.number}] Resolved: Laptop slow",
        f"[{ticket.number}] Reopened: Laptop slow",
    ]
    assert "Which model is it?" in parts(mailbox.messages[1])["text/plain"]
    assert "<em>pickup roller</em>" in parts(mailbox.messages[2])["text/html"]
    tickets.transition(actor=agent(desk), ticket=ticket, to_status="cancelled", reason="Duplicate of INC0000001")
    assert mailbox.messages[-1]["Subject"] == f"[{ticket.number}] Cancelled: Laptop slow"


def test_the_outbox_sends_copies_a_reply_to_and_the_html_alternative(desk: World, mailbox: Mailbox) -> None:
    message = outbox.queue_email(
        organisation_id=desk.provider.pk,
        key="t:full",
        purpose="t",
        to=["rita@hospital.test", "RITA@hospital.test"],
        cc=["colin@hospital.test", "rita@hospital.test", "postmaster-daemon@hospital.test"],
        reply_to="replies@northwind.test",
        subject="Hello",
        body="Plain",
        body_html="<p>Rich</p>",
        message_id="<t-full@desk.northwind.test>",
        in_reply_to="<b@x.test>",
        references=["<a@x.test>", "<b@x.test>"],
    )
    assert message is not None
    [mail] = mailbox.messages
    assert mailbox.envelopes == [("desk@tierdesk.test", ["rita@hospital.test", "colin@hospital.test"])]
    assert (mail["Cc"], mail["Reply-To"]) == ("colin@hospital.test", "replies@northwind.test")
    assert (mail["In-Reply-To"], mail["References"]) == ("<b@x.test>", "<a@x.test> <b@x.test>")
    assert parts(mail) == {"text/plain": "Plain", "text/html": "<p>Rich</p>"}
    assert mail["Auto-Submitted"] == "auto-replied" and mail["X-Tierdesk-Loop"] == DOMAIN
    with pytest.raises(DomainError, match="line breaks"):
        outbox.queue_email(
            organisation_id=desk.provider.pk,
            key="t:crlf-reply-to",
            purpose="t",
            to=["rita@hospital.test"],
            reply_to="x@y.test\r\nBcc: evil@x.test",
            subject="s",
            body="b",
            message_id="<r@x>",
        )


# --- the satisfaction link ---------------------------------------------------------------------------


def test_the_resolution_mail_carries_a_link_that_rates_without_a_login(desk: World, mailbox: Mailbox) -> None:
    ticket = resolve(desk, open_ticket(desk.requester, title="Printer jam"))
    mail = mailbox.messages[-1]
    path = satisfaction_path(mail)
    assert f'href="https://desk.northwind.test{path}"' in parts(mail)["text/html"]

    browser = Client()  # nobody signed in
    page = browser.get(path)
    assert page.status_code == 200 and "Rate the resolution" in page.content.decode()
    done = browser.post(path, {"score": "4", "comment": "Quick, thanks"})
    assert done.status_code == 200 and "Thank you for your rating" in done.content.decode()
    rating = SatisfactionRating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment, rating.requester_id) == (4, "Quick, thanks", desk.requester.pk)
    rated = ticket.timeline.get(event="rated")
    assert (rated.author_id, rated.author_label, rated.channel) == (None, "Rita Requester", "email")
    assert AuditEvent.objects.filter(action="ticket.rated", actor_label="Rita Requester", via="email").exists()

    browser.post(path, {"score": "5"})  # a second rating replaces the first
    assert SatisfactionRating.objects.get(ticket=ticket).score == 5


def test_a_tampered_or_expired_link_records_nothing(
    desk: World, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    ticket = resolve(desk, open_ticket(desk.requester, title="Printer jam"))
    path = satisfaction_path(mailbox.messages[-1])
    token = path.split("/")[-2]
    other = open_ticket(desk.colleague, title="Other ticket")
    _payload, stamp, signature = token.split(":")
    forged = signing.b64_encode(f'{{"ticket":{other.pk},"requester":{desk.colleague.pk}}}'.encode()).decode()

    browser = Client()
    for bad in (f"{token[:-2]}xx", f"{forged}:{stamp}:{signature}", "nonsense"):
        url = reverse("portal:satisfaction", args=[bad])
        assert browser.get(url).status_code == 404
        refused = browser.post(url, {"score": "1"})
        assert refused.status_code == 404 and "This rating link does not work" in refused.content.decode()

    # An old link: signed 31 days ago.
    monkeypatch.setattr(
        signing.TimestampSigner, "timestamp", lambda self: signing.b62_encode(int(time.time()) - 31 * 86400)
    )
    from tierdesk.tickets import satisfaction

    old = satisfaction.link_token(ticket)
    monkeypatch.undo()
    expired = browser.post(reverse("portal:satisfaction", args=[old]), {"score": "1"})
    assert expired.status_code == 404 and "This rating link has expired" in expired.content.decode()
    assert not SatisfactionRating.objects.exists() and not TimelineEntry.objects.filter(event="rated").exists()


def test_a_reopened_ticket_cannot_be_rated_by_its_old_link(desk: World, mailbox: Mailbox) -> None:
    ticket = resolve(desk, open_ticket(desk.requester, title="Printer jam"))
    path = satisfaction_path(mailbox.messages[-1])
    tickets.transition(actor=agent(desk), ticket=ticket, to_status="in_progress")
    browser = Client()
    assert "there is no resolution to rate" in browser.get(path).content.decode()
    refused = browser.post(path, {"score": "2"})
    assert refused.status_code == 400 and "once it is resolved" in refused.content.decode()
    assert not SatisfactionRating.objects.exists()


# --- loops and bounces ---------------------------------------------------------------------------------


def test_acknowledgements_to_one_address_are_limited_per_hour(desk: World, mailbox: Mailbox) -> None:
    opened = [open_ticket(desk.requester, title=f"Auto-reply {n}") for n in range(6)]
    assert len(mailbox.messages) == 5
    assert OutboxMessage.objects.filter(purpose="acknowledgement").count() == 5
    suppressed = opened[-1].timeline.get(event="acknowledgement_suppressed")
    assert not suppressed.is_public and suppressed.data == {"to": "rita@hospital.test", "limit_per_hour": 5}
    assert not any(t.timeline.filter(event="acknowledgement_suppressed").exists() for t in opened[:-1])
    # Someone else is not held back by Rita's loop.
    open_ticket(desk.colleague, title="Mouse broken")
    assert mailbox.to("colin@hospital.test")


def test_nothing_is_ever_sent_to_a_mailer_daemon(desk: World, mailbox: Mailbox) -> None:
    daemon = f.RequesterFactory.create(
        organisation=desk.client, name="Mail Delivery", email="MAILER-DAEMON@hospital.test"
    )
    ticket = open_ticket(daemon, title="Undeliverable: your request")
    tickets.reply(actor=agent(desk), ticket=ticket, body="Hello?")
    assert mailbox.messages == [] and not OutboxMessage.objects.exists()

    ticket = open_ticket(desk.requester, title="Printer")
    TicketParticipant.objects.create(organisation=ticket.organisation, ticket=ticket, email="mailer-daemon@bank.test")
    tickets.reply(actor=agent(desk), ticket=ticket, body="On it.")
    assert all(m["Cc"] is None for m in mailbox.messages)
    assert all("mailer-daemon@bank.test" not in rcpt for _, rcpt in mailbox.envelopes)
    assert (
        outbox.queue_email(
            organisation_id=desk.provider.pk,
            key="t:daemon",
            purpose="t",
            to=["Mailer-Daemon@x.test"],
            subject="s",
            body="b",
            message_id="<d@x>",
        )
        is None
    )


def test_a_bouncing_address_gets_no_mail_until_an_admin_clears_it(desk: World, mailbox: Mailbox) -> None:
    flagged = bounces.flag_bouncing(provider_id=desk.provider.pk, email="Rita@Hospital.test", reason="5.1.1 unknown")
    open_ticket(desk.requester, title="First")
    assert mailbox.messages == [] and not OutboxMessage.objects.exists()

    admin = Client()
    admin.force_login(desk.admin)
    changelist = reverse("admin:notifications_bouncingaddress_changelist")
    assert "rita@hospital.test" in admin.get(changelist).content.decode()
    response = admin.post(changelist, {"action": "let_mail_go_again", "_selected_action": [str(flagged.pk)]})
    assert response.status_code == 302
    assert BouncingAddress.objects.get(pk=flagged.pk).cleared_at is not None
    assert AuditEvent.objects.filter(action="email.bounce_cleared", actor_id=desk.admin.pk, via="admin").exists()

    open_ticket(desk.requester, title="Second")
    [mail] = mailbox.messages
    assert "Second" in mail["Subject"]


# --- the admins' wording ----------------------------------------------------------------------------------


def template_form(world: World, **changes: str) -> dict[str, str]:
    return {
        "organisation": str(world.provider.pk),
        "kind": "acknowledgement",
        "is_active": "on",
        "subject": "Thanks, {{ requester.first_name }}: {{ ticket.title }}",
        "body_text": "We have {{ ticket.number }} for {{ organisation.name }}.",
        "body_html": "",
        **changes,
    }


def test_an_admins_template_replaces_the_built_in_one(desk: World, mailbox: Mailbox) -> None:
    admin = Client()
    admin.force_login(desk.admin)
    added = admin.post(reverse("admin:notifications_emailtemplate_add"), template_form(desk))
    assert added.status_code == 302, added.content.decode()
    template = EmailTemplate.objects.get()
    assert AuditEvent.objects.filter(action="emailtemplate.created", actor_id=desk.admin.pk).exists()
    preview = admin.get(reverse("admin:notifications_emailtemplate_change", args=[template.pk])).content.decode()
    assert "[INC0001234] Thanks, Rita: Printer on floor 3 is jammed" in preview

    ticket = open_ticket(desk.requester, title="Scanner <b>sends</b> blank pages")
    [mail] = mailbox.messages
    # The number the admin left out is put in front: replies are threaded by it.
    assert mail["Subject"] == f"[{ticket.number}] Thanks, Rita: Scanner <b>sends</b> blank pages"
    assert mail.get_content_type() == "text/plain"  # no HTML wording: the text part alone
    assert str(mail.get_content()).strip() == f"We have {ticket.number} for Hospital."

    EmailTemplate.objects.filter(pk=template.pk).update(is_active=False)  # switched off: no acknowledgement
    open_ticket(desk.requester, title="Keyboard")
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(
    ("field", "source"),
    [
        ("body_text", "{% if %}broken{% endif %}"),
        ("subject", "{{ ticket.number|no_such_filter }}"),
        ("body_html", "{% load static %}<img src=\"{% static 'x.png' %}\">"),
        ("body_text", '{% include "portal/base.html" %}'),
        ("body_text", "{% for x in %}"),
    ],
)
def test_an_admins_template_that_does_not_compile_is_refused(desk: World, field: str, source: str) -> None:
    admin = Client()
    admin.force_login(desk.admin)
    response = admin.post(reverse("admin:notifications_emailtemplate_add"), template_form(desk, **{field: source}))
    assert response.status_code == 200 and "This template cannot be used" in response.content.decode()
    assert not EmailTemplate.objects.exists()


def test_line_breaks_never_become_headers(desk: World, mailbox: Mailbox) -> None:
    EmailTemplate.objects.create(
        organisation=desk.provider,
        kind="acknowledgement",
        subject="Hello\r\nBcc: evil@x.test\r\n{{ ticket.title }}",
        body_text="Hello",
    )
    ticket = open_ticket(desk.requester, title="Pump\r\nX-Evil: 1 fault")
    [mail] = mailbox.messages
    assert mail["Subject"] == f"[{ticket.number}] Hello Bcc: evil@x.test Pump X-Evil: 1 fault"
    assert mail["Bcc"] is None and mail["X-Evil"] is None
    assert mailbox.envelopes == [("support@hospital.test", ["rita@hospital.test"])]

    # An address with a line break is refused by the outbox, and skipped (not fatal) for a ticket's mail.
    with pytest.raises(DomainError, match="line breaks"):
        outbox.queue_email(
            organisation_id=desk.provider.pk,
            key="t:crlf",
            purpose="t",
            to=["rita@hospital.test\r\nBcc: evil@x.test"],
            subject="s",
            body="b",
            message_id="<c@x>",
        )
    TicketParticipant.objects.create(
        organisation=ticket.organisation, ticket=ticket, email="colin@hospital.test\r\nBcc: evil@x.test"
    )
    tickets.reply(actor=agent(desk), ticket=ticket, body="On it.")
    reply = mailbox.messages[-1]
    assert reply["Cc"] is None and mailbox.envelopes[-1][1] == ["rita@hospital.test"]
    assert not OutboxMessage.objects.filter(key="t:crlf").exists()
