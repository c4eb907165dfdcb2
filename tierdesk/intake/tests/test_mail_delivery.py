"""Direct delivery over real SMTP and LMTP conversations, and the pipe command."""

from __future__ import annotations

import io
import smtplib
import socket
import sys
from collections.abc import Iterator

import pytest
from django.core.management import call_command

from tierdesk.intake.mail.listener import DeskController
from tierdesk.intake.models import InboundEmail, Mailbox
from tierdesk.testing.fixtures import World
from tierdesk.testing.mail import desk_mailbox, raw_email
from tierdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mailbox(world: World) -> Mailbox:
    world.client.email_domain = "hospital.test"
    world.client.save()
    return desk_mailbox(world.provider)


@pytest.fixture(params=[False, True], ids=["smtp", "lmtp"])
def listener(request: pytest.FixtureRequest, mailbox: Mailbox) -> Iterator[tuple[int, bool]]:
    port = _free_port()
    controller = DeskController(host="127.0.0.1", port=port, lmtp=request.param)
    controller.start()
    yield port, request.param
    controller.stop()


def _client(port: int, lmtp: bool) -> smtplib.SMTP:
    if lmtp:
        return smtplib.LMTP("127.0.0.1", port)
    return smtplib.SMTP("127.0.0.1", port, timeout=30)


def test_delivery_opens_a_ticket_and_a_retry_adds_nothing(world: World, listener: tuple[int, bool]) -> None:
    port, lmtp = listener
    raw = raw_email(message_id="<delivered-1@mail.hospital.test>")
    for _ in range(2):  # the sending server retries, e.g. after a lost connection
        with _client(port, lmtp) as client:
            refused = client.sendmail("rita@hospital.test", ["support@northwind.test"], raw)
        assert refused == {}
    record = InboundEmail.objects.get()
    assert record.source == ("lmtp" if lmtp else "smtp") and record.outcome == "ticket_opened"
    assert Ticket.objects.count() == 1
    assert bytes(record.raw).replace(b"\r\n", b"\n").rstrip() == raw.rstrip()  # as it travelled, in CRLF


def test_an_unknown_recipient_is_refused_at_rcpt(world: World, listener: tuple[int, bool]) -> None:
    port, lmtp = listener
    with _client(port, lmtp) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.sendmail("rita@hospital.test", ["nobody@northwind.test"], raw_email())
    assert refused.value.recipients["nobody@northwind.test"][0] == 550
    assert not InboundEmail.objects.exists()


def test_lmtp_answers_each_recipient(world: World, mailbox: Mailbox) -> None:
    desk_mailbox(world.provider, name="Helpdesk", address="helpdesk@northwind.test")
    port = _free_port()
    controller = DeskController(host="127.0.0.1", port=port, lmtp=True)
    controller.start()
    try:
        with smtplib.LMTP("127.0.0.1", port) as client:
            client.ehlo_or_helo_if_needed()
            client.mail("rita@hospital.test")
            client.rcpt("support@northwind.test")
            client.rcpt("helpdesk@northwind.test")
            client.send(b"DATA\r\n")
            assert client.getreply()[0] == 354
            client.send(raw_email().replace(b"\n", b"\r\n").replace(b"\r\r", b"\r") + b"\r\n.\r\n")
            codes = [client.getreply()[0], client.getreply()[0]]
    finally:
        controller.stop()
    assert codes == [250, 250]
    assert Ticket.objects.count() == 1  # one message to two addresses of one desk is one ticket


class _Stdin:
    def __init__(self, data: bytes) -> None:
        self.buffer = io.BytesIO(data)


def test_the_pipe_command_takes_a_message_and_names_its_outcome(
    world: World, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(raw_email(subject="Laptop will not boot")))
    call_command("intake", "email")
    out = capsys.readouterr().out
    ticket = Ticket.objects.get()
    assert out.startswith("Opened a ticket: opened ") and ticket.number in out
    assert ticket.title == "Laptop will not boot"


def test_the_replay_command_replays_a_quarantined_message(
    world: World, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", _Stdin(raw_email(sender="who@nowhere.test")))
    call_command("intake", "email", "--mailbox", "support@northwind.test")
    record = InboundEmail.objects.get()
    assert record.outcome == "quarantined"
    Mailbox.objects.filter(pk=mailbox.pk).update(default_organisation=world.client)
    call_command("intake", "replay", str(record.pk))
    assert "Opened a ticket" in capsys.readouterr().out
    record.refresh_from_db()
    assert record.outcome == "ticket_opened" and record.replays == 1
