"""Routing figures: decisions and auto-assignments per second, 500 agents, 50 groups, 10,000 open tickets.

The desk is written in bulk (agents, profiles, skills, training, shifts, groups, memberships and
tickets with `bulk_create`: valid rows, but no timeline or audit); the configuration a desk sets up
by hand (routing table, classification rules, the regulated scope, the shift calendar, skills) goes
through the services. Then two figures:

- decisions: `entry_group(ticket)`, `_candidates(group, ticket)` and `choose(...)` for queued tickets
  (loaded beforehand with their organisation, category and requester, as a caller would have
  them): what routing decides, without writing;
- `auto_assign(ticket_id)`: the whole assignment, with its lock, eligibility checks, the ticket
  update (field history, timeline, audit event), and what runs after commit.
"""

from __future__ import annotations

import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import time as clock_time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from benchmarks.seed import World
    from tierdesk.accounts.models import SupportGroup
    from tierdesk.tickets.models import Ticket

AGENTS = 500
GROUPS = 50  # 20 at Tier 1, 20 at Tier 2, 10 at Tier 3
SECOND_GROUP = 100  # agents who also work in a second group
OPEN_TICKETS = 10_000
QUEUED = 2_500  # of the open tickets, unassigned in their group's queue; the rest are assigned
EXTRA_CLIENTS = 7  # besides the world's three; the first of them is the regulated one
REQUESTERS_PER_EXTRA_CLIENT = 50
SKILLS = 20
DECISIONS = 2_000
ASSIGNMENTS = 1_000
WARMUP = 20
TIME_BUDGET_S = 30.0  # per figure: a slow run reports fewer samples instead of running for ever
FIRST_NUMBER = 7_000_001  # INC7000001...: clear of the numbers seed.py, the API and sla.py hand out
STRATEGIES = ["round_robin", "least_loaded", "skills"]
OPEN_STATUSES = ["assigned", "in_progress", "in_progress", "pending_customer", "pending_vendor"]
LEVELS = ["high", "medium", "medium", "low"]


@dataclass(frozen=True)
class Desk:
    groups: list[SupportGroup]
    queued: list[int]  # ticket ids waiting in a group's queue
    entries: int
    rules: int
    memberships: int
    capped: int  # agents with a capacity
    trained: int  # agents with current HIPAA training
    on_shift_calendar: int


def report(world: World) -> None:
    from django.db import connection

    print(
        f"\nRouting: {AGENTS} agents, {GROUPS} support groups, {OPEN_TICKETS:,} open tickets "
        f"({QUEUED:,} of them queued unassigned)",
        flush=True,
    )
    t0 = time.perf_counter()
    desk = _build(world)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would
    print(
        f"  built in {time.perf_counter() - t0:.1f} s: {desk.memberships} memberships, {desk.capped} agents with a "
        f"capacity, {desk.trained} with current HIPAA training, {desk.on_shift_calendar} on a shift calendar; "
        f"{desk.entries} routing entries, {desk.rules} classification rules, one regulated client (HIPAA)",
        flush=True,
    )
    _decisions(desk)
    _assignments(desk)


# --- the desk -------------------------------------------------------------------------------------


