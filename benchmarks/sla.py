"""SLA engine figures: business-time arithmetic, clock readings, and one sweep over 1,000,000 open clocks.

The arithmetic is pure Python and the same whatever the database, so it is measured once, in the
SQLite process. The sweep's clocks are written with one `INSERT ... SELECT` per table (generated
rows: no field history, timeline or audit), except for the tickets whose warning or breach is due:
the sweep recomputes those from their field history, so they get a real one and clocks computed
by the engine.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from benchmarks.seed import World
    from tierdesk.sla.models import SlaPolicy

LONDON = ZoneInfo("Europe/London")
# The sweep's moment is fixed, not the wall clock, so that the due tickets' working day below is
# the same on every run: a Wednesday afternoon, no public holiday, 16:00 in London.
NOW = datetime(2026, 12, 2, 16, 0, tzinfo=LONDON)
TICKETS = 200_000  # five clocks each
DUE_BREACHES = DUE_WARNINGS = 50
FIND_RUNS = 20
ARITHMETIC_ROUNDS = 3  # the median round is printed
ADDS, READINGS = 20_000, 5_000  # per round
FIRST_NUMBER = 5_000_001  # INC5000001...: clear of the numbers seed.py and the API hand out
WEEK = 7 * 86400
# (kind, owner, business minutes for any priority, warning thresholds); P1 gets tighter times.
TARGETS: list[tuple[str, str, int, list[int]]] = [
    ("first_response", "Service Desk", 60, [75]),
    ("resolution", "Service Desk", 16 * 60, [75, 90]),
    ("tier_1", "Tier 1", 2 * 60, [75]),
    ("tier_2", "Tier 2", 8 * 60, [75]),
    ("vendor", "Vendor", 4 * 60, [75]),
]
P1_TARGETS: list[tuple[str, int, list[int]]] = [("first_response", 30, [75]), ("resolution", 4 * 60, [75, 90])]


def report(world: World) -> None:
    """Print the SLA figures; run last, as it gives the world an SLA policy and a million clocks."""
    from django.db import connection

    if connection.vendor == "sqlite":
        _arithmetic()
    _sweep(world)


# --- pure Python: due times and clock readings -------------------------------------------------


def _rate(label: str, call: Callable[[], int]) -> None:
    """Run `call` (it returns how many computations it made) a few times; print the median rate."""
    call()  # warm-up: holiday tables, zoneinfo caches
    rates = []
    for _ in range(ARITHMETIC_ROUNDS):
        start = time.perf_counter()
        done = call()
        rates.append(done / (time.perf_counter() - start))
    rate = statistics.median(rates)
    print(f"  {label:<60} {rate:>10,.0f} /s {1e6 / rate:>8.1f} µs each", flush=True)


def _arithmetic() -> None:
    from tierdesk.sla.calendar import WorkingTime, office_hours, public_holidays
    from tierdesk.sla.clocks import ClockRule, TicketEvent, read_clock
    from tierdesk.sla.services import CANCELLED, DEFAULT_PAUSE, STOPPED

    rng = random.Random(2026)
    years = range(2026, 2029)  # starts in 2026-2027; five business days may run into the next year
    working = WorkingTime("Europe/London", office_hours("Europe/London"), public_holidays("GB", years, "ENG"))
    first = datetime(2026, 1, 1, tzinfo=LONDON).timestamp()
    span = datetime(2028, 1, 1, tzinfo=LONDON).timestamp() - first

    def moment() -> datetime:
        return datetime.fromtimestamp(first + rng.uniform(0, span), LONDON)

    # Any moment of the day or week (nights, weekends, holidays too), 15 minutes to 5 business days.
    adds = [(moment(), timedelta(minutes=rng.uniform(15, 5 * 10 * 60))) for _ in range(ADDS)]

    def add_all() -> int:
        for start, duration in adds:
            working.add(start, duration)
        return len(adds)

    # The resolution clock as the engine builds it, over an open ticket's day or two:
    # opened, assigned, in progress, pending the customer, back in progress, escalated to Tier 2.
    rule = ClockRule(timedelta(hours=16), frozenset(DEFAULT_PAUSE), STOPPED, CANCELLED)
    histories: list[tuple[list[TicketEvent], datetime]] = []
    for _ in range(READINGS):
        at = moment()
        events = []
        for status, tier in [
            ("new", 1),
            ("assigned", 1),
            ("in_progress", 1),
            ("pending_customer", 1),
            ("in_progress", 1),
            ("in_progress", 2),
        ]:
            events.append(TicketEvent(at, status, tier))
            at += timedelta(minutes=rng.uniform(5, 8 * 60))
        histories.append((events, at))

    def read_all() -> int:
        for events, now in histories:
            read_clock(rule, working, events, now)
        return len(histories)

    print(
        "\nSLA arithmetic (pure Python, measured once, in the SQLite process; Europe/London, Mon-Fri 08:00-18:00, "
        "GB/ENG holidays)"
    )
    _rate("WorkingTime.add (15 min to 5 business days, any start)", add_all)
    _rate("read_clock (resolution clock, 6 events, pauses, a tier change)", read_all)


# --- the sweep over many open clocks -----------------------------------------------------------


def _series(count: int) -> str:
    """A table `s` with one column `n` = 1..count."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"generate_series(1, {count}) AS s(n)"
    return f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) SELECT n FROM s) AS s"


