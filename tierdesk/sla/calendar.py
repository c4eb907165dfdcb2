"""Business time (`WorkingTime`): working windows per weekday in a time zone, minus holidays.

Pure functions over aware datetimes, with no database. The SLA engine stores due times
computed here, so "what breaches in the next hour" is an indexed query. Business time is
real elapsed time inside working windows: a window that spans a daylight-saving change
is an hour shorter or longer that day, exactly as the clock on the wall says.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_calendars

from tierdesk.core.errors import DomainError

# A calendar with no working time in this many days is a configuration error, not a wait.
SEARCH_LIMIT_DAYS = 400


@dataclass(frozen=True, order=True)
class WorkingWindow:
    """Work from `start` to `end` local time on `weekday` (Monday = 0). `end` may be 24:00."""

    weekday: int
    start: time
    end: time | None  # None means midnight at the end of the day

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise DomainError("A weekday is 0 (Monday) to 6 (Sunday).")
        if self.end is not None and self.end <= self.start:
            raise DomainError("A working window must end after it starts.")


@dataclass(frozen=True)
class WorkingTime:
    timezone: str
    windows: tuple[WorkingWindow, ...] = ()
    holidays: frozenset[date] = field(default_factory=frozenset)
    always_open: bool = False  # the 24x7 calendar

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def _day_intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        """The working intervals of one local day, in UTC, in order."""
        if self.always_open:
            windows: Iterable[tuple[time, time | None]] = [(time(0), None)]
        elif day in self.holidays:
            return
        else:
            windows = sorted((w.start, w.end) for w in self.windows if w.weekday == day.weekday())
        zone = self.zone
        for start, end in windows:
            local_start = datetime.combine(day, start, tzinfo=zone)
            local_end = datetime.combine(day + timedelta(days=1) if end is None else day, end or time(0), tzinfo=zone)
            utc_start, utc_end = local_start.astimezone(UTC), local_end.astimezone(UTC)
            if utc_end > utc_start:
                yield utc_start, utc_end

    def intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working intervals from `start` onwards (the first one clipped to it), in UTC."""
        start = _aware(start).astimezone(UTC)
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        idle_days = 0
        last_end = start
        while idle_days <= SEARCH_LIMIT_DAYS:
            found = False
            for lo, hi in self._day_intervals(day):
                lo = max(lo, last_end)  # windows never overlap or go backwards
                if hi > lo:
                    found = True
                    last_end = hi
                    yield lo, hi
            idle_days = 0 if found else idle_days + 1
            day += timedelta(days=1)
        raise DomainError(f"Calendar {self.timezone} has no working time in {SEARCH_LIMIT_DAYS} days.")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment `duration` of business time after `start`."""
        if duration < timedelta(0):
            raise DomainError("Business time cannot be negative.")
        remaining = duration
        for lo, hi in self.intervals(start):
            if hi - lo >= remaining:
                return lo + remaining
            remaining -= hi - lo
        raise AssertionError("intervals() never ends without raising")

    def measure(self, start: datetime, end: datetime) -> timedelta:
        """Business time between two moments (zero if `end` is not after `start`)."""
        end = _aware(end).astimezone(UTC)
        total = timedelta(0)
        if end <= _aware(start):
            return total
        for lo, hi in self.intervals(start):
            if lo >= end:
                break
            total += min(hi, end) - lo
        return total


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise DomainError("Business time needs aware datetimes.")
    return moment


def public_holidays(country: str, years: Iterable[int], subdivision: str | None = None) -> frozenset[date]:
    """Public holidays from the `holidays` package, e.g. ("GB", years, "ENG") or ("US", years, "NY")."""
    return _public_holidays(country, tuple(sorted(set(years))), subdivision)


@functools.lru_cache(maxsize=256)
def _public_holidays(country: str, years: tuple[int, ...], subdivision: str | None) -> frozenset[date]:
    # Every clock recompute needs them; computing a country's year costs about a millisecond.
    try:
        calendar = holiday_calendars.country_holidays(country, subdiv=subdivision, years=list(years))
    except NotImplementedError as exc:
        raise DomainError(f"No holiday calendar for {country}{'/' + subdivision if subdivision else ''}.") from exc
    return frozenset(calendar.keys())


def office_hours(
    timezone: str, start: time = time(8), end: time = time(18), weekdays: Iterable[int] = range(5)
) -> tuple[WorkingWindow, ...]:
    return tuple(WorkingWindow(day, start, end) for day in weekdays)
