"""Tenant isolation across the whole API, route by route.

The routes are not listed here: `api_routes()` walks Django's URL resolver and finds every
route of the `api` namespace (list, detail and extra actions, and format-suffix variants
should the router ever add them again), so a route added to the router is checked the day
it is added. A route whose viewset serves a model this test has no Hospital object of, or
whose URL takes an argument it cannot fill, fails the test loudly instead of being skipped.

One object of each kind is made in (or, for the support group, for) the Hospital
organisation; then people of other organisations ask for it through every route and method:

- a detail route, detail action or write (GET, POST, PUT, PATCH, DELETE) answers 404,
  never 403 or 2xx, and exactly what it answers for an object that does not exist;
- a list never contains the object;
- a write that names another organisation's object is refused with 400 and changes nothing.

Categories are exempt: they are shared configuration of the installation and belong to no
organisation, so every signed-in person may read all of them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.http import HttpResponseBase
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.test import APIClient

from tierdesk.accounts import services as accounts
from tierdesk.accounts.models import ApiToken, Requester, SupportGroup, User
from tierdesk.core.actor import Actor
from tierdesk.core.api import PROBLEM_CONTENT_TYPE, ScopedViewSet, api_not_found
from tierdesk.knowledge import services as knowledge
from tierdesk.knowledge.models import Article
from tierdesk.problems import services as problems
from tierdesk.problems.models import KnownError, Problem
from tierdesk.sla import services as sla
from tierdesk.sla.models import SlaClock
from tierdesk.tenancy import services as tenancy
from tierdesk.tenancy.models import Organisation, Site
from tierdesk.testing import factories as f
from tierdesk.testing.fixtures import World, api_client_for
from tierdesk.tickets import services as tickets
from tierdesk.tickets.models import Attachment, Category, Ticket, TimelineEntry

API_NAMESPACE = "api"
EXEMPT_MODELS: dict[type[models.Model], str] = {
    Category: "shared configuration of the installation; belongs to no organisation",
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


# --- the routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str  # URL name in the api namespace, e.g. "ticket-attachment-download"
    regex: str
    viewset: type[ScopedViewSet]
    detail: bool
    methods: frozenset[str]  # the HTTP methods routed to a handler
    url_kwargs: tuple[str, ...]
    renderer_format: str  # what a format suffix must say to reach the handler

    @property
    def model(self) -> type[models.Model]:
        assert self.viewset.queryset is not None, f"{self.viewset.__name__} declares no queryset model"
        return self.viewset.queryset.model

    @property
    def lookup_kwarg(self) -> str:
        return self.viewset.lookup_url_kwarg or self.viewset.lookup_field

    def __str__(self) -> str:
        return f"{self.name} ({self.regex})"


def _walk(patterns: list[Any], namespace: str, prefix: str) -> Iterator[tuple[str, str, URLPattern]]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(part for part in (namespace, entry.namespace) if part)
            yield from _walk(entry.url_patterns, inner, prefix + str(entry.pattern))
        else:
            yield namespace, prefix + str(entry.pattern), entry


def api_routes() -> list[Route]:
    """Every route of the API, from the URL resolver (not a list kept by hand)."""
    routes = []
    for namespace, regex, pattern in _walk(get_resolver().url_patterns, "", ""):
        if namespace != API_NAMESPACE:
            continue
        callback = pattern.callback
        viewset = getattr(callback, "cls", None)
        if viewset is None:
            assert callback is api_not_found, f"API route {regex} is not a viewset route: give it an isolation check"
            continue
        assert issubclass(viewset, ScopedViewSet), f"{viewset.__name__} ({regex}) must derive from ScopedViewSet"
        assert pattern.name, f"API route {regex} has no name"
        renderers = callback.initkwargs.get("renderer_classes") or viewset.renderer_classes
        routes.append(
            Route(
                name=pattern.name,
                regex=regex,
                viewset=viewset,
                detail=bool(callback.initkwargs["detail"]),
                methods=frozenset(method.upper() for method in callback.actions if method != "head"),
                url_kwargs=tuple(pattern.pattern.regex.groupindex),
                renderer_format=renderers[0].format,
            )
        )
    return routes


# --- the Hospital's objects, and the people who must not see them ---------------------------------


@dataclass
class Hospital:
    """One object of each kind in the Hospital organisation, none of them the outsiders' own."""

    organisation: Organisation
    site: Site
    requester: Requester
    ticket: Ticket
    entry: TimelineEntry
    attachment: Attachment
    support_group: SupportGroup
    token: ApiToken
    clock: SlaClock
    problem: Problem  # Northwind's, with the Hospital's ticket linked
    known_error: KnownError
    article: Article  # Northwind's knowledge article, written for the Hospital's requesters only