def _moment(seconds: str) -> str:
    """SQL for NOW plus an integer expression of seconds, as the backend stores a datetime."""
    from django.db import connection

    epoch = int(NOW.timestamp())
    if connection.vendor == "postgresql":
        return f"to_timestamp({epoch} + ({seconds}))"
    return f"datetime({epoch} + ({seconds}), 'unixepoch')"  # Django's SQLite format: UTC, no zone


def _spread(expr: str, salt: int, modulo: int) -> str:
    """A deterministic, well-spread pseudo-random 0..modulo-1 from an integer expression."""
    return f"(((({expr}) + {salt}) * 2654435761) % {modulo})"


def _policy(world: World) -> SlaPolicy:
    from tierdesk.core.actor import Actor
    from tierdesk.sla import services
    from tierdesk.sla.calendar import office_hours

    system = Actor.system(via="command")
    calendar = services.create_calendar(
        actor=system,
        provider=world.provider,
        name="London office hours",
        timezone="Europe/London",
        hours=[(w.weekday, w.start, w.end) for w in office_hours("Europe/London")],
        holiday_country="GB",
        holiday_subdivision="ENG",
    )
    targets: list[tuple[str, int | None, int, list[int]]] = [
        (kind, None, minutes, warn) for kind, _, minutes, warn in TARGETS
    ]
    targets += [(kind, 1, minutes, warn) for kind, minutes, warn in P1_TARGETS]
    policy = services.create_policy(
        actor=system, provider=world.provider, name="Standard", calendar=calendar, targets=targets
    )
    # What a desk typically sets up, so the sweep does what it would do there: tell the
    # assignee of a resolution warning and the group lead of a breach.
    for target in policy.targets.filter(kind="resolution"):
        services.add_action(actor=system, target=target, trigger="warning", action="notify_assignee")
        services.add_action(actor=system, target=target, trigger="breach", action="notify_group_lead")
    return policy


