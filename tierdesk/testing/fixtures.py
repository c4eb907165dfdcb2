"""Shared pytest fixtures: a small world of two tenants and clients for every resource test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from tierdesk.accounts.choices import Role
from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.accounts.services import issue_api_token
from tierdesk.core.actor import Actor
from tierdesk.tenancy.models import Organisation, Site
from tierdesk.testing import factories as f
from tierdesk.tickets.models import Category


@dataclass
class World:
    """Provider A serves clients A1 and A2; provider B (another MSP) serves B1."""

    provider: Organisation
    client: Organisation
    other_client: Organisation
    site: Site
    group: SupportGroup
    agent: User
    supervisor: User
    admin: User
    requester: Requester
    requester_user: User
    manager_user: User
    colleague: Requester
    other_requester_user: User
    other_provider_agent: User
    other_provider_client: Organisation


@pytest.fixture(autouse=True)
def _media_root(settings: object, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")  # type: ignore[attr-defined]


def ensure_migration_seed() -> None:
    """What migrations seed (category tree, priority matrix, number counters).

    Transactional tests (the browser tests) empty every table when they end, seeded rows
    included; tests that run after them on the same database get the seed back here."""
    if not Category.objects.exists():
        import_module("tierdesk.tickets.migrations.0002_seed").seed(apps, None)


@pytest.fixture
def world(db: None) -> World:
    ensure_migration_seed()
    provider = f.ProviderFactory.create(name="Northwind", slug="northwind-test")
    client = f.ClientFactory.create(name="Hospital", slug="hospital", provider=provider)
    other_client = f.ClientFactory.create(name="Bank", slug="bank", provider=provider)
    site = f.SiteFactory.create(organisation=client, name="Main campus")
    agent = f.AgentFactory.create(organisation=provider, email="agent@northwind.test", full_name="Alex Agent")
    supervisor = f.AgentFactory.create(organisation=provider, email="sup@northwind.test", role=Role.SUPERVISOR)
    admin = f.AgentFactory.create(
        organisation=provider, email="admin@northwind.test", role=Role.ADMIN, is_staff=True, is_superuser=True
    )
    group = f.SupportGroupFactory.create(
        organisation=provider, name="Service Desk", tier=1, serves=[client], agents=[agent]
    )
    requester = f.RequesterFactory.create(
        organisation=client, name="Rita Requester", email="rita@hospital.test", site=site
    )
    requester_user = f.requester_login(requester)
    colleague = f.RequesterFactory.create(organisation=client, name="Colin Colleague", email="colin@hospital.test")
    manager = f.RequesterFactory.create(organisation=client, name="Mona Manager", email="mona@hospital.test")
    manager_user = f.requester_login(manager, manager=True)
    other_requester = f.RequesterFactory.create(organisation=other_client, name="Bob Banker", email="bob@bank.test")
    other_requester_user = f.requester_login(other_requester)
    other_provider = f.ProviderFactory.create(name="Rival MSP", slug="rival")
    other_provider_client = f.ClientFactory.create(name="Rival client", slug="rival-client", provider=other_provider)
    other_provider_agent = f.AgentFactory.create(
        organisation=other_provider, email="agent@rival.test", role=Role.SUPERVISOR
    )
    return World(
        provider=provider,
        client=client,
        other_client=other_client,
        site=site,
        group=group,
        agent=agent,
        supervisor=supervisor,
        admin=admin,
        requester=requester,
        requester_user=requester_user,
        manager_user=manager_user,
        colleague=colleague,
        other_requester_user=other_requester_user,
        other_provider_agent=other_provider_agent,
        other_provider_client=other_provider_client,
    )


def api_client_for(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        _, raw = issue_api_token(actor=Actor(user=user), user=user, name="tests")
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(world: World) -> Iterator[APIClient]:
    """An API client authenticated as the tier 1 agent of the world."""
    yield api_client_for(world.agent)


def count_queries(call: Callable[[], Any]) -> int:
    """Queries a request makes (it must answer 200), for the pinned query-count tests."""
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code == 200
    # Savepoints come from nesting inside the test's transaction, not from the view.
    return sum(1 for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT")))


SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def shared_data(relative: str) -> Path:
    """A file of the team's shared real-world data (../shared/data), or skip the test clearly."""
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"shared data skipped: {path} is not on this machine (see ../shared/data/README.md)")
    return path


@pytest.fixture
def tasks_in_process() -> Iterator[None]:
    """Run background tasks in-process for this test, as the embedded default does.

    Needed when the suite runs against Redis: a worker could not see the test's own
    (never committed) transaction. The Redis path itself has its own test with a worker.
    """
    from tierdesk.config.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = before