# The object a route's lookup points at, by the model its viewset serves. A viewset serving a
# model missing here fails `test_every_api_route_hides_other_organisations_objects`.
OBJECTS: dict[type[models.Model], Callable[[Hospital], models.Model]] = {
    Organisation: lambda h: h.organisation,
    Site: lambda h: h.site,
    Requester: lambda h: h.requester,
    Ticket: lambda h: h.ticket,
    SupportGroup: lambda h: h.support_group,
    ApiToken: lambda h: h.token,
    SlaClock: lambda h: h.clock,
    Problem: lambda h: h.problem,
    KnownError: lambda h: h.known_error,
    Article: lambda h: h.article,
}

# Text that only the Hospital's object of that model would put into a response.
MARKERS: dict[type[models.Model], Callable[[Hospital], str]] = {
    Organisation: lambda h: h.organisation.slug,
    Site: lambda h: h.site.name,
    Requester: lambda h: h.requester.email,
    Ticket: lambda h: h.ticket.number,
    SupportGroup: lambda h: h.support_group.name,
    ApiToken: lambda h: h.token.prefix,
    # Only the Hospital has clocks here, so any row of a compliance report is the Hospital's.
    SlaClock: lambda h: '"response_total"',
    Problem: lambda h: h.problem.number,
    KnownError: lambda h: h.known_error.title,
    Article: lambda h: h.article.slug,
}

# URL keyword arguments other than the lookup and the format suffix: the Hospital's value.
EXTRA_KWARGS: dict[str, Callable[[Hospital], object]] = {
    "attachment_id": lambda h: h.attachment.pk,
}


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("payload.txt", b"not yours\n", content_type="text/plain")


# Request bodies that would succeed if the object were visible, so a scoping hole shows up as
# a 2xx (or a changed object) rather than hiding behind a validation error. (data, format).
BODIES: dict[tuple[str, str], Callable[[Hospital], tuple[dict[str, Any], str]]] = {
    ("ticket-detail", "PATCH"): lambda h: ({"title": "Hijacked", "version": h.ticket.version}, "json"),
    ("ticket-transition", "POST"): lambda h: ({"status": "cancelled", "reason": "hijacked"}, "json"),
    ("ticket-timeline", "POST"): lambda h: ({"kind": "reply", "body": "Hijacked"}, "json"),
    ("ticket-attachments", "POST"): lambda h: ({"file": _upload(), "is_public": True}, "multipart"),
    ("person-detail", "PATCH"): lambda h: ({"name": "Hijacked"}, "json"),
    ("kb-article-detail", "PATCH"): lambda h: ({"title": "Hijacked"}, "json"),
    ("ticket-routing-vendor-escalation", "POST"): lambda h: (
        {"vendor": h.support_group.pk, "message": "Hijacked", "version": h.ticket.version},
        "json",
    ),
    ("ticket-routing-engineering", "POST"): lambda h: (
        {"tracker": 1, "reproduction_steps": "Hijacked", "version": h.ticket.version},
        "json",
    ),
    ("ticket-routing-escalate", "POST"): lambda h: (
        {"to_tier": 2, "note": "Hijacked", "version": h.ticket.version},
        "json",
    ),
}


