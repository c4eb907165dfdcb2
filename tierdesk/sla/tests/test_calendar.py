"""Business time: cases a service desk meets, and properties that must hold for any calendar."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tierdesk.core.errors import DomainError
from tierdesk.sla.calendar import WorkingTime, WorkingWindow, office_hours, public_holidays

LONDON = ZoneInfo("Europe/London")
H = timedelta(hours=1)


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


UK = WorkingTime("Europe/London", office_hours("Europe/London"), public_holidays("GB", [2026], "ENG"))


def test_within_a_day() -> None:
    assert UK.add(london(2026, 12, 1, 9), 4 * H) == london(2026, 12, 1, 13)


def test_over_the_weekend() -> None:
    # Friday 16:00 + 4 business hours = Monday 10:00.
    assert UK.add(london(2026, 12, 4, 16), 4 * H) == london(2026, 12, 7, 10)
    assert UK.measure(london(2026, 12, 4, 16), london(2026, 12, 7, 10)) == 4 * H


def test_opened_outside_hours_starts_at_opening() -> None:
    assert UK.add(london(2026, 12, 1, 22), 1 * H) == london(2026, 12, 2, 9)
    assert UK.add(london(2026, 12, 5, 11), 30 * timedelta(minutes=1)) == london(2026, 12, 7, 8, 30)  # Saturday


def test_holidays_are_skipped() -> None:
    # Christmas Day (Fri) and Boxing Day observed (Mon 28th) 2026 in England.
    assert date(2026, 12, 25) in UK.holidays and date(2026, 12, 28) in UK.holidays
    assert UK.add(london(2026, 12, 24, 17), 2 * H) == london(2026, 12, 29, 9)


def test_split_shift() -> None:
    windows = (WorkingWindow(0, time(8), time(12)), WorkingWindow(0, time(14), time(18)))
    desk = WorkingTime("Europe/London", windows)
    assert desk.add(london(2026, 12, 7, 11), 2 * H) == london(2026, 12, 7, 15)
    assert desk.measure(london(2026, 12, 7, 9), london(2026, 12, 7, 16)) == 5 * H


def test_24x7_is_plain_time_even_across_dst() -> None:
    always = WorkingTime("Europe/London", always_open=True)
    start = london(2026, 3, 28, 12)
    assert always.add(start, 24 * H) == start.astimezone(UTC) + 24 * H
    # Python adds to the wall clock of an aware local datetime: 48 h "later" across the
    # change is 47 real hours, and business time is real time.
    assert always.measure(start, start + 48 * H) == 47 * H
    assert always.measure(start, start.astimezone(UTC) + 48 * H) == 48 * H


def test_dst_day_window_is_wall_clock() -> None:
    # On 29 March 2026 London springs forward at 01:00; a 00:00-06:00 Sunday window lasts 5 hours.
    night = WorkingTime("Europe/London", (WorkingWindow(6, time(0), time(6)),))
    assert night.measure(london(2026, 3, 29, 0), london(2026, 3, 29, 12)) == 5 * H


def test_bad_input() -> None:
    with pytest.raises(DomainError):
        UK.add(datetime(2026, 12, 1, 9), H)  # naive
    with pytest.raises(DomainError):
        UK.add(london(2026, 12, 1, 9), -H)
    with pytest.raises(DomainError):
        WorkingWindow(0, time(18), time(8))
    with pytest.raises(DomainError, match="no working time"):
        WorkingTime("UTC").add(datetime(2026, 1, 1, tzinfo=UTC), H)
    with pytest.raises(DomainError):
        public_holidays("XX", [2026])


# --- properties -----------------------------------------------------------------------------

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "UTC"]


@st.composite
def calendars(draw: st.DrawFn) -> WorkingTime:
    zone = draw(st.sampled_from(ZONES))
    windows = []
    for weekday in draw(st.sets(st.integers(0, 6), min_size=1)):
        start_hour = draw(st.integers(0, 20))
        end_hour = draw(st.integers(start_hour + 1, 24))
        windows.append(WorkingWindow(weekday, time(start_hour), None if end_hour == 24 else time(end_hour)))
        if draw(st.booleans()) and end_hour <= 21:  # a split shift later the same day
            windows.append(WorkingWindow(weekday, time(end_hour + 1), time(min(end_hour + 3, 23))))
    days = draw(st.sets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=10))
    return WorkingTime(zone, tuple(windows), frozenset(days), always_open=draw(st.booleans()) and zone != "UTC")


moments = st.datetimes(datetime(2026, 1, 1), datetime(2027, 6, 30), timezones=st.just(UTC))
durations = st.integers(0, 120 * 60).map(lambda minutes: timedelta(minutes=minutes))


@settings(max_examples=150, deadline=None)
@given(calendar=calendars(), start=moments, duration=durations)
def test_add_then_measure_is_identity(calendar: WorkingTime, start: datetime, duration: timedelta) -> None:
    due = calendar.add(start, duration)
    assert due >= start
    assert calendar.measure(start, due) == duration


@settings(max_examples=100, deadline=None)
@given(calendar=calendars(), start=moments, a=durations, b=durations)
def test_due_times_move_monotonically(calendar: WorkingTime, start: datetime, a: timedelta, b: timedelta) -> None:
    shorter, longer = sorted((a, b))
    assert calendar.add(start, shorter) <= calendar.add(start, longer)


@settings(max_examples=100, deadline=None)
@given(calendar=calendars(), start=moments, pause=st.integers(0, 72 * 60), duration=durations)
def test_a_pause_never_shortens_what_remains(
    calendar: WorkingTime, start: datetime, pause: int, duration: timedelta
) -> None:
    """Resuming later never brings the due time earlier than not pausing at all."""
    resumed = start + timedelta(minutes=pause)
    assert calendar.add(resumed, duration) >= calendar.add(start, duration)


# Daylight-saving changes of 2026, in UTC, and the zone each belongs to.
DST_CHANGES = [
    ("Europe/London", datetime(2026, 3, 29, 1, tzinfo=UTC)),
    ("Europe/London", datetime(2026, 10, 25, 1, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 3, 8, 7, tzinfo=UTC)),
    ("America/New_York", datetime(2026, 11, 1, 6, tzinfo=UTC)),
    ("Australia/Sydney", datetime(2026, 4, 4, 16, tzinfo=UTC)),
    ("Australia/Sydney", datetime(2026, 10, 3, 16, tzinfo=UTC)),
]


@st.composite
def around_a_dst_change(draw: st.DrawFn) -> tuple[WorkingTime, datetime]:
    """A calendar whose windows cover the small hours, and a start within two days of its zone's change."""
    zone, change = draw(st.sampled_from(DST_CHANGES))
    windows = tuple(
        WorkingWindow(day, time(draw(st.integers(0, 2))), time(draw(st.integers(3, 23)))) for day in range(7)
    )
    start = change + timedelta(minutes=draw(st.integers(-48 * 60, 48 * 60)))
    return WorkingTime(zone, windows), start


@settings(max_examples=200, deadline=None)
@given(case=around_a_dst_change(), a=durations, b=durations)
def test_dst_changes_keep_add_and_measure_exact(case: tuple[WorkingTime, datetime], a: timedelta, b: timedelta) -> None:
    calendar, start = case
    assert calendar.measure(start, calendar.add(start, a)) == a
    shorter, longer = sorted((a, b))
    assert calendar.add(start, shorter) <= calendar.add(start, longer)
