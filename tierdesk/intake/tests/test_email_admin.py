"""Mailboxes and received mail in the admin: the password is stored encrypted; quarantined mail replays."""

from __future__ import annotations

import pytest
from django.test import Client

from tierdesk.audit.models import AuditEvent
from tierdesk.core import secrets
from tierdesk.intake.mail.services import receive_email
from tierdesk.intake.models import InboundEmail, Mailbox
from tierdesk.testing.fixtures import World
from tierdesk.testing.mail import desk_mailbox, raw_email

pytestmark = pytest.mark.django_db


def _admin(world: World) -> Client:
    client = Client()
    client.force_login(world.admin)
    return client


def test_an_imap_password_is_stored_encrypted_and_never_shown(world: World) -> None:
    client = _admin(world)
    form = {
        "organisation": world.provider.pk,
        "name": "Hospital IMAP",
        "address": "IT@Hospital.test",
        "kind": "imap",
        "is_active": "on",
        "foreign_reply_policy": "quarantine",
        "imap_host": "imap.hospital.test",
        "imap_port": 993,
        "imap_security": "ssl",
        "imap_username": "it",
        "imap_password": "s3cret-pass",
        "imap_folder": "INBOX",
        "after_processing": "flag",
        "processed_folder": "Tierdesk/Processed",
    }
    response = client.post("/admin/intake/mailbox/add/", form)
    assert response.status_code == 302, response.content[:2000]
    mailbox = Mailbox.objects.get()
    assert mailbox.address == "it@hospital.test"
    assert "s3cret" not in mailbox.imap_password_encrypted and secrets.decrypt(mailbox.imap_password_encrypted) == (
        "s3cret-pass"
    )
    page = client.get(f"/admin/intake/mailbox/{mailbox.pk}/change/").content.decode()
    assert "s3cret" not in page and mailbox.imap_password_encrypted not in page
    event = AuditEvent.objects.filter(action="mailbox.created").get()
    assert "s3cret" not in str(event.after) and event.after["imap_password"] == "(changed)"
    # Saving again with the password left empty keeps it.
    form["imap_password"] = ""
    assert client.post(f"/admin/intake/mailbox/{mailbox.pk}/change/", form).status_code == 302
    mailbox.refresh_from_db()
    assert secrets.decrypt(mailbox.imap_password_encrypted) == "s3cret-pass"


def test_an_admin_reads_and_replays_a_quarantined_message(world: World) -> None:
    mailbox = desk_mailbox(world.provider)
    record = receive_email(raw=raw_email(sender="who@nowhere.test"), mailbox=mailbox, source="pipe").record
    assert record.outcome == "quarantined"
    client = _admin(world)
    page = client.get(f"/admin/intake/inboundemail/{record.pk}/change/").content.decode()
    assert "unknown sender who@nowhere.test" in page and "From: who@nowhere.test" in page
    Mailbox.objects.filter(pk=mailbox.pk).update(default_organisation=world.client)
    response = client.post(
        "/admin/intake/inboundemail/", {"action": "replay", "_selected_action": [record.pk]}, follow=True
    )
    assert "Opened a ticket: 1" in response.content.decode()
    record.refresh_from_db()
    assert record.outcome == InboundEmail.Outcome.TICKET_OPENED
    assert AuditEvent.objects.filter(action="email.replayed", object_id=str(record.pk)).exists()


def test_an_agent_who_is_no_admin_cannot_replay(world: World) -> None:
    from tierdesk.core.actor import Actor
    from tierdesk.core.errors import PermissionDenied
    from tierdesk.intake.mail.services import replay_quarantined

    mailbox = desk_mailbox(world.provider)
    record = receive_email(raw=raw_email(sender="who@nowhere.test"), mailbox=mailbox, source="pipe").record
    with pytest.raises(PermissionDenied):
        replay_quarantined(actor=Actor(user=world.agent), record_id=record.pk)
    with pytest.raises(PermissionDenied):
        replay_quarantined(actor=Actor(user=world.other_provider_agent), record_id=record.pk)