@dataclass(frozen=True)
class Outsider:
    label: str
    user: User
    own_ticket: Ticket  # for routes that nest a Hospital object under a ticket the outsider may see
    sees: frozenset[type[models.Model]] = frozenset()  # Hospital objects this person may see by design


@pytest.fixture
def hospital(world: World) -> Hospital:
    system = Actor.system()
    agent = Actor(user=world.agent)
    site = tenancy.create_site(actor=system, organisation=world.client, name="Hospital east wing")
    requester = accounts.create_requester(
        actor=system, organisation=world.client, name="Harriet Hospital", email="harriet@hospital.test", site=site
    )
    ticket = f.open_ticket(requester, title="Hospital: ventilator alarm", site=site)
    entry = tickets.reply(actor=agent, ticket=ticket, body="A technician is on the way.")
    attachment = tickets.add_attachment(
        actor=agent, ticket=ticket, stream=_upload(), filename="alarm-log.txt", is_public=True
    )
    group = accounts.create_support_group(
        actor=system, provider=world.provider, name="Clinical systems", tier=2, serves=[world.client]
    )
    token, _ = accounts.issue_api_token(actor=system, user=world.manager_user, name="Hospital reporting")
    # An SLA clock decided (the reply met the first-response target), so reports have a row.
    calendar = sla.create_calendar(actor=system, provider=world.provider, name="24x7", timezone="UTC", always_open=True)
    sla.create_policy(
        actor=system, provider=world.provider, name="All", calendar=calendar, targets=[("first_response", None, 60, [])]
    )
    clock = sla.recompute_clocks(ticket.pk)[0]
    problem = problems.create_problem(actor=agent, title="Ventilator alarms without cause", incidents=[ticket])
    known_error = problems.record_known_error(
        actor=agent, problem=problem, title="Ventilator alarm on power dips", symptoms="Alarm", workaround="Reset"
    )
    article = knowledge.create_article(
        actor=agent,
        organisation=world.provider,
        title="Ventilator alarm checklist",
        body="Check the power supply first.",
        audience=[world.client],
    )
    ticket.refresh_from_db()
    return Hospital(
        world.client, site, requester, ticket, entry, attachment, group, token, clock, problem, known_error, article
    )


@pytest.fixture
def outsiders(world: World) -> list[Outsider]:
    bank_requester = Requester.objects.get(user=world.other_requester_user)
    rival_requester = f.RequesterFactory(organisation=world.other_provider_client, email="rory@rival-client.test")
    return [
        Outsider("Bank requester", world.other_requester_user, f.open_ticket(bank_requester)),
        Outsider("Rival MSP supervisor", world.other_provider_agent, f.open_ticket(rival_requester)),
        # Same organisation, other requester's records: the organisation, its sites and the
        # articles written for it are hers to see; tickets, people, tokens and support groups
        # of others are not.
        Outsider(
            "Hospital requester (Rita)",
            world.requester_user,
            f.open_ticket(world.requester),
            sees=frozenset({Organisation, Site, Article}),
        ),
    ]


# --- helpers ----------------------------------------------------------------------------------


def _missing(value: object) -> str:
    """A value of the same shape that names no object (INC0001001 -> INC9999999, 12 -> 999999999)."""
    text = str(value)
    return "999999999" if text.isdigit() else re.sub(r"[0-9]", "9", text)


def _url(route: Route, lookup: object, extra: dict[str, object]) -> str:
    kwargs: dict[str, object] = {}
    for name in route.url_kwargs:
        if name == route.lookup_kwarg:
            kwargs[name] = lookup
        elif name == "format":
            kwargs[name] = route.renderer_format
        else:
            kwargs[name] = extra[name]
    return reverse(f"{API_NAMESPACE}:{route.name}", kwargs=kwargs)


def _send(client: APIClient, method: str, url: str, body: tuple[dict[str, Any], str] | None) -> HttpResponseBase:
    if body is None:
        return client.generic(method, url)
    data, fmt = body
    return getattr(client, method.lower())(url, data, format=fmt)


def _body(response: HttpResponseBase) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _describe(response: HttpResponseBase) -> str:
    return f"{response.status_code} {_body(response)[:200]!r}"


