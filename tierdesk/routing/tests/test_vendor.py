"""Vendor escalation: pending vendor, the vendor's clock, and a threaded e-mail over real SMTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
from django.test import override_settings

from tierdesk.accounts import services as accounts
from tierdesk.accounts.models import SupportGroup
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.notifications import outbox
from tierdesk.notifications.models import EmailTemplate, OutboxMessage
from tierdesk.routing import services as routing
from tierdesk.sla import services as sla
from tierdesk.sla.models import SlaClock
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World

SYSTEM = Actor.system()
pytestmark = [pytest.mark.usefixtures("tasks_in_process"), pytest.mark.django_db(transaction=True)]


class Mailbox:
    """An SMTP server on loopback (aiosmtpd) keeping what it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # the name aiosmtpd calls
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


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
        MESSAGE_ID_DOMAIN="desk.northwind.test",
        DEFAULT_FROM_EMAIL="Northwind Service Desk <desk@northwind.test>",
    ):
        yield box
    box.stop()


@pytest.fixture(autouse=True)
def _no_acknowledgements(world: World) -> None:
    """This file is about the vendor's mail: the requester's acknowledgement is switched off."""
    EmailTemplate.objects.create(
        organisation=world.provider,
        kind=EmailTemplate.Kind.ACKNOWLEDGEMENT,
        subject="-",
        body_text="-",
        is_active=False,
    )


@pytest.fixture
def vendor(world: World) -> SupportGroup:
    group = accounts.create_support_group(
        actor=SYSTEM, provider=world.provider, name="MedTech", tier=4, serves=[world.client], is_vendor=True
    )
    routing.add_vendor_contact(actor=SYSTEM, vendor=group, name="Mia MedTech", email="support@medtech.test")
    return group


def test_vendor_escalation_mails_the_vendor_and_runs_their_clock(
    world: World, vendor: SupportGroup, mailbox: Mailbox
) -> None:
    from tierdesk.sla.tests.test_services import desk_policy

    policy = desk_policy(world)
    policy.targets.create(kind="vendor", minutes=16 * 60)
    ticket = open_ticket(
        world.requester, title="Infusion pump\r\nBcc: evil@x.test firmware fault", support_group=world.group
    )
    escalation = routing.escalate_to_vendor(
        actor=Actor(user=world.agent), ticket=ticket, vendor=vendor, message="Pump shows E42 after the 3.1 update."
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.tier, ticket.support_group) == ("pending_vendor", 4, vendor)
    sla.recompute_clocks(ticket.pk)
    clocks = {c.kind: c for c in SlaClock.objects.filter(ticket=ticket)}
    assert clocks["vendor"].state == "running" and clocks["resolution"].state == "paused"

    sent = OutboxMessage.objects.get(key=f"vendor:{escalation.pk}")
    assert sent.state == "sent" and sent.attempts == 1
    [mail] = mailbox.messages
    assert mailbox.envelopes == [("desk@northwind.test", ["support@medtech.test"])]
    assert mail["Subject"] == f"[{ticket.number}] Infusion pump Bcc: evil@x.test firmware fault"
    assert mail["Message-ID"] == f"<{ticket.number}.vendor-{escalation.pk}@desk.northwind.test>"
    assert mail["Bcc"] is None and mail["To"] == "support@medtech.test"
    assert "Pump shows E42 after the 3.1 update." in mail.get_payload()
    assert ticket.timeline.filter(event="vendor_escalated").exists()


def test_a_mail_server_that_is_down_gets_the_mail_later(world: World, vendor: SupportGroup, mailbox: Mailbox) -> None:
    mailbox.stop()
    ticket = open_ticket(world.requester, title="Pump fault", support_group=world.group)
    escalation = routing.escalate_to_vendor(actor=Actor(user=world.agent), ticket=ticket, vendor=vendor, message="E42")
    queued = OutboxMessage.objects.get(key=f"vendor:{escalation.pk}")
    assert (queued.state, queued.attempts) == ("pending", 1) and "Connection refused" in queued.last_error
    assert queued.next_attempt_at > clock.now()
    assert outbox.deliver_due() == outbox.DeliveryResult()  # not due yet: backoff
    mailbox.start()
    assert outbox.deliver_due(now=clock.now() + timedelta(minutes=1)).sent == 1
    assert len(mailbox.messages) == 1
    queued.refresh_from_db()
    assert (queued.state, queued.attempts, queued.last_error) == ("sent", 2, "")


def test_bad_vendor_escalations_are_refused(world: World, vendor: SupportGroup) -> None:
    ticket = open_ticket(world.requester, title="Pump fault", support_group=world.group)
    agent = Actor(user=world.agent)
    with pytest.raises(DomainError, match="message is required"):
        routing.escalate_to_vendor(actor=agent, ticket=ticket, vendor=vendor, message=" ")
    with pytest.raises(DomainError, match="not an active vendor"):
        routing.escalate_to_vendor(actor=agent, ticket=ticket, vendor=world.group, message="x")
    bank_vendor = accounts.create_support_group(
        actor=SYSTEM, provider=world.provider, name="BankTech", tier=4, serves=[world.other_client], is_vendor=True
    )
    with pytest.raises(DomainError, match="does not support Hospital"):
        routing.escalate_to_vendor(actor=agent, ticket=ticket, vendor=bank_vendor, message="x")
    silent = accounts.create_support_group(
        actor=SYSTEM, provider=world.provider, name="Silent", tier=3, serves=[world.client], is_vendor=True
    )
    with pytest.raises(DomainError, match="no contact"):
        routing.escalate_to_vendor(actor=agent, ticket=ticket, vendor=silent, message="x")
    assert not OutboxMessage.objects.exists()


def test_console_sends_a_ticket_to_a_vendor(world: World, vendor: SupportGroup, mailbox: Mailbox) -> None:
    from django.test import Client

    ticket = open_ticket(world.requester, title="Pump fault", support_group=world.group)
    client = Client()
    client.force_login(world.agent)
    page = client.get(f"/console/tickets/{ticket.number}/").content.decode()
    assert "Send to a vendor" in page and "MedTech" in page
    response = client.post(
        f"/console/tickets/{ticket.number}/vendor/",
        {"version": ticket.version, "vendor": vendor.pk, "message": "E42 after update"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "pending_vendor" and len(mailbox.messages) == 1


def test_api_vendor_escalation(world: World, vendor: SupportGroup, mailbox: Mailbox) -> None:
    from tierdesk.testing.fixtures import api_client_for

    ticket = open_ticket(world.requester, title="Pump fault", support_group=world.group)
    api = api_client_for(world.agent)
    url = f"/api/v1/tickets/{ticket.number}/vendor-escalation/"
    wrong = api.post(url, {"vendor": world.group.pk, "message": "x", "version": ticket.version}, format="json")
    assert wrong.status_code == 400  # not a vendor: not a valid choice
    done = api.post(
        url,
        {"vendor": vendor.pk, "message": "E42", "vendor_reference": "MT-889", "version": ticket.version},
        format="json",
    )
    assert done.status_code == 200 and done.json()["status"] == "pending_vendor"
    assert "Your reference: MT-889" in mailbox.messages[0].get_payload()