def _build(world: World) -> Desk:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from tierdesk.accounts import services as accounts
    from tierdesk.accounts.models import (
        AgentProfile,
        GroupMembership,
        Requester,
        SupportGroup,
        TrainingRecord,
        User,
    )
    from tierdesk.core import clock
    from tierdesk.core.actor import Actor
    from tierdesk.routing import services as routing
    from tierdesk.routing.models import AgentShift
    from tierdesk.sla import services as sla
    from tierdesk.tenancy import services as tenancy
    from tierdesk.tickets.models import Category, Ticket
    from tierdesk.tickets.services import DEFAULT_PRIORITY_MATRIX

    rng = random.Random(2026)
    system = Actor.system(via="command")
    provider = world.provider
    today = clock.now().date()
    with transaction.atomic():
        extra = [
            tenancy.create_organisation(
                actor=system,
                name="Riverside Clinic" if i == 0 else f"Routing client {i}",
                slug=f"routing-client-{i}",
                provider=provider,
                has_regulated_systems=i == 0,
            )
            for i in range(EXTRA_CLIENTS)
        ]
        clinic, clients = extra[0], [*world.clients, *extra]
        requesters = {org.pk: [r.pk for r in world.requesters[org.pk]] for org in world.clients}
        for org in extra:
            people = Requester.objects.bulk_create(
                Requester(
                    organisation=org,
                    name=f"Person {i}",
                    email=f"person{i}@{org.slug}.example",
                    language=rng.choice(["en", "en", "en", "de", "fr"]),
                )
                for i in range(REQUESTERS_PER_EXTRA_CLIENT)
            )
            requesters[org.pk] = [r.pk for r in people]
        skills = [accounts.create_skill(actor=system, provider=provider, name=f"Skill {i}") for i in range(SKILLS)]
        around_the_clock = sla.create_calendar(
            actor=system,
            provider=provider,
            name="Around the clock (shift agents)",
            timezone="Europe/London",
            hours=[(day, clock_time(0), None) for day in range(7)],
        )

        # Agents: 85 % available; 30 % with a capacity (some of whom are full); skills, languages, training.
        unusable = make_password(None)
        agents = User.objects.bulk_create(
            User(
                email=f"routing-agent{i}@bench.example",
                full_name=f"Routing Agent {i}",
                organisation=provider,
                role="agent",
                password=unusable,
            )
            for i in range(AGENTS)
        )
        profiles = AgentProfile.objects.bulk_create(
            AgentProfile(
                user=agent,
                availability=rng.choices(["available", "away", "off"], [85, 10, 5])[0],
                capacity=rng.choice([8, 10, 12, 15, 20]) if rng.random() < 0.3 else None,
                languages=sorted({"en", *rng.sample(["de", "fr", "es", "nl"], rng.choice([0, 0, 1, 2]))}),
            )
            for agent in agents
        )
        agent_skills: dict[int, set[int]] = {}
        through = AgentProfile.skills.through
        for profile in profiles:
            agent_skills[profile.user_id] = {s.pk for s in rng.sample(skills, rng.choice([0, 1, 2, 3]))}
        through.objects.bulk_create(
            through(agentprofile_id=p.pk, skill_id=skill_id) for p in profiles for skill_id in agent_skills[p.user_id]
        )
        training = []
        for agent in agents:
            draw = rng.random()
            if draw < 0.05:  # expired last month
                training.append(
                    TrainingRecord(
                        agent=agent,
                        regime="hipaa",
                        completed_on=today - timedelta(days=400),
                        expires_on=today - timedelta(days=35),
                    )
                )
            elif draw < 0.45:
                training.append(
                    TrainingRecord(
                        agent=agent,
                        regime="hipaa",
                        completed_on=today - timedelta(days=100),
                        expires_on=today + timedelta(days=265),
                    )
                )
        TrainingRecord.objects.bulk_create(training)
        shifted = rng.sample(agents, AGENTS // 10)
        AgentShift.objects.bulk_create(AgentShift(agent=agent, calendar=around_the_clock) for agent in shifted)

        # Groups: all three automatic strategies, every client served; ten agents each, some in two groups.
        tiers = [1] * 20 + [2] * 20 + [3] * 10
        groups = SupportGroup.objects.bulk_create(
            SupportGroup(
                organisation=provider,
                name=f"Routing T{tier} desk {i}",
                tier=tier,
                assignment_strategy=STRATEGIES[i % len(STRATEGIES)],
            )
            for i, tier in enumerate(tiers)
        )
        serves = SupportGroup.serves.through
        serves.objects.bulk_create(serves(supportgroup_id=g.pk, organisation_id=c.pk) for g in groups for c in clients)
        members: dict[int, list[int]] = defaultdict(list)
        for i, agent in enumerate(agents):
            members[groups[i % GROUPS].pk].append(agent.pk)
        for agent in rng.sample(agents, SECOND_GROUP):
            group = rng.choice([g for g in groups if agent.pk not in members[g.pk]])
            members[group.pk].append(agent.pk)
        memberships = GroupMembership.objects.bulk_create(
            GroupMembership(group_id=group_id, agent_id=agent_id, is_lead=n == 0)
            for group_id, agent_ids in members.items()
            for n, agent_id in enumerate(agent_ids)
        )

        # The routing table: anything, each area, some sub-categories, and clients with their own desks.
        categories = {c.path: c for c in Category.objects.all()}
        roots = [c for c in categories.values() if c.parent_id is None]
        leaves = [c for c in categories.values() if c.parent_id is not None]
        tier1, tier2, tier3 = groups[:20], groups[20:40], groups[40:]
        table: list[tuple[SupportGroup, Any, Any]] = [(tier1[0], None, None)]
        table += [(tier1[1 + i], root, None) for i, root in enumerate(roots)]  # 5 areas
        table += [(tier1[6 + i % 10], leaf, None) for i, leaf in enumerate(rng.sample(leaves, 14))]
        table += [(tier2[i], root, None) for i, root in enumerate(roots)]
        table += [(tier2[5 + i], leaf, None) for i, leaf in enumerate(rng.sample(leaves, 6))]
        table += [(tier3[i], root, None) for i, root in enumerate(roots)]
        table += [(tier1[16], None, clinic), (tier1[17], categories["Software / Business application"], clinic)]
        table += [(tier1[18 + i % 2], rng.choice(roots), client) for i, client in enumerate(extra[1:])]
        table += [(tier2[11 + i], None, client) for i, client in enumerate(extra[1:4])]
        for group, category, client in table:
            routing.create_routing_entry(
                actor=system, provider=provider, support_group=group, category=category, client=client
            )
        rules: list[dict[str, Any]] = [
            dict(name="Network words", order=10, keywords="vpn, wifi, network", set_category=categories["Network"]),
            dict(name="Printers", order=20, keywords="printer, toner", set_category=categories["Hardware / Printer"]),
            dict(
                name="Outages are urgent", order=30, pattern=r"\b(cannot|can't) (connect|log ?in)\b", set_urgency="high"
            ),
            dict(name="Phishing", order=40, keywords="phishing, suspicious mail", set_skills=skills[:1]),
            dict(name="Clinic EHR", order=50, keywords="ehr, epic", client=clinic, set_skills=skills[1:2], stop=True),
            dict(name="Password resets", order=60, keywords="password", set_impact="low"),
        ]
        for rule in rules:
            routing.create_classification_rule(actor=system, provider=provider, **rule)
        routing.create_regulated_scope(actor=system, client=clinic, regime="hipaa")  # every category

        # Open tickets: three quarters assigned to a member of the group the table names, a quarter queued.
        placed: dict[tuple[int, int | None], SupportGroup] = {}
        choices = [*leaves, *roots, None]
        tickets: list[Ticket] = []
        skilled: list[tuple[int, int]] = []  # (ticket index, skill id) of queued tickets needing a skill
        now = clock.now()
        for n in range(OPEN_TICKETS):
            org = rng.choices(clients, [3 if org is clinic else 1 for org in clients])[0]
            category = rng.choice(choices)
            key = (org.pk, category.pk if category else None)
            if key not in placed:
                named = routing.entry_group(Ticket(organisation=org, category=category))
                assert named is not None, "the table has a catch-all entry"
                placed[key] = named
            group = placed[key]
            queued = n % (OPEN_TICKETS // QUEUED) == 0
            impact, urgency = rng.choice(LEVELS), rng.choice(LEVELS)
            created = now - timedelta(minutes=rng.uniform(5, 14 * 24 * 60))
            ticket = Ticket(
                organisation=org,
                number=f"INC{FIRST_NUMBER + n}",
                title="Cannot log in to the EHR" if org is clinic else "Laptop does not start after the update",
                requester_id=rng.choice(requesters[org.pk]),
                channel=rng.choice(["email", "portal", "phone"]),
                category=category,
                impact=impact,
                urgency=urgency,
                priority=DEFAULT_PRIORITY_MATRIX[(impact, urgency)],
                status="new" if queued else rng.choice(OPEN_STATUSES),
                tier=group.tier,
                support_group=group,
                assignee_id=None if queued else rng.choice(members[group.pk]),
                created_at=created,
                updated_at=created,
            )
            tickets.append(ticket)
            if queued and group.assignment_strategy == "skills" and rng.random() < 0.4:
                held: set[int] = set().union(*(agent_skills[a] for a in members[group.pk]))
                # Mostly a skill someone in the group has; now and then one nobody has (the ticket waits).
                pool = sorted(held) if held and rng.random() < 0.9 else [s.pk for s in skills]
                skilled.append((n, rng.choice(pool)))
        made = Ticket.objects.bulk_create(tickets, batch_size=2000)
        required = Ticket.required_skills.through
        required.objects.bulk_create(required(ticket_id=made[n].pk, skill_id=skill_id) for n, skill_id in skilled)
    queued_ids = [t.pk for t in made if t.assignee_id is None]
    return Desk(
        groups=groups,
        queued=queued_ids,
        entries=len(table),
        rules=len(rules),
        memberships=len(memberships),
        capped=sum(1 for p in profiles if p.capacity is not None),
        trained=sum(1 for r in training if r.expires_on >= today),
        on_shift_calendar=len(shifted),
    )


# --- the figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    samples: list[float]  # seconds per call
    queries: int  # over all timed calls
    results: list[Any]

    @property
    def rate(self) -> float:
        return len(self.samples) / sum(self.samples)

    def ms(self, q: float) -> float:
        ordered = sorted(self.samples)
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    def line(self, unit: str) -> str:
        n = len(self.samples)
        return (
            f"{self.rate:,.0f} {unit}/s, p50 {self.ms(0.5):.2f} ms, p95 {self.ms(0.95):.2f} ms, "
            f"mean {1000 * statistics.fmean(self.samples):.2f} ms, {self.queries / n:.1f} queries each ({n:,} timed)"
        )


def _run(call: Callable[[Any], Any], items: list[Any], limit: int) -> Run:
    from django.db import connection

    queries = 0

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        nonlocal queries
        queries += 1
        return execute(sql, params, many, context)

    samples: list[float] = []
    results: list[Any] = []
    deadline = time.perf_counter() + TIME_BUDGET_S
    with connection.execute_wrapper(count):
        for item in items[:limit]:
            start = time.perf_counter()
            results.append(call(item))
            samples.append(time.perf_counter() - start)
            if time.perf_counter() > deadline:
                break
    return Run(samples, queries, results)


def _decisions(desk: Desk) -> None:
    from tierdesk.routing import services as routing
    from tierdesk.tickets.models import Ticket

    sample = random.Random(7).sample(desk.queued, min(DECISIONS + WARMUP, len(desk.queued)))
    loaded = {
        t.pk: t for t in Ticket.objects.filter(pk__in=sample).select_related("organisation", "category", "requester")
    }
    tickets = [loaded[pk] for pk in sample]

    def decide(ticket: Ticket) -> tuple[str, int, bool]:
        group = routing.entry_group(ticket)
        assert group is not None
        candidates, _ = routing._candidates(group, ticket)
        chosen = routing.choose(group.assignment_strategy, candidates)
        return group.assignment_strategy, len(candidates), chosen is not None

    for ticket in tickets[:WARMUP]:
        decide(ticket)
    run = _run(decide, tickets[WARMUP:], DECISIONS)
    by_strategy = Counter(strategy for strategy, _, _ in run.results)
    chosen = sum(1 for _, _, found in run.results if found)
    eligible = statistics.fmean(n for _, n, _ in run.results)
    print("\n  decisions: entry_group + _candidates + choose, no writes", flush=True)
    print(f"    {run.line('decisions')}")
    print(
        f"    {chosen:,} found an agent, {len(run.results) - chosen:,} nobody eligible; {eligible:.1f} eligible "
        f"candidates on average; by strategy: " + ", ".join(f"{s} {n:,}" for s, n in sorted(by_strategy.items()))
    )


def _assignments(desk: Desk) -> None:
    from tierdesk.audit.models import AuditEvent
    from tierdesk.routing import services as routing
    from tierdesk.tickets.models import FieldChange, TimelineEntry

    order = list(desk.queued)
    random.Random(11).shuffle(order)  # queued tickets of every group, interleaved
    for ticket_id in order[:WARMUP]:
        routing.auto_assign(ticket_id)

    def written() -> tuple[int, int, int]:
        return TimelineEntry.objects.count(), FieldChange.objects.count(), AuditEvent.objects.count()

    before = written()
    run = _run(lambda ticket_id: routing.auto_assign(ticket_id).agent is not None, order[WARMUP:], ASSIGNMENTS)
    after = written()
    assigned = sum(run.results)
    print("\n  auto_assign(ticket_id): lock, checks, choice, ticket update with history and audit, after-commit work")
    print(f"    {run.line('assignments')}")
    print(
        f"    {assigned:,} assigned, {len(run.results) - assigned:,} left waiting (nobody eligible, the leads told); "
        f"written: {after[0] - before[0]:,} timeline entries, {after[1] - before[1]:,} field changes, "
        f"{after[2] - before[2]:,} audit events",
        flush=True,
    )