def _list_items(client: APIClient, url: str) -> tuple[int, list[dict[str, Any]]]:
    """Every item of a list endpoint, following cursor pages."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = client.get(next_url)
        if response.status_code != 200:
            return response.status_code, items
        body = response.json()
        if isinstance(body, list):
            return 200, items + body
        if "results" not in body:  # a report: one document, checked whole
            return 200, [*items, body]
        items += body["results"]
        next_url = body.get("next")
    return 200, items


def _snapshot(h: Hospital) -> dict[str, object]:
    ticket = Ticket.objects.get(pk=h.ticket.pk)
    return {
        "ticket": (ticket.version, ticket.status, ticket.title),
        "timeline": list(TimelineEntry.objects.filter(ticket=ticket).values_list("pk", "body")),
        "attachments": list(Attachment.objects.filter(ticket=ticket).values_list("pk", flat=True)),
        "requester": Requester.objects.filter(pk=h.requester.pk).values_list("name", "site_id").get(),
        "token revoked": ApiToken.objects.filter(pk=h.token.pk).values_list("revoked_at", flat=True).get(),
    }


def _check_list(client: APIClient, route: Route, h: Hospital, foreign: frozenset[type[models.Model]]) -> list[str]:
    """The list must answer, and hold neither the object nor any trace of the outsider's foreign objects."""
    status, items = _list_items(client, _url(route, None, {}))
    if status != 200:
        return [f"GET: the list answered {status}"]
    problems = []
    key = "id" if route.viewset.lookup_field == "pk" else route.viewset.lookup_field
    lookup = getattr(OBJECTS[route.model](h), route.viewset.lookup_field)
    if str(lookup) in {str(item.get(key)) for item in items}:
        problems.append(f"GET: the list contains the Hospital's {route.model.__name__}")
    text = json.dumps(items)
    for model in sorted(foreign & MARKERS.keys(), key=lambda m: m.__name__):
        if (marker := MARKERS[model](h)) in text:
            problems.append(f"GET: the list mentions the Hospital's {model.__name__} ({marker!r})")
    return problems


def _check_detail(client: APIClient, route: Route, h: Hospital, outsider: Outsider) -> tuple[int, list[str]]:
    """Every method on the object answers 404 if routed, and always exactly what a missing object gets."""
    lookup = getattr(OBJECTS[route.model](h), route.viewset.lookup_field)
    extra = {name: make(h) for name, make in EXTRA_KWARGS.items()}
    cases = [(_url(route, lookup, extra), _url(route, _missing(lookup), extra), "")]
    nested = [name for name in route.url_kwargs if name in EXTRA_KWARGS]
    if nested:  # the Hospital's child object, under a parent the outsider may see
        assert route.model is Ticket, f"{route}: say which object of the outsider's own to nest under"
        own = getattr(outsider.own_ticket, route.viewset.lookup_field)
        missing_child = {**extra, **{name: _missing(extra[name]) for name in nested}}
        cases.append((_url(route, own, extra), _url(route, own, missing_child), " (under own ticket)"))
    problems = []
    for foreign_url, missing_url, how in cases:
        for method in METHODS:
            make_body = BODIES.get((route.name, method))
            foreign = _send(client, method, foreign_url, make_body(h) if make_body else None)
            missing = _send(client, method, missing_url, make_body(h) if make_body else None)
            if method in route.methods and foreign.status_code != 404:
                problems.append(f"{method}{how}: expected 404, got {_describe(foreign)}")
            elif method in route.methods and foreign["Content-Type"] != PROBLEM_CONTENT_TYPE:
                problems.append(f"{method}{how}: the 404 is not a problem document ({foreign['Content-Type']})")
            elif (foreign.status_code, _body(foreign)) != (missing.status_code, _body(missing)):
                problems.append(f"{method}{how}: {_describe(foreign)}, but for no object {_describe(missing)}")
    return len(cases) * len(METHODS), problems


# --- reads and writes of other organisations' objects -------------------------------------------


