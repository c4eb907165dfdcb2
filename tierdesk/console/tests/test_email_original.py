"""The original of a received e-mail, for agents: full text (nothing trimmed), sanitised HTML, the .eml."""

from __future__ import annotations

import pytest
from django.test import Client

from tierdesk.intake.mail.services import receive_email
from tierdesk.testing.fixtures import World
from tierdesk.testing.mail import desk_mailbox, raw_email
from tierdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _as(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_an_agent_reads_the_whole_message_and_others_see_nothing(world: World) -> None:
    mailbox = desk_mailbox(world.provider)
    ticket = Ticket.objects.get(pk=receive_email(raw=raw_email(), mailbox=mailbox, source="pipe").record.ticket_id)
    body = "Still broken.\n\nOn Mon, Desk wrote:\n> Please restart it.\n"
    html = '<p>Still <b>broken</b><img src="https://tracker.example/x.png" onerror="alert(1)"></p>'
    record = receive_email(
        raw=raw_email(subject=f"Re: [{ticket.number}]", body=body, html=html), mailbox=mailbox, source="pipe"
    ).record
    url = f"/console/tickets/{ticket.number}/emails/{record.pk}/"
    page = _as(world.agent).get(f"/console/tickets/{ticket.number}/").content.decode()
    assert url in page  # the timeline links the reply to its original
    original = _as(world.agent).get(url)
    text = original.content.decode()
    assert original.status_code == 200 and "Please restart it." in text and "<b>broken</b>" in text
    assert "onerror" not in text and "tracker.example" not in text  # sanitised: no scripts, no tracking pixel
    download = _as(world.agent).get(url + "?download=eml")
    assert download["Content-Type"] == "message/rfc822" and download.content == bytes(record.raw)
    assert _as(world.requester_user).get(url).status_code in (302, 403, 404)
    assert _as(world.other_provider_agent).get(url).status_code == 404
