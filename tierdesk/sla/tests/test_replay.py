"""Replay of a ServiceNow event log through the SLA engine: own fixture, then the real log."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from tierdesk.sla import replay
from tierdesk.sla import services as sla
from tierdesk.sla.models import SlaEvent
from tierdesk.testing.fixtures import World, shared_data
from tierdesk.tickets.models import FieldChange, Ticket

HEADER = (
    "number,incident_state,sys_mod_count,made_sla,caller_id,opened_at,sys_updated_at,contact_type,"
    "category,subcategory,u_symptom,impact,urgency,priority,assignment_group,reopen_count"
)
P3 = "2 - Medium,2 - Medium,3 - Moderate"
P1 = "1 - High,1 - High,1 - Critical"


def row(number: str, state: str, order: int, made: bool, updated: str, levels: str = P3, group: str = "Group 1") -> str:
    return (
        f"{number},{state},{order},{str(made).lower()},Caller 7,01/03/2016 09:00,{updated},Phone,"
        f"Category 1,Subcategory 2,?,{levels},{group},0"
    )


LOG = "\n".join(
    [
        HEADER,
        # Resolved in 24 h of a 72 h target.
        row("INC0000001", "New", 0, True, "01/03/2016 09:00"),
        row("INC0000001", "Active", 1, True, "01/03/2016 09:30"),
        row("INC0000001", "Resolved", 2, True, "02/03/2016 09:00"),
        row("INC0000001", "Closed", 3, True, "07/03/2016 09:00"),
        # P1, moved to another group, resolved after 11 h of 8.
        row("INC0000002", "New", 0, False, "01/03/2016 09:00", P1),
        row("INC0000002", "Active", 1, False, "01/03/2016 10:00", P1, "Group 2"),
        row("INC0000002", "Resolved", 2, False, "01/03/2016 20:00", P1, "Group 2"),
        # A week waiting for the user does not count: 3 h used.
        row("INC0000003", "Active", 1, True, "01/03/2016 10:00"),  # out of order in the file
        row("INC0000003", "New", 0, True, "01/03/2016 09:00"),
        row("INC0000003", "Awaiting User Info", 2, True, "01/03/2016 11:00"),
        row("INC0000003", "Active", 3, True, "08/03/2016 10:00"),
        row("INC0000003", "Resolved", 4, True, "08/03/2016 11:00"),
        # Raised to P1 after 3 h: the P1 target applies to all 10 h used.
        row("INC0000004", "New", 0, False, "01/03/2016 09:00"),
        row("INC0000004", "Active", 1, False, "01/03/2016 12:00", P1),
        row("INC0000004", "Resolved", 2, False, "01/03/2016 19:00", P1),
        # Still open when the log ends, long past its target; two rows the replay must set aside.
        row("INC0000005", "New", 0, True, "01/03/2016 09:00"),
        row("INC0000005", "-100", 1, True, "01/03/2016 10:00"),
        row("INC0000005", "Active", 2, True, "31/02/2016 99:00"),
    ]
)


def _run() -> tuple[replay.ReplayResult, list[replay.Rejected]]:
    rejected: list[replay.Rejected] = []
    incidents = replay.read_event_log(io.StringIO(LOG), rejected=rejected)
    return replay.replay(incidents, rejected=rejected), rejected


def test_replay_reads_clocks_from_the_recorded_history(world: World) -> None:
    result, rejected = _run()
    assert (result.imported, result.already_there) == (5, 0)
    assert result.read_at == datetime(2016, 3, 8, 11, tzinfo=UTC)
    states = {o.number: (o.state, o.elapsed_seconds) for o in result.outcomes}
    assert states == {
        "UCI0000001": ("met", 24 * 3600),
        "UCI0000002": ("breached", 11 * 3600),
        "UCI0000003": ("met", 3 * 3600),
        "UCI0000004": ("breached", 10 * 3600),
        "UCI0000005": ("breached", (7 * 24 + 2) * 3600),
    }
    assert [(r.where.split(" (")[0], r.reason.split(":")[0]) for r in rejected] == [
        ("line 18", "unknown state '-100'"),
        ("line 19", "unreadable"),
    ]
    total = replay.compare(result.outcomes)[-1]
    assert (total.incidents, total.servicenow_made, total.tierdesk_met, total.tierdesk_breached) == (5, 3, 2, 3)
    assert (total.agree, total.decided, total.agreement_percent) == (4, 5, 80.0)

    moved = Ticket.objects.get(number="UCI0000002")
    assert (moved.status, moved.priority, moved.support_group.name) == ("resolved", 1, "UCI Group 2")
    assert list(FieldChange.objects.filter(ticket=moved).values_list("field", "old_value", "new_value")) == [
        ("status", "new", "in_progress"),
        ("support_group", "Group 1", "Group 2"),
        ("status", "in_progress", "resolved"),
    ]
    # History raises no alarms: the sweep finds nothing to warn or breach about.
    assert sla.sweep(now=datetime(2030, 1, 1, tzinfo=UTC)) == sla.SweepResult(0, 0)
    assert not SlaEvent.objects.exists()


def test_replaying_twice_gives_identical_results(world: World) -> None:
    first, _ = _run()
    second, _ = _run()
    assert (second.imported, second.already_there) == (0, 5)
    assert second.outcomes == first.outcomes
    assert replay.compare(second.outcomes) == replay.compare(first.outcomes)


def test_the_real_servicenow_log(world: World) -> None:
    path = shared_data("tickets/uci-incident-event-log.zip")
    rejected: list[replay.Rejected] = []
    with replay.open_event_log(path) as stream:
        incidents = replay.read_event_log(stream, limit=300, rejected=rejected)
    assert len(incidents) == 300 and incidents[0].number == "INC0000045"
    first = replay.replay(incidents)
    second = replay.replay(incidents)
    assert first.imported == 300 and second.already_there == 300
    assert first.outcomes == second.outcomes
    total = replay.compare(first.outcomes)[-1]
    assert total.decided > 250  # nearly every incident of the log is resolved within it
    assert Ticket.objects.filter(number__startswith="UCI").count() == 300
