"""Factories for test set-up. Tickets are opened through the services, never built here."""

from __future__ import annotations

from typing import Any

import factory
from factory.django import DjangoModelFactory

from tierdesk.accounts.choices import Role
from tierdesk.accounts.models import AgentProfile, GroupMembership, Requester, SupportGroup, User
from tierdesk.core.actor import Actor
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Department, Organisation, Site
from tierdesk.tickets import services
from tierdesk.tickets.models import Ticket

PASSWORD = "correct-horse-battery"


class ProviderFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Provider {n}")
    slug = factory.Sequence(lambda n: f"provider-{n}")
    kind = OrganisationKind.PROVIDER


class ClientFactory(DjangoModelFactory[Organisation]):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Client {n}")
    slug = factory.Sequence(lambda n: f"client-{n}")
    kind = OrganisationKind.CLIENT
    provider = factory.SubFactory(ProviderFactory)


class SiteFactory(DjangoModelFactory[Site]):
    class Meta:
        model = Site

    organisation = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"Site {n}")


class DepartmentFactory(DjangoModelFactory[Department]):
    class Meta:
        model = Department

    organisation = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"Department {n}")


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"User {n}")
    organisation = factory.SubFactory(ProviderFactory)
    role = Role.AGENT
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _persist(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            obj.save()


class AgentFactory(UserFactory):
    role = Role.AGENT

    @factory.post_generation
    def profile(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            AgentProfile.objects.get_or_create(user=obj)


class SupportGroupFactory(DjangoModelFactory[SupportGroup]):
    class Meta:
        model = SupportGroup
        skip_postgeneration_save = True

    organisation = factory.SubFactory(ProviderFactory)
    name = factory.Sequence(lambda n: f"Group {n}")
    tier = 1

    @factory.post_generation
    def serves(obj: SupportGroup, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            obj.serves.set(extracted)

    @factory.post_generation
    def agents(obj: SupportGroup, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            for agent in extracted:
                GroupMembership.objects.create(group=obj, agent=agent)


class RequesterFactory(DjangoModelFactory[Requester]):
    class Meta:
        model = Requester

    organisation = factory.SubFactory(ClientFactory)
    name = factory.Sequence(lambda n: f"Requester {n}")
    email = factory.Sequence(lambda n: f"requester{n}@client.test")


def requester_login(requester: Requester, *, manager: bool = False) -> User:
    user = UserFactory.create(
        email=requester.email, full_name=requester.name, organisation=requester.organisation, role=Role.REQUESTER
    )
    requester.user = user
    requester.is_org_manager = manager
    requester.save(update_fields=["user", "is_org_manager"])
    return user


def open_ticket(requester: Requester, **kwargs: Any) -> Ticket:
    kwargs.setdefault("title", "Printer is on fire")
    return services.open_ticket(actor=Actor.system(), requester=requester, **kwargs)