def test_every_api_route_hides_other_organisations_objects(
    world: World, hospital: Hospital, outsiders: list[Outsider]
) -> None:
    routes = [route for route in api_routes() if route.model not in EXEMPT_MODELS]
    assert {route.name for route in routes if route.detail} >= {"ticket-detail", "ticket-attachment-download"}
    unmade = sorted({f"{route} serves {route.model.__name__}" for route in routes if route.model not in OBJECTS})
    assert not unmade, "No Hospital object for these API routes; add one to OBJECTS:\n" + "\n".join(unmade)
    unknown = sorted(
        f"{route}: {name}"
        for route in routes
        for name in route.url_kwargs
        if name not in (route.lookup_kwarg, "format", *EXTRA_KWARGS)
    )
    assert not unknown, "No Hospital value for these URL arguments; add them to EXTRA_KWARGS:\n" + "\n".join(unknown)

    before = _snapshot(hospital)
    problems: list[str] = []
    requests = 0
    for outsider in outsiders:
        client = api_client_for(outsider.user)
        foreign = frozenset(OBJECTS) - outsider.sees
        for route in routes:
            if route.model in outsider.sees:
                continue
            if route.detail:
                sent, found = _check_detail(client, route, hospital, outsider)
            elif "GET" in route.methods:
                sent, found = 1, _check_list(client, route, hospital, foreign)
            else:
                continue
            requests += sent
            problems += [f"{outsider.label}, {route}: {problem}" for problem in found]

    assert not problems, f"{len(problems)} tenant isolation failures:\n" + "\n".join(problems)
    assert requests >= 100, f"only {requests} requests sent: did the route walk find the API?"
    assert _snapshot(hospital) == before, "an outsider's request changed the Hospital's records"


# --- writes naming another organisation's objects ----------------------------------------------


@dataclass
class Elsewhere:
    """Objects outside the Hospital: at the Bank (same provider) and at the rival MSP."""

    bank_site: Site
    bank_group: SupportGroup
    bank_agent: User
    bank_ticket: Ticket
    rival_site: Site
    rival_group: SupportGroup
    rival_ticket: Ticket


@pytest.fixture
def elsewhere(world: World) -> Elsewhere:
    system = Actor.system()
    bank_agent = accounts.create_agent(
        actor=system, provider=world.provider, email="bea@northwind.test", full_name="Bea Bank-desk", password=None
    )
    bank_group = accounts.create_support_group(
        actor=system,
        provider=world.provider,
        name="Bank desk",
        tier=1,
        serves=[world.other_client],
        members=[(bank_agent, False)],
    )
    rival_agent = world.other_provider_agent
    rival_group = accounts.create_support_group(
        actor=system,
        provider=rival_agent.organisation,
        name="Rival desk",
        tier=1,
        serves=[world.other_provider_client],
        members=[(rival_agent, False)],
    )
    bank_requester = Requester.objects.get(user=world.other_requester_user)
    rival_requester = f.RequesterFactory(organisation=world.other_provider_client, email="rory@rival-client.test")
    return Elsewhere(
        bank_site=tenancy.create_site(actor=system, organisation=world.other_client, name="Bank HQ"),
        bank_group=bank_group,
        bank_agent=bank_agent,
        bank_ticket=f.open_ticket(bank_requester, title="Bank: card reader"),
        rival_site=tenancy.create_site(actor=system, organisation=world.other_provider_client, name="Rival HQ"),
        rival_group=rival_group,
        rival_ticket=f.open_ticket(rival_requester, title="Rival: printer"),
    )


def _foreign_references(world: World, e: Elsewhere) -> list[tuple[str, int]]:
    return [
        ("site", e.bank_site.pk),
        ("site", e.rival_site.pk),
        ("support_group", e.bank_group.pk),  # Northwind's, but it does not serve the Hospital
        ("support_group", e.rival_group.pk),
        ("assignee", e.bank_agent.pk),  # a Northwind agent who does not work for the Hospital
        ("assignee", world.other_provider_agent.pk),
        ("parent", e.bank_ticket.pk),
        ("parent", e.rival_ticket.pk),
    ]


