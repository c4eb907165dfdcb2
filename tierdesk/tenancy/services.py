"""Writers of organisations, sites and departments."""

from __future__ import annotations

from django.db import transaction

from tierdesk.audit.services import record_event
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Department, Organisation, Site


@transaction.atomic
def create_organisation(
    *,
    actor: Actor,
    name: str,
    slug: str,
    kind: str = OrganisationKind.CLIENT,
    provider: Organisation | None = None,
    email_domain: str = "",
    timezone: str = "UTC",
    has_regulated_systems: bool = False,
) -> Organisation:
    if kind == OrganisationKind.CLIENT and (provider is None or not provider.is_provider):
        raise DomainError("A client organisation needs a provider organisation.")
    org = Organisation.objects.create(
        name=name,
        slug=slug,
        kind=kind,
        provider=provider,
        email_domain=email_domain,
        timezone=timezone,
        has_regulated_systems=has_regulated_systems,
    )
    record_event(
        actor=actor,
        action="organisation.created",
        obj=org,
        organisation_id=org.pk,
        after={"name": name, "kind": kind, "provider_id": org.provider_id},
    )
    return org


@transaction.atomic
def create_site(
    *, actor: Actor, organisation: Organisation, name: str, address: str = "", timezone: str = "UTC"
) -> Site:
    site = Site.objects.create(organisation=organisation, name=name, address=address, timezone=timezone)
    record_event(actor=actor, action="site.created", obj=site, organisation_id=organisation.pk, after={"name": name})
    return site


@transaction.atomic
def create_department(*, actor: Actor, organisation: Organisation, name: str) -> Department:
    department = Department.objects.create(organisation=organisation, name=name)
    record_event(
        actor=actor, action="department.created", obj=department, organisation_id=organisation.pk, after={"name": name}
    )
    return department
