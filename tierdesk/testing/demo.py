"""Demo data: an MSP with three clients, ~20 agents and 300 tickets of every kind.

Everything is created through the services, so the demo has real timelines, field
history and an intact audit chain. Deterministic (fixed seed) and idempotent.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction

from tierdesk.accounts import services as accounts
from tierdesk.accounts.choices import Role
from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.notifications import requester_mail
from tierdesk.routing import services as routing
from tierdesk.sla import services as sla
from tierdesk.sla.models import SlaPolicy
from tierdesk.tenancy import services as tenancy
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Organisation, Site
from tierdesk.testing.demo_selfservice import self_service
from tierdesk.tickets import services as tickets
from tierdesk.tickets.choices import Channel, Level, ResolutionCode, TicketStatus, TicketType
from tierdesk.tickets.models import Category, Ticket

PROVIDER_SLUG = "northwind"
DEMO_PASSWORD = "tierdesk-demo"

FIRST = [
    "Amira",
    "Ben",
    "Chloe",
    "Daniel",
    "Elena",
    "Farid",
    "Grace",
    "Hugo",
    "Ines",
    "Jonas",
    "Keiko",
    "Liam",
    "Maya",
    "Noah",
    "Olga",
    "Priya",
    "Quentin",
    "Rosa",
    "Samir",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Yusuf",
    "Zoe",
]
LAST = [
    "Adams",
    "Brown",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Jensen",
    "Khan",
    "Larsen",
    "Moreau",
    "Novak",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Silva",
    "Tanaka",
    "Usman",
    "Varga",
]

# (category path, ticket type, titles)
PROBLEMS: list[tuple[str, str, list[str]]] = [
    (
        "Hardware / Laptop",
        TicketType.INCIDENT,
        ["Laptop will not boot after update", "Laptop battery drains in an hour", "Keyboard keys stuck on laptop"],
    ),
    (
        "Hardware / Printer",
        TicketType.INCIDENT,
        ["Printer on floor 2 jams every page", "Cannot print to the ward printer", "Scanner sends blank PDFs"],
    ),
    (
        "Hardware / Monitor",
        TicketType.SERVICE_REQUEST,
        ["Request a second monitor", "Replacement monitor cable needed"],
    ),
    (
        "Software / E-mail client",
        TicketType.INCIDENT,
        [
            "Outlook keeps asking for password",
            "Shared mailbox not showing in Outlook",
            "Outlook search returns no results",
        ],
    ),
    (
        "Software / Installation request",
        TicketType.SERVICE_REQUEST,
        ["Install Adobe Acrobat Pro", "Need Visual Studio Code", "Install Figma desktop app"],
    ),
    (
        "Software / Business application",
        TicketType.INCIDENT,
        ["Core banking client times out", "PACS viewer crashes on large studies", "Timesheet app shows error 500"],
    ),
    ("Network / Wi-Fi", TicketType.INCIDENT, ["Wi-Fi drops in meeting room B", "Guest Wi-Fi portal not loading"]),
    ("Network / VPN", TicketType.INCIDENT, ["VPN disconnects every 10 minutes", "Cannot connect to VPN from home"]),
    ("Network / LAN / switching", TicketType.INCIDENT, ["Whole floor lost network", "Desk port dead in room 3.14"]),
    (
        "Accounts & access / Password reset",
        TicketType.SERVICE_REQUEST,
        ["Password reset please", "Forgot my password after holiday"],
    ),
    (
        "Accounts & access / Account lockout",
        TicketType.INCIDENT,
        ["Account locked out again", "Locked out after MFA change"],
    ),
    (
        "Accounts & access / Permissions",
        TicketType.SERVICE_REQUEST,
        ["Access to the finance share", "Need read access to patient scheduling"],
    ),
    (
        "Endpoint security / Phishing report",
        TicketType.INCIDENT,
        ["Suspicious e-mail asking for bank details", "Clicked a link in a phishing mail"],
    ),
    (
        "Endpoint security / Malware",
        TicketType.INCIDENT,
        ["Antivirus flagged a file on my PC", "Pop-ups keep appearing in the browser"],
    ),
]

CHANNELS = (
    [Channel.PORTAL] * 4 + [Channel.EMAIL] * 4 + [Channel.PHONE] * 3 + [Channel.CHAT, Channel.API, Channel.MONITORING]
)


@dataclass
class ClientSpec:
    name: str
    slug: str
    domain: str
    timezone: str
    regulated: bool
    sites: list[str]
    departments: list[str]
    people: int
    # The desk's address for this client (its mail comes from here); empty: the provider's.
    support_email: str = ""


CLIENTS = [
    ClientSpec(
        "St Anne's Hospital",
        "st-annes",
        "stannes.example",
        "Europe/London",
        True,
        ["Main Campus", "Riverside Clinic"],
        ["Emergency", "Radiology", "Pharmacy", "Administration"],
        40,
        "itsupport@stannes.example",
    ),
    ClientSpec(
        "Harbour Bank",
        "harbour-bank",
        "harbourbank.example",
        "America/New_York",
        False,
        ["Head Office", "Trading Floor", "Branch 12"],
        ["Retail Banking", "Treasury", "Compliance"],
        30,
        "servicedesk@harbourbank.example",
    ),
    ClientSpec(
        "Pixel & Pine Studio",
        "pixel-pine",
        "pixelpine.example",
        "Australia/Sydney",
        False,
        ["Studio"],
        ["Design", "Production", "Operations"],
        40,
    ),
]


@dataclass
class DemoResult:
    created: bool
    logins: list[tuple[str, str]] = field(default_factory=list)
    tickets: int = 0


def logins() -> list[tuple[str, str]]:
    return [
        ("admin", "admin@northwind.example"),
        ("supervisor", "supervisor@northwind.example"),
        ("tier 1 agent", "agent@northwind.example"),
        ("tier 2 agent (network)", "network@northwind.example"),
        ("requester (hospital)", "requester@stannes.example"),
        ("organisation manager (bank)", "manager@harbourbank.example"),
    ]


def load(progress: Callable[[str], None] = lambda _: None, ticket_count: int = 300) -> DemoResult:
    if Organisation.objects.filter(slug=PROVIDER_SLUG).exists():
        return DemoResult(created=False, logins=logins(), tickets=Ticket.objects.count())
    # The demo's 90 days of history are not news: nobody is mailed about them (only what people
    # do once it runs, written to var/mail/ without EMAIL_HOST).
    with requester_mail.silenced(), transaction.atomic():
        result = _build(progress, ticket_count)
    return result


def _build(progress: Callable[[str], None], ticket_count: int) -> DemoResult:
    rng = random.Random(2026)
    system = Actor.system(via="command")
    start = clock.now() - timedelta(days=90)
    password_hash = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 per user would take seconds

    with clock.frozen(start):
        provider = tenancy.create_organisation(
            actor=system,
            name="Northwind Managed IT",
            slug=PROVIDER_SLUG,
            kind=OrganisationKind.PROVIDER,
            email_domain="northwind.example",
            support_email="servicedesk@northwind.example",
            timezone="Europe/London",
        )
        clients: list[Organisation] = []
        requesters: dict[int, list[Requester]] = {}
        for spec in CLIENTS:
            org = tenancy.create_organisation(
                actor=system,
                name=spec.name,
                slug=spec.slug,
                provider=provider,
                email_domain=spec.domain,
                support_email=spec.support_email,
                timezone=spec.timezone,
                has_regulated_systems=spec.regulated,
            )
            sites = [
                tenancy.create_site(actor=system, organisation=org, name=s, timezone=spec.timezone) for s in spec.sites
            ]
            departments = [tenancy.create_department(actor=system, organisation=org, name=d) for d in spec.departments]
            people = []
            for i in range(spec.people):
                first, last = FIRST[(i * 7 + len(spec.slug)) % len(FIRST)], LAST[(i * 5 + len(spec.domain)) % len(LAST)]
                people.append(
                    accounts.create_requester(
                        actor=system,
                        organisation=org,
                        name=f"{first} {last}",
                        email=f"{first}.{last}{i}@{spec.domain}".lower(),
                        phone=f"+44 20 7946 {1000 + i:04d}",
                        site=sites[i % len(sites)],
                        department=departments[i % len(departments)],
                        timezone=spec.timezone,
                        is_vip=i == 0,
                    )
                )
            clients.append(org)
            requesters[org.pk] = people
        progress("organisations and requesters created")

        hospital, bank, studio = clients
        portal_requester = accounts.create_requester(
            actor=system,
            organisation=hospital,
            name="Rachel Requester",
            email="requester@stannes.example",
            site=hospital_site(hospital),
        )
        manager = accounts.create_requester(
            actor=system,
            organisation=bank,
            name="Martin Manager",
            email="manager@harbourbank.example",
            is_org_manager=True,
        )
        for person in (portal_requester, manager):
            accounts.create_requester_login(actor=system, requester=person, password=None)
        requesters[hospital.pk].append(portal_requester)
        requesters[bank.pk].append(manager)

        def agent(email: str, name: str, tier: int, role: str = Role.AGENT, title: str = "") -> User:
            return accounts.create_agent(
                actor=system,
                provider=provider,
                email=email,
                full_name=name,
                password=None,
                role=role,
                highest_tier=tier,
                title=title,
            )

        agent("admin@northwind.example", "Ada Admin", 3, Role.ADMIN, "Service desk administrator")
        agent("supervisor@northwind.example", "Sam Supervisor", 3, Role.SUPERVISOR, "Service desk manager")
        tier1 = [agent("agent@northwind.example", "Alex Agent", 1, title="Service desk analyst")]
        tier1 += [
            agent(f"t1.{n}@northwind.example", f"{FIRST[n]} {LAST[n + 3]}", 1, title="Service desk analyst")
            for n in range(1, 8)
        ]
        network = [agent("network@northwind.example", "Nina Network", 2, title="Network engineer")]
        network += [agent(f"net.{n}@northwind.example", f"{FIRST[n + 8]} {LAST[n + 10]}", 2) for n in range(1, 3)]
        endpoint = [agent(f"eu.{n}@northwind.example", f"{FIRST[n + 11]} {LAST[n + 12]}", 2) for n in range(3)]
        clinical = [agent(f"clin.{n}@northwind.example", f"{FIRST[n + 15]} {LAST[n + 15]}", 2) for n in range(2)]
        infra = [agent(f"infra.{n}@northwind.example", f"{FIRST[n + 18]} {LAST[n + 18]}", 3) for n in range(2)]
        vendor = [agent("support@medtech-vendor.example", "MedTech Vendor Desk", 4, title="Vendor contact")]
        User.objects.filter(organisation=provider).update(password=password_hash)
        User.objects.filter(pk__in=[portal_requester.user_id, manager.user_id]).update(password=password_hash)

        # (key, name, tier, served clients, members, vendor?)
        group_specs = [
            ("desk", "Service Desk", 1, clients, tier1, False),
            ("network", "Network", 2, clients, network, False),
            ("endpoint", "Endpoint & Applications", 2, [bank, studio], endpoint, False),
            ("clinical", "Clinical Systems", 2, [hospital], clinical, False),
            ("infra", "Infrastructure Engineering", 3, clients, infra, False),
            ("vendor", "MedTech Vendor Support", 4, [hospital], vendor, True),
        ]
        groups = {
            key: accounts.create_support_group(
                actor=system,
                provider=provider,
                name=name,
                tier=tier,
                serves=served,
                members=[(member, i == 0) for i, member in enumerate(members)],  # the first one leads
                is_vendor=is_vendor,
            )
            for key, name, tier, served, members, is_vendor in group_specs
        }
        progress(f"{User.objects.filter(organisation=provider).count()} agents in {len(groups)} support groups")
        _service_levels(system, provider, hospital)
        progress("SLA calendars and policies created")

    categories = {c.path: c for c in Category.objects.all()}
    members = {group.pk: list(group.members.all()) for group in groups.values()}  # read once, not per ticket
    for n in range(ticket_count):
        _demo_ticket(rng, n, clients, requesters, groups, members, categories)
        if (n + 1) % 50 == 0:
            progress(f"{n + 1} tickets")
    # After the historic tickets, so the demo's own assignments are not held to today's rules.
    _routing(system, provider, groups, categories)
    progress("routing rules, routing table and HIPAA training set")
    _operations(system, provider, groups, progress)
    self_service(system, provider, groups, progress)
    return DemoResult(created=True, logins=logins(), tickets=ticket_count)


def _operations(
    system: Actor, provider: Organisation, groups: dict[str, SupportGroup], progress: Callable[[str], None]
) -> None:
    """Mailboxes at the support addresses, a small CMDB, the NOC's declaration rules and a monitoring source."""
    from tierdesk.cmdb import services as cmdb
    from tierdesk.intake.alerts.services import create_alert_source
    from tierdesk.intake.mail.services import create_mailbox
    from tierdesk.major_incidents.services import create_declaration_rule

    hospital = Organisation.objects.get(slug="st-annes")
    clients = list(Organisation.objects.filter(provider=provider).order_by("pk"))
    create_mailbox(actor=system, organisation=provider, name="Service desk", address="servicedesk@northwind.example")
    for client in clients:
        if client.support_email:
            create_mailbox(actor=system, organisation=client, name=f"{client.name} IT", address=client.support_email)
    site = hospital_site(hospital)
    network = cmdb.create_service(actor=system, organisation=hospital, name="Site network", is_core=True)
    ehr = cmdb.create_service(actor=system, organisation=hospital, name="Electronic health record", is_core=True)
    cmdb.create_service(actor=system, organisation=provider, name="E-mail", serves=clients)
    cmdb.create_service(actor=system, organisation=provider, name="VPN", serves=clients)
    switch = cmdb.create_item(
        actor=system,
        organisation=hospital,
        name="stannes-core-sw-01",
        kind="network_device",
        site=site,
        services=[network],
        is_core=True,
    )
    cmdb.create_item(
        actor=system,
        organisation=hospital,
        name="ehr-app-01",
        kind="application",
        site=site,
        services=[ehr],
        depends_on=[switch],
    )
    noc = groups["network"]
    create_declaration_rule(
        actor=system, provider=provider, name="P1 alert on a core item", kind="critical_alert_on_core", owner_group=noc
    )
    create_declaration_rule(
        actor=system,
        provider=provider,
        name="10 tickets for one site or service in 15 minutes",
        kind="ticket_burst",
        threshold=10,
        window_minutes=15,
        owner_group=noc,
    )
    source, token = create_alert_source(actor=system, organisation=hospital, name="Prometheus", kind="alertmanager")
    progress(
        f"mailboxes, CMDB and major-incident rules set; Alertmanager posts to /hooks/alerts/{source.pk}/ "
        f"with 'Authorization: Bearer {token}'; mail to servicedesk@northwind.example via SMTP 127.0.0.1:2525"
    )