def _refused(response: HttpResponseBase) -> str | None:
    """None if the response is a 400 problem document, else what it was."""
    if response.status_code == 400 and response["Content-Type"] == PROBLEM_CONTENT_TYPE:
        return None
    return _describe(response)


def test_tickets_cannot_be_opened_for_another_organisations_requester(world: World) -> None:
    for user in (world.other_provider_agent, world.other_requester_user):
        response = api_client_for(user).post(
            "/api/v1/tickets/", {"requester": world.requester.pk, "title": "On their behalf"}, format="json"
        )
        assert _refused(response) is None, f"{user.email}: {_describe(response)}"
        assert "requester" in response.json()["errors"]
    assert not Ticket.objects.exists()


def test_ticket_writes_naming_another_organisations_objects_are_refused(world: World, elsewhere: Elsewhere) -> None:
    ticket = f.open_ticket(world.requester, title="Hospital: badge reader")
    before = Ticket.objects.filter(pk=ticket.pk).values().get()
    problems = []
    # The tier 1 agent cannot see the Bank at all; the supervisor can, so there the service's
    # own check (same organisation as the ticket) has to refuse.
    for user in (world.agent, world.supervisor):
        client = api_client_for(user)
        for field, pk in _foreign_references(world, elsewhere):
            patched = client.patch(
                f"/api/v1/tickets/{ticket.number}/", {field: pk, "version": ticket.version}, format="json"
            )
            if (outcome := _refused(patched)) is not None:
                problems.append(f"{user.email} PATCH {field}={pk}: {outcome}")
            created = client.post(
                "/api/v1/tickets/", {"requester": world.requester.pk, "title": "New", field: pk}, format="json"
            )
            if (outcome := _refused(created)) is not None:
                problems.append(f"{user.email} POST {field}={pk}: {outcome}")
    assert not problems, "\n".join(problems)
    assert Ticket.objects.filter(pk=ticket.pk).values().get() == before
    assert Ticket.objects.filter(organisation=world.client).count() == 1


def test_people_cannot_be_created_or_moved_into_another_organisation(world: World, elsewhere: Elsewhere) -> None:
    people = Requester.objects.count()
    rita = Requester.objects.filter(pk=world.requester.pk).values("site_id", "name").get()
    new = {"name": "Xavier", "phone": "+1 555 0199"}
    hospital, bank, rita_url = world.client.pk, world.other_client.pk, f"/api/v1/people/{world.requester.pk}/"
    attempts: list[tuple[User, str, str, dict[str, Any]]] = [
        (world.agent, "POST", "/api/v1/people/", {**new, "organisation": bank}),  # the agent serves the Hospital only
        (world.other_provider_agent, "POST", "/api/v1/people/", {**new, "organisation": hospital}),
        (world.other_requester_user, "POST", "/api/v1/people/", {**new, "organisation": hospital}),
        (
            world.supervisor,
            "POST",
            "/api/v1/people/",
            {**new, "organisation": hospital, "site": elsewhere.bank_site.pk},
        ),
        (world.agent, "POST", "/api/v1/people/", {**new, "organisation": hospital, "site": elsewhere.rival_site.pk}),
        (world.agent, "PATCH", rita_url, {"site": elsewhere.bank_site.pk}),
        (world.supervisor, "PATCH", rita_url, {"site": elsewhere.bank_site.pk}),
        (world.supervisor, "PATCH", rita_url, {"site": elsewhere.rival_site.pk}),
    ]
    problems = []
    for user, method, url, body in attempts:
        response = getattr(api_client_for(user), method.lower())(url, body, format="json")
        if (outcome := _refused(response)) is not None:
            problems.append(f"{user.email} {method} {url} {body}: {outcome}")
    assert not problems, "\n".join(problems)
    assert Requester.objects.count() == people
    assert Requester.objects.filter(pk=world.requester.pk).values("site_id", "name").get() == rita
