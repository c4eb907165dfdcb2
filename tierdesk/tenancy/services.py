"""Writers of organisations, sites and departments."""

from __future__ import annotations

from datetime import datetime

from django.db import models, transaction

from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Announcement, Department, Organisation, Site


@transaction.atomic
def create_organisation(
    *,
    actor: Actor,
    name: str,
    slug: str,
    kind: str = OrganisationKind.CLIENT,
    provider: Organisation | None = None,
    email_domain: str = "",
    support_email: str = "",
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
        support_email=support_email,
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


@transaction.atomic
def post_announcement(
    *,
    actor: Actor,
    organisation: Organisation,
    title: str,
    body: str = "",
    severity: str = Announcement.Severity.INFO,
    ends_at: datetime | None = None,
) -> Announcement:
    """Show a banner to an organisation's requesters from now until `ends_at` (or until ended)."""
    if not title.strip():
        raise DomainError("An announcement needs a title.")
    if severity not in Announcement.Severity.values:
        raise DomainError(f"Unknown severity {severity!r}.")
    announcement = Announcement.objects.create(
        organisation=organisation,
        title=title.strip(),
        body=body,
        severity=severity,
        starts_at=clock.now(),
        ends_at=ends_at,
    )
    record_event(
        actor=actor,
        action="announcement.posted",
        obj=announcement,
        organisation_id=organisation.pk,
        after={"title": announcement.title, "severity": severity},
    )
    return announcement


@transaction.atomic
def end_announcement(*, actor: Actor, announcement: Announcement) -> Announcement:
    announcement.ends_at = clock.now()
    announcement.save(update_fields=["ends_at"])
    record_event(
        actor=actor,
        action="announcement.ended",
        obj=announcement,
        organisation_id=announcement.organisation_id,
        after={"ends_at": announcement.ends_at},
    )
    return announcement


def current_announcements(organisation_id: int) -> list[Announcement]:
    now = clock.now()
    return list(
        Announcement.objects.filter(organisation_id=organisation_id, starts_at__lte=now)
        .filter(models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=now))
        .order_by("-starts_at")[:5]
    )