def _routing(
    system: Actor, provider: Organisation, groups: dict[str, SupportGroup], categories: dict[str, Category]
) -> None:
    """What a desk sets up: rules that classify, a table that places, strategies that assign."""
    hospital = Organisation.objects.get(slug="st-annes")
    cisco = accounts.create_skill(actor=system, provider=provider, name="Cisco networking")
    epic = accounts.create_skill(actor=system, provider=provider, name="Epic EHR")
    rules = [
        ("Network words", "vpn, wifi, wi-fi, network, switch", "", categories["Network"], "", []),
        ("Outage words are urgent", "", r"\b(down|outage|cannot connect|can't connect)\b", None, "high", []),
        ("Printers", "printer, toner, paper jam", "", categories["Hardware / Printer"], "", []),
        ("Clinical application", "ehr, epic, pacs", "", categories["Software / Business application"], "", [epic]),
        ("Switches need Cisco", "switch, router", "", None, "", [cisco]),
    ]
    for order, (name, keywords, pattern, category, urgency, skills) in enumerate(rules, start=1):
        routing.create_classification_rule(
            actor=system,
            provider=provider,
            name=name,
            order=order * 10,
            keywords=keywords,
            pattern=pattern,
            set_category=category,
            set_urgency=urgency,
            set_skills=skills,
        )
    table = [
        (groups["desk"], None, None),
        (groups["network"], categories["Network"], None),
        (groups["clinical"], categories["Software / Business application"], hospital),
        (groups["infra"], None, None),
    ]
    for group, category, client in table:
        routing.create_routing_entry(
            actor=system, provider=provider, support_group=group, category=category, client=client
        )
    strategies = {"desk": "round_robin", "network": "skills", "clinical": "least_loaded", "endpoint": "least_loaded"}
    for key, strategy in strategies.items():
        accounts.set_assignment_strategy(actor=system, group=groups[key], strategy=strategy)
    for member in groups["network"].members.all():
        accounts.set_agent_routing(actor=system, agent=member, skills=[cisco], capacity=15, languages=["en"])
    routing.create_regulated_scope(
        actor=system, client=hospital, regime="hipaa", categories=[categories["Software / Business application"]]
    )
    today = clock.now().date()
    for member in groups["clinical"].members.all():
        accounts.set_agent_routing(actor=system, agent=member, skills=[epic], languages=["en"])
        accounts.record_training(
            actor=system,
            agent=member,
            regime="hipaa",
            completed_on=today - timedelta(days=90),
            expires_on=today + timedelta(days=275),
            reference="HIPAA annual refresher",
        )


