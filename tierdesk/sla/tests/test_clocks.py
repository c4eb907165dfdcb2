"""Clocks read from events: pauses, reopen, tier clocks, priority changes, replay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tierdesk.sla.calendar import WorkingTime, office_hours
from tierdesk.sla.clocks import ClockRule, ClockState, TicketEvent, read_clock

H = timedelta(hours=1)
DESK = WorkingTime("UTC", office_hours("UTC"))  # Mon-Fri 08-18 UTC
PAUSE = frozenset({"pending_customer", "pending_vendor"})
STOP = frozenset({"resolved", "closed"})
RESOLUTION = ClockRule(target=8 * H, pause_statuses=PAUSE, stop_statuses=STOP, cancel_statuses=frozenset({"cancelled"}))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)  # 7 December 2026 is a Monday


def test_running_clock_has_a_due_time() -> None:
    reading = read_clock(RESOLUTION, DESK, [TicketEvent(at(7, 9), "new")], now=at(7, 12))
    assert (reading.state, reading.elapsed, reading.due_at) == (ClockState.RUNNING, 3 * H, at(7, 17))


def test_pending_customer_pauses_and_resuming_keeps_what_was_used() -> None:
    events = [
        TicketEvent(at(7, 9), "new"),
        TicketEvent(at(7, 11), "pending_customer"),
        TicketEvent(at(8, 9), "in_progress"),
    ]
    paused = read_clock(RESOLUTION, DESK, events[:2], now=at(7, 17))
    assert (paused.state, paused.elapsed, paused.due_at) == (ClockState.PAUSED, 2 * H, None)
    resumed = read_clock(RESOLUTION, DESK, events, now=at(8, 10))
    assert (resumed.state, resumed.elapsed) == (ClockState.RUNNING, 3 * H)
    assert resumed.due_at == at(8, 15)


def test_resolved_in_time_is_met_and_reopen_continues() -> None:
    events = [TicketEvent(at(7, 9), "new"), TicketEvent(at(7, 13), "resolved")]
    assert read_clock(RESOLUTION, DESK, events, now=at(9, 9)).state == ClockState.MET
    events.append(TicketEvent(at(8, 9), "in_progress"))  # reopened the next morning
    reading = read_clock(RESOLUTION, DESK, events, now=at(8, 10))
    assert (reading.state, reading.elapsed) == (ClockState.RUNNING, 5 * H)


def test_breach_time_is_when_the_target_was_crossed() -> None:
    reading = read_clock(RESOLUTION, DESK, [TicketEvent(at(4, 14), "new")], now=at(8, 12))  # Friday 14:00
    # 4 h on Friday, then 4 h on Monday: breached at Monday 12:00, whatever "now" is.
    assert (reading.state, reading.due_at) == (ClockState.BREACHED, at(7, 12))


def test_priority_raised_mid_way_recomputes_from_events() -> None:
    events = [TicketEvent(at(7, 9), "new")]
    p3 = read_clock(RESOLUTION, DESK, events, now=at(7, 11))
    p1 = read_clock(ClockRule(4 * H, PAUSE, STOP), DESK, events, now=at(7, 11))
    assert p3.elapsed == p1.elapsed == 2 * H  # nothing lost, nothing counted twice
    assert (p3.due_at, p1.due_at) == (at(7, 17), at(7, 13))


def test_tier_clock_runs_only_at_its_tier() -> None:
    tier2 = ClockRule(target=4 * H, pause_statuses=PAUSE, stop_statuses=STOP, tier=2)
    events = [
        TicketEvent(at(7, 9), "new", 1),
        TicketEvent(at(7, 10), "in_progress", 2),
        TicketEvent(at(7, 12), "in_progress", 1),
    ]
    reading = read_clock(tier2, DESK, events, now=at(7, 16))
    assert (reading.state, reading.elapsed) == (ClockState.PAUSED, 2 * H)


def test_cancelled() -> None:
    events = [TicketEvent(at(7, 9), "new"), TicketEvent(at(7, 10), "cancelled")]
    assert read_clock(RESOLUTION, DESK, events, now=at(7, 12)).state == ClockState.CANCELLED


statuses = st.sampled_from(["new", "in_progress", "pending_customer", "pending_vendor", "in_progress"])


@st.composite
def histories(draw: st.DrawFn) -> list[TicketEvent]:
    moment = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(minutes=draw(st.integers(0, 7 * 24 * 60)))
    events = [TicketEvent(moment, "new")]
    for status in draw(st.lists(statuses, max_size=6)):
        moment += timedelta(minutes=draw(st.integers(1, 3 * 24 * 60)))
        events.append(TicketEvent(moment, status))
    return events


@settings(max_examples=150, deadline=None)
@given(events=histories(), extra=st.integers(0, 5 * 24 * 60))
def test_elapsed_only_grows_and_replay_is_stable(events: list[TicketEvent], extra: int) -> None:
    now = events[-1].at + timedelta(minutes=extra)
    earlier = read_clock(RESOLUTION, DESK, events, now=events[-1].at)
    later = read_clock(RESOLUTION, DESK, events, now=now)
    assert later.elapsed >= earlier.elapsed
    assert read_clock(RESOLUTION, DESK, list(reversed(events)), now=now) == later


@settings(max_examples=150, deadline=None)
@given(events=histories(), pause_minutes=st.integers(1, 3 * 24 * 60))
def test_inserting_a_pause_never_shortens_remaining_time(events: list[TicketEvent], pause_minutes: int) -> None:
    now = events[-1].at + timedelta(days=2)
    plain = read_clock(RESOLUTION, DESK, events, now=now)
    pause_start = events[-1].at + timedelta(minutes=1)
    paused = [
        *events,
        TicketEvent(pause_start, "pending_customer"),
        TicketEvent(pause_start + timedelta(minutes=pause_minutes), events[-1].status),
    ]
    with_pause = read_clock(RESOLUTION, DESK, paused, now=max(now, paused[-1].at))
    assert with_pause.remaining >= plain.remaining or plain.state == ClockState.PAUSED


def test_vendor_clock_runs_only_while_pending_vendor() -> None:
    vendor = ClockRule(4 * H, frozenset(), STOP, run_statuses=frozenset({"pending_vendor"}))
    events = [
        TicketEvent(at(7, 9), "new"),
        TicketEvent(at(7, 10), "pending_vendor"),
        TicketEvent(at(7, 12), "in_progress"),
        TicketEvent(at(7, 14), "pending_vendor"),
    ]
    reading = read_clock(vendor, DESK, events, now=at(7, 15))
    assert (reading.state, reading.elapsed, reading.due_at) == (ClockState.RUNNING, 3 * H, at(7, 16))
    # Meanwhile the resolution clock is paused for exactly those hours.
    assert read_clock(RESOLUTION, DESK, events, now=at(7, 15)).elapsed == 3 * H
