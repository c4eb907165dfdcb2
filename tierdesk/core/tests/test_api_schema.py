"""The API against its own OpenAPI schema: a bounded, deterministic schemathesis run.

The schema is loaded from the live WSGI application (`/api/schema/`), so what is tested is
what drf-spectacular serves, not the committed copy. Every operation gets a few generated
requests (examples, coverage and fuzzing phases; positive and negative inputs), sent as the
tier 1 agent with a bearer token, and each response must

- never be a server error (`not_a_server_error`),
- match the schema the operation documents for its status code (`response_schema_conformance`),
- come in a media type the operation documents (`content_type_conformance`): errors are
  `application/problem+json`, never an HTML page.

Random path identifiers would only ever reach the 404 branch, so positive cases get the
identifiers of real objects of a small but varied data set (blank e-mails, unresolved and
resolved tickets, tickets with and without site, parent, group and assignee), and positive
bodies name real, consistent objects and the ticket's current version; the handlers,
serializers and services behind each operation really run. The run is reproducible: fixed
seed, derandomised Hypothesis, no example database.

The schema is loaded when the module is imported (generating it needs no database) and the
tests are the eager `schema.parametrize()` kind, one per operation: schemathesis' fixture-
based loader (`schemathesis.pytest.from_fixture`) does not work with pytest 9.2.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tierdesk.accounts import services as accounts
from tierdesk.accounts.models import ApiToken
from tierdesk.core.actor import Actor
from tierdesk.core.api import PROBLEM_CONTENT_TYPE
from tierdesk.tenancy import services as tenancy
from tierdesk.tenancy.models import Department
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World
from tierdesk.tickets import services as tickets
from tierdesk.tickets.models import Attachment, Category, Ticket

SCHEMA_URL = "/api/schema/"
API_PREFIX = "/api/v1/"

# Bounded for the default suite (~1 minute on 2 cores for everything): a handful of
# examples per operation, fixed seed, derandomised, and no .hypothesis/ directory.
RUN_CONFIG = {
    "seed": 20_260_101,
    "generation": {"max-examples": 5, "deterministic": True, "database": "none"},
}

schema = schemathesis.openapi.from_wsgi(SCHEMA_URL, WSGIHandler(), config=schemathesis.Config.from_dict(RUN_CONFIG))


@dataclass
class Seeded:
    token: str
    ticket: Ticket
    transition_ticket: Ticket
    attachment: Attachment
    spare_token: ApiToken
    category: Category
    department: Department
    world: World


@pytest.fixture
def seeded(world: World) -> Iterator[Seeded]:
    agent = Actor(user=world.agent)
    category = Category.objects.filter(parent__isnull=False, is_active=True).first()
    assert category is not None, "the category tree migration should seed child categories"
    phone_only = accounts.create_requester(
        actor=Actor.system(), organisation=world.client, name="Pat Phone", phone="+1 555 0100"
    )
    ticket = open_ticket(
        world.requester,
        title="Infusion pump offline",
        category=category,
        support_group=world.group,
        assignee=world.agent,
        impact="high",
    )
    tickets.reply(actor=agent, ticket=ticket, body="Looking into it.")
    tickets.add_note(actor=agent, ticket=ticket, body="Vendor ticket 4711.")
    attachment = tickets.add_attachment(
        actor=agent, ticket=ticket, stream=SimpleUploadedFile("log.txt", b"pump log\n"), filename="log.txt"
    )
    open_ticket(world.colleague, title="Follow-up", parent=ticket)
    resolved = open_ticket(phone_only, title="Phone handset dead")
    tickets.transition(
        actor=agent, ticket=resolved, to_status="resolved", resolution_code="fixed", resolution_notes="Replaced."
    )
    transition_ticket = open_ticket(world.requester, title="Badge reader stuck")
    department = tenancy.create_department(actor=Actor.system(), organisation=world.client, name="Radiology")
    spare_token, _ = accounts.issue_api_token(actor=agent, user=world.agent, name="to be revoked by the run")
    _, raw = accounts.issue_api_token(actor=agent, user=world.agent, name="schemathesis")

    # Like Django's test client: keep the test's transaction open across request start and end.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield Seeded(raw, ticket, transition_ticket, attachment, spare_token, category, department, world)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def real_path_parameters(case: schemathesis.Case, seeded: Seeded) -> dict[str, str]:
    """Identifiers of existing objects for the path parameters of `case`'s operation."""
    collection = case.path.removeprefix(API_PREFIX).split("/", 1)[0]
    ids = {
        "organisations": seeded.world.client.pk,
        "sites": seeded.world.site.pk,
        "people": seeded.world.requester.pk,
        "support-groups": seeded.world.group.pk,
        "categories": seeded.category.pk,
        "tokens": seeded.spare_token.pk,  # DELETE revokes it; never the token the run uses
    }
    number = seeded.transition_ticket.number if case.path.endswith("/transition/") else seeded.ticket.number
    values = {"number": number, "attachment_id": str(seeded.attachment.pk)}
    if collection in ids:
        values["id"] = str(ids[collection])
    return {name: values[name] for name in case.path_parameters if name in values}


def real_references(seeded: Seeded) -> dict[str, int]:
    """Ids of existing, mutually consistent objects for the reference fields of request bodies."""
    world = seeded.world
    return {
        "requester": world.requester.pk,
        "organisation": world.client.pk,
        "site": world.site.pk,
        "department": seeded.department.pk,
        "category": seeded.category.pk,
        "support_group": world.group.pk,
        "assignee": world.agent.pk,
        "parent": seeded.ticket.pk,
    }


def is_negative(case: schemathesis.Case, location: ParameterLocation) -> bool:
    return case.meta is not None and case.meta.is_negative_at(location)


@schema.parametrize()
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one data set per operation, by design
def test_api_conforms_to_its_schema(case: schemathesis.Case, seeded: Seeded) -> None:
    if not is_negative(case, ParameterLocation.PATH):
        case.path_parameters.update(real_path_parameters(case, seeded))
    number = case.path_parameters.get("number")
    version = Ticket.objects.filter(number=number).values_list("version", flat=True).first() if number else None
    if version is not None and case.headers.get("If-Match") and not is_negative(case, ParameterLocation.HEADER):
        case.headers["If-Match"] = f'"{version}"'
    if isinstance(case.body, dict) and not is_negative(case, ParameterLocation.BODY):
        references = {**real_references(seeded), "version": version}
        for name, value in case.body.items():
            if name in references and value is not None and references[name] is not None:
                case.body[name] = references[name]
    case.call_and_validate(
        headers={"Authorization": f"Bearer {seeded.token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
def test_unknown_api_paths_are_a_404_problem_for_every_method(world: World, method: str) -> None:
    # Found by the run above: unsafe methods on unknown paths got Django's HTML CSRF page.
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.agent)
    for path in ("/api/v1/nowhere/", "/api/v1/tickets/not-a-number/", "/api/v1/tickets/INC0001001.json"):
        response = client.generic(method, path)
        assert response.status_code == 404, (method, path, response.status_code)
        assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