# Business minutes per priority: (first response, resolution).
STANDARD_TARGETS = {1: (15, 4 * 60), 2: (30, 8 * 60), 3: (2 * 60, 3 * 600), 4: (4 * 60, 5 * 600), 5: (8 * 60, 10 * 600)}


def _service_levels(system: Actor, provider: Organisation, hospital: Organisation) -> None:
    """Office hours in London for everyone; the hospital's P1 and P2 run around the clock."""
    office = sla.create_calendar(
        actor=system,
        provider=provider,
        name="London office hours",
        timezone="Europe/London",
        hours=[(day, time(8), time(18)) for day in range(5)],
        holiday_country="GB",
        holiday_subdivision="ENG",
    )
    always = sla.create_calendar(actor=system, provider=provider, name="24x7", timezone="UTC", always_open=True)
    standard: list[tuple[str, int | None, int, list[int]]] = [
        target
        for priority, (respond, resolve) in STANDARD_TARGETS.items()
        for target in (
            ("first_response", priority, respond, [75]),
            ("resolution", priority, resolve, [75, 90]),
        )
    ]
    tiers: list[tuple[str, int | None, int, list[int]]] = [
        ("tier_1", None, 8 * 60, [75]),
        ("tier_2", None, 16 * 60, [75]),
        ("vendor", None, 16 * 60, [75]),  # the vendor's underpinning contract: two business days
    ]
    critical = sla.create_policy(
        actor=system,
        provider=provider,
        name="Hospital critical care (24x7)",
        calendar=always,
        order=10,
        clients=[hospital],
        priorities=[1, 2],
        targets=[t for t in standard if t[1] in (1, 2)] + tiers,
    )
    normal = sla.create_policy(
        actor=system, provider=provider, name="Standard service", calendar=office, order=100, targets=standard + tiers
    )
    for policy in (critical, normal):
        _escalation_actions(system, policy)


