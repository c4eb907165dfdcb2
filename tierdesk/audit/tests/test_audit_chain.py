"""The audit trail is hash-chained: edits and deletions behind the application's back show."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from tierdesk.audit.models import AuditEvent, TicketAccess
from tierdesk.audit.services import verify_all, verify_chain
from tierdesk.core.actor import Actor
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services


def _some_history(world: World) -> None:
    actor = Actor(user=world.agent, ip="192.0.2.7")
    for n in range(3):
        ticket = open_ticket(world.requester, title=f"Ticket {n}")
        services.assign(actor=actor, ticket=ticket, assignee=world.agent)
        services.reply(actor=actor, ticket=ticket, body="On it")


def _sql(statement: str, *params: object) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


def test_events_carry_actor_org_before_after_and_ip(world: World) -> None:
    _some_history(world)
    event = AuditEvent.objects.filter(action="ticket.updated").first()
    assert event is not None
    assert event.actor_id == world.agent.pk and event.actor_label == world.agent.email
    assert event.organisation_id == world.client.pk and event.ip == "192.0.2.7"
    assert event.before == {"status": "new", "assignee_id": None}
    assert event.after == {"status": "assigned", "assignee_id": world.agent.pk}
    assert all(report.ok for report in verify_all())


def test_edited_row_is_named(world: World) -> None:
    _some_history(world)
    victim = AuditEvent.objects.order_by("seq")[4]
    _sql(f"UPDATE {AuditEvent._meta.db_table} SET actor_label = %s WHERE seq = %s", "someone-else", victim.seq)
    report = verify_chain(AuditEvent)
    assert not report.ok and report.broken_seq == victim.seq and "altered" in report.reason


def test_deleted_row_is_named(world: World) -> None:
    _some_history(world)
    victim = AuditEvent.objects.order_by("seq")[3]
    _sql(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", victim.seq)
    report = verify_chain(AuditEvent)
    assert not report.ok and report.broken_seq == victim.seq and "missing" in report.reason


def test_deleted_tail_is_noticed(world: World) -> None:
    _some_history(world)
    last = AuditEvent.objects.order_by("-seq").first()
    assert last is not None
    _sql(f"DELETE FROM {AuditEvent._meta.db_table} WHERE seq = %s", last.seq)
    report = verify_chain(AuditEvent)
    assert not report.ok and report.broken_seq == last.seq


def test_recomputed_hash_still_breaks_the_next_link(world: World) -> None:
    """Someone who edits a row and recomputes its hash breaks the link of the next row."""
    _some_history(world)
    victim = AuditEvent.objects.order_by("seq")[2]
    victim.actor_label = "forged"
    forged_hash = victim.compute_hash()
    _sql(
        f"UPDATE {AuditEvent._meta.db_table} SET actor_label = %s, hash = %s WHERE seq = %s",
        "forged",
        forged_hash,
        victim.seq,
    )
    report = verify_chain(AuditEvent)
    assert not report.ok and report.broken_seq == victim.seq + 1 and "link" in report.reason


def test_rows_refuse_changes_through_the_orm(world: World) -> None:
    _some_history(world)
    event = AuditEvent.objects.first()
    assert event is not None
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_verify_command(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    _some_history(world)
    call_command("audit", "verify")
    out = capsys.readouterr().out
    assert "audit: OK" in out and "access: OK" in out
    _sql(f"UPDATE {AuditEvent._meta.db_table} SET action = %s WHERE seq = %s", "ticket.nothing", 2)
    with pytest.raises(CommandError, match="#2"):
        call_command("audit", "verify")


def test_access_log_is_chained_too(world: World) -> None:
    from tierdesk.testing.fixtures import api_client_for

    ticket = open_ticket(world.requester)
    client = api_client_for(world.agent)
    for _ in range(3):
        assert client.get(f"/api/v1/tickets/{ticket.number}/").status_code == 200
    assert verify_chain(TicketAccess).ok
    _sql(f"UPDATE {TicketAccess._meta.db_table} SET user_label = %s WHERE seq = %s", "nobody", 2)
    assert verify_chain(TicketAccess).broken_seq == 2