def _insert_tickets(world: World, count: int) -> None:
    """`count` open incidents, opened 1 hour to 4 weeks before NOW, spread over the three clients."""
    from django.db import connection

    orgs = [org.pk for org in world.clients]
    requesters = [world.requesters[org][0].pk for org in orgs]
    opened = _moment(f"-3600 - {_spread('n', 1, 4 * WEEK)}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO tickets_ticket (created_at, updated_at, organisation_id, requester_id, number, ticket_type,
                title, description, channel, impact, urgency, priority, status, tier, support_group_id, version,
                resolution_code, resolution_notes, reopen_count, resolved_on_first_contact)
            SELECT {opened}, {opened},
                CASE n % 3 WHEN 0 THEN {orgs[0]} WHEN 1 THEN {orgs[1]} ELSE {orgs[2]} END,
                CASE n % 3 WHEN 0 THEN {requesters[0]} WHEN 1 THEN {requesters[1]} ELSE {requesters[2]} END,
                'INC' || ({FIRST_NUMBER - 1} + n), 'incident', 'Laptop does not start after the update', '',
                'email', 'medium', 'medium', 3, 'in_progress', 1, {world.group.pk}, 1, '', '', 0, FALSE
            FROM {_series(count)}
            """
        )


def _insert_clocks(policy: SlaPolicy, after_ticket: int) -> None:
    """Five clocks for each ticket with a larger id than `after_ticket`, none of them due at NOW.

    94 % running, due 1 hour to 4 weeks after NOW, nine in ten with a 75 % warning before that;
    3 % paused; 3 % breached earlier with the breach already raised (an open ticket past its due
    time stays so until it is resolved, and stays inside the range that the breach query reads).
    """
    from django.db import connection

    kinds = " UNION ALL ".join(
        f"SELECT {i} AS i, '{kind}' AS kind, '{owner}' AS owner, {minutes * 60} AS target"
        for i, (kind, owner, minutes, _) in enumerate(TARGETS)
    )
    clock_n = f"t.id * {len(TARGETS)} + k.i"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO sla_slaclock (created_at, updated_at, computed_at, organisation_id, ticket_id, policy_id,
                kind, owner, state, target_seconds, elapsed_seconds, due_at, stopped_at, next_warning_at,
                next_warning_percent, warned_percent, breach_raised)
            SELECT opened, opened, opened, organisation_id, ticket_id, {policy.pk}, kind, owner,
                CASE WHEN h < 3 THEN 'breached' WHEN h < 6 THEN 'paused' ELSE 'running' END,
                target, r % target,
                CASE WHEN h < 3 THEN {_moment("-3600 - r * 3 / 4")} WHEN h < 6 THEN NULL ELSE {_moment("3600 + r")} END,
                NULL,
                CASE WHEN h < 6 OR h % 10 = 0 THEN NULL ELSE {_moment("1800 + r * 3 / 4")} END,
                CASE WHEN h < 6 OR h % 10 = 0 THEN NULL ELSE 75 END,
                CASE WHEN h < 3 THEN 90 ELSE 0 END,
                h < 3
            FROM (
                SELECT t.id AS ticket_id, t.organisation_id, t.created_at AS opened, k.kind, k.owner, k.target,
                    {_spread(clock_n, 2, 100)} AS h, {_spread(clock_n, 3, 4 * WEEK)} AS r
                FROM tickets_ticket AS t CROSS JOIN ({kinds}) AS k
                WHERE t.id > {after_ticket}
            ) AS c
            """
        )


# Minutes after opening of each change in a due ticket's history (a P1 at Tier 2, waiting twice).
HISTORY = [
    (10, "status", "new", "in_progress"),  # and the first reply
    (30, "status", "in_progress", "pending_customer"),
    (90, "status", "pending_customer", "in_progress"),
    (120, "tier", "1", "2"),
    (150, "status", "in_progress", "pending_vendor"),
    (210, "status", "pending_vendor", "in_progress"),
]


def _insert_due(world: World, first_number: int) -> None:
    """P1 tickets opened this morning whose resolution clock breaches or warns at NOW, nothing else due.

    A ticket opened `late` minutes after 08:00 has 360 - `late` business minutes on its resolution
    clock at 16:00 (the two waits are paused), so 0-98 breach the 4-hour target and 145-179 lie
    between its 75 % and 90 % warnings; its other four clocks are met, paused or far from due.
    """
    from tierdesk.sla import services
    from tierdesk.tickets.models import FieldChange, Ticket

    org = world.clients[0]
    requester = world.requesters[org.pk][0]
    late = [2.0 * i for i in range(DUE_BREACHES)] + [145 + 34 * i / (DUE_WARNINGS - 1) for i in range(DUE_WARNINGS)]
    opened = [NOW.replace(hour=8) + timedelta(minutes=m) for m in late]
    tickets = Ticket.objects.bulk_create(
        Ticket(
            organisation=org,
            number=f"INC{first_number + i}",
            title="Payroll system down for the whole finance team",
            requester=requester,
            channel="phone",
            impact="high",
            urgency="high",
            priority=1,
            status="in_progress",
            tier=2,
            support_group=world.group,
            assignee=world.agent,
            first_response_at=at + timedelta(minutes=10),
            created_at=at,
            updated_at=at + timedelta(minutes=HISTORY[-1][0]),
        )
        for i, at in enumerate(opened)
    )
    FieldChange.objects.bulk_create(
        FieldChange(
            organisation=org,
            ticket=ticket,
            actor=world.agent,
            actor_label=str(world.agent),
            field=field,
            old_value=old,
            new_value=new,
            created_at=ticket.created_at + timedelta(minutes=minutes),
        )
        for ticket in tickets
        for minutes, field, old, new in HISTORY
    )
    for ticket in tickets:
        services.recompute_clocks(ticket.pk, now=NOW)