def _escalation_actions(system: Actor, policy: SlaPolicy) -> None:
    """What a desk usually wires up: the lead hears at 75 %, supervisors at a breach, tiers escalate."""
    for target in policy.targets.all():
        if target.kind == "resolution":
            sla.add_action(actor=system, target=target, trigger="warning", action="notify_group_lead", percent=75)
            sla.add_action(actor=system, target=target, trigger="breach", action="notify_assignee")
            sla.add_action(actor=system, target=target, trigger="breach", action="notify_supervisor")
        elif target.kind == "first_response":
            sla.add_action(actor=system, target=target, trigger="warning", action="notify_group_lead", percent=75)
        elif target.kind == "tier_1":
            sla.add_action(actor=system, target=target, trigger="breach", action="escalate")


def hospital_site(hospital: Organisation) -> Site | None:
    return Site.objects.filter(organisation=hospital).order_by("pk").first()


def _group_for(category_path: str, org: Organisation, groups: dict[str, SupportGroup]) -> SupportGroup:
    if category_path.startswith("Network"):
        return groups["network"]
    if org.has_regulated_systems and "Business application" in category_path:
        return groups["clinical"]
    if org.has_regulated_systems:
        return groups["desk"]
    return groups["endpoint"]


def _demo_ticket(
    rng: random.Random,
    n: int,
    clients: list[Organisation],
    requesters: dict[int, list[Requester]],
    groups: dict[str, SupportGroup],
    members: dict[int, list[User]],
    categories: dict[str, Category],
) -> None:
    org = clients[n % len(clients)]
    requester = rng.choice(requesters[org.pk])
    path, ticket_type, titles = rng.choice(PROBLEMS)
    age = timedelta(days=rng.uniform(0, 89), hours=rng.uniform(0, 23))
    opened = clock.now() - age
    channel = rng.choice(CHANNELS)
    impact, urgency = rng.choice(list(Level.values)), rng.choice(list(Level.values))
    system = Actor.system(via="command")
    desk = groups["desk"]
    desk_agents = members[desk.pk]

    with clock.frozen(opened):
        ticket = tickets.open_ticket(
            actor=system,
            requester=requester,
            title=rng.choice(titles),
            description=f"Reported by {requester.name} via {channel}. {rng.choice(titles)}.",
            ticket_type=ticket_type,
            channel=channel,
            category=categories.get(path),
            impact=impact,
            urgency=urgency,
            support_group=desk,
        )
    # The fate of the ticket: older tickets are mostly finished, recent ones still open.
    roll = rng.random()
    finished = age > timedelta(days=10) and roll < 0.8
    if roll < 0.08 and not finished:
        return  # stays new and unassigned
    step = opened + timedelta(minutes=rng.randint(5, 90))
    agent = rng.choice(desk_agents)
    with clock.frozen(min(step, clock.now())):
        ticket = tickets.assign(actor=Actor(user=agent, via="web"), ticket=ticket, assignee=agent)
        tickets.reply(
            actor=Actor(user=agent, via="web"),
            ticket=ticket,
            body=f"Hello {requester.name.split()[0]}, I am looking into this now.",
        )
    actor = Actor(user=agent, via="web")
    step += timedelta(hours=rng.randint(1, 20))
    if rng.random() < 0.35:
        group = _group_for(path, org, groups)
        specialist = rng.choice(members[group.pk])
        with clock.frozen(min(step, clock.now())):
            tickets.add_note(actor=actor, ticket=ticket, body="Tried the standard checks; passing to the specialists.")
            ticket = tickets.assign(actor=actor, ticket=ticket, assignee=specialist, support_group=group)
        actor = Actor(user=specialist, via="web")
        step += timedelta(hours=rng.randint(1, 30))
    with clock.frozen(min(step, clock.now())):
        ticket = tickets.transition(actor=actor, ticket=ticket, to_status=TicketStatus.IN_PROGRESS)
    if not finished:
        pending = rng.choice([None, None, TicketStatus.PENDING_CUSTOMER, TicketStatus.PENDING_VENDOR])
        if pending:
            with clock.frozen(min(step + timedelta(minutes=30), clock.now())):
                tickets.transition(actor=actor, ticket=ticket, to_status=pending, reason="Waiting for an answer")
        return
    step += timedelta(hours=rng.randint(1, 48))
    code = (
        ResolutionCode.REQUEST_FULFILLED
        if ticket_type == TicketType.SERVICE_REQUEST
        else rng.choice([ResolutionCode.FIXED, ResolutionCode.WORKAROUND, ResolutionCode.NO_FAULT_FOUND])
    )
    with clock.frozen(min(step, clock.now())):
        ticket = tickets.transition(
            actor=actor,
            ticket=ticket,
            to_status=TicketStatus.RESOLVED,
            resolution_code=code,
            resolution_notes="Fixed and confirmed with the requester.",
        )
    if rng.random() < 0.6:
        with clock.frozen(min(step + timedelta(days=rng.randint(1, 7)), clock.now())):
            tickets.transition(actor=Actor.system(via="command"), ticket=ticket, to_status=TicketStatus.CLOSED)