def _plan(queryset: Any) -> list[str]:
    """The query plan, cut to its nodes and what they read (PostgreSQL: as run, with actual rows)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return [line.split(" ", 3)[-1] for line in queryset.explain().splitlines()]  # "id parent 0 detail"
    keep = ("->", "Rows Removed", "Heap Blocks", "Execution Time")
    lines = queryset.explain(analyze=True).splitlines()
    return [
        re.sub(r"  \(cost=[^)]*\)", "", line) for i, line in enumerate(lines) if i == 0 or line.strip().startswith(keep)
    ]


@contextmanager
def _timed(module: Any, name: str, spent: list[float]) -> Iterator[None]:
    """Add the time of every call of `module.name` to `spent` (its callers look it up at call time)."""
    original = getattr(module, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - start)

    setattr(module, name, timed)
    try:
        yield
    finally:
        setattr(module, name, original)


def _sweep(world: World) -> None:
    from django.db import connection
    from django.db.models import Count

    from benchmarks.run_backend import _time
    from tierdesk.sla import services
    from tierdesk.sla.models import SlaClock
    from tierdesk.tickets.models import Ticket

    clocks = TICKETS * len(TARGETS)
    print(
        f"\nSLA sweep over {clocks:,} open clocks ({TICKETS:,} open tickets x {len(TARGETS)} clocks), "
        f"at {NOW:%a %d %b %Y %H:%M} London",
        flush=True,
    )
    t0 = time.perf_counter()
    policy = _policy(world)
    last_ticket = Ticket.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    _insert_tickets(world, TICKETS - DUE_BREACHES - DUE_WARNINGS)
    t1 = time.perf_counter()
    _insert_clocks(policy, last_ticket)
    t2 = time.perf_counter()
    _insert_due(world, FIRST_NUMBER + TICKETS)
    t3 = time.perf_counter()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE tickets_ticket, sla_slaclock")  # as autovacuum would
        else:
            # No ANALYZE, as in production; but write back the WAL the bulk insert left behind,
            # which a desk in its steady state does not have and the sweep's commits would pay for.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    t4 = time.perf_counter()
    stored = SlaClock.objects.count()
    after = "ANALYZE" if connection.vendor == "postgresql" else "WAL checkpoint"
    print(
        f"  built in {t4 - t0:.1f} s: {TICKETS - DUE_BREACHES - DUE_WARNINGS:,} tickets {t1 - t0:.1f} s, "
        f"their clocks {t2 - t1:.1f} s, {DUE_BREACHES + DUE_WARNINGS} due tickets with history {t3 - t2:.1f} s, "
        f"{after} {t4 - t3:.1f} s"
    )
    states = dict(SlaClock.objects.order_by().values_list("state").annotate(n=Count("pk")))
    print(f"  {stored:,} clocks: " + ", ".join(f"{state} {n:,}" for state, n in sorted(states.items())))

    find = SlaClock.objects.due_for_sweep(NOW).values_list("pk", flat=True)[:500]  # as sweep() asks
    timing = _time(lambda: list(find.all()), len, FIND_RUNS)  # .all(): a fresh query each time
    print(
        f"  find query, due_for_sweep(now)[:500]: median {timing.ms(0.5):.1f} ms, "
        f"worst {1000 * max(timing.samples):.1f} ms ({len(timing.samples)} runs after warm-up, {timing.rows} rows)"
    )
    print("  plan:")
    for line in _plan(find):
        print(f"    {line}")

    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    raising: list[float] = []
    recomputing: list[float] = []
    with (
        connection.execute_wrapper(count),
        _timed(services, "_raise_due", raising),
        _timed(services, "recompute_clocks", recomputing),
    ):
        start = time.perf_counter()
        result = services.sweep(now=NOW)
        elapsed = time.perf_counter() - start
    raised = max(result.breaches + result.warnings, 1)
    left = SlaClock.objects.due_for_sweep(NOW).count()
    print(
        f"  one sweep: {elapsed:.2f} s for {result.breaches} breaches + {result.warnings} warnings "
        f"({1000 * elapsed / raised:.1f} ms and {queries / raised:.0f} queries each; target: under 1 s)\n"
        f"    finding {elapsed - sum(raising):.2f} s, raising (event, timeline, audit, actions, notification) "
        f"{sum(raising) - sum(recomputing):.2f} s, recomputing the ticket's clocks {sum(recomputing):.2f} s; "
        f"{left} still due afterwards",
        flush=True,
    )
