"""Writers of the CMDB: services, configuration items and their dependencies. Audited like any change."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from tierdesk.audit.services import record_event
from tierdesk.cmdb.models import BusinessService, ConfigurationItem
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.core.models import check_lengths
from tierdesk.tenancy.models import Organisation, Site


@transaction.atomic
def create_service(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str,
    description: str = "",
    is_core: bool = False,
    serves: Iterable[Organisation] = (),
) -> BusinessService:
    if not name.strip():
        raise DomainError("A service needs a name.")
    if BusinessService.objects.filter(organisation=organisation, name=name.strip()).exists():
        raise DomainError(f"{organisation.name} already has a service named {name.strip()}.")
    served = list(serves)
    if any(client.root_provider_id != organisation.root_provider_id for client in served):
        raise DomainError("A service can only serve organisations of its own provider.")
    service = BusinessService(organisation=organisation, name=name.strip(), description=description, is_core=is_core)
    check_lengths(service)
    service.save(force_insert=True)
    service.serves.set(served)
    record_event(
        actor=actor,
        action="service.created",
        obj=service,
        organisation_id=organisation.pk,
        after={"name": service.name, "is_core": is_core, "serves": [o.pk for o in served]},
    )
    return service


@transaction.atomic
def create_item(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str,
    kind: str = ConfigurationItem.Kind.HOST,
    site: Site | None = None,
    services: Iterable[BusinessService] = (),
    depends_on: Iterable[ConfigurationItem] = (),
    is_core: bool = False,
    labels: dict[str, Any] | None = None,
) -> ConfigurationItem:
    if not name.strip():
        raise DomainError("A configuration item needs a name.")
    if kind not in ConfigurationItem.Kind.values:
        raise DomainError(f"Unknown kind of item {kind!r}.")
    if site is not None and site.organisation_id != organisation.pk:
        raise DomainError("That site belongs to another organisation.")
    provider_id = organisation.root_provider_id
    linked = list(services)
    needs = list(depends_on)
    if any(s.organisation.root_provider_id != provider_id for s in linked) or any(
        i.organisation.root_provider_id != provider_id for i in needs
    ):
        raise DomainError("Services and dependencies must belong to the same provider.")
    if labels is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise DomainError("Labels are names and values, both text.")
    item = ConfigurationItem(
        organisation=organisation, name=name.strip(), kind=kind, site=site, is_core=is_core, labels=labels or {}
    )
    check_lengths(item)
    item.save(force_insert=True)
    item.services.set(linked)
    item.depends_on.set(needs)
    record_event(
        actor=actor,
        action="configuration_item.created",
        obj=item,
        organisation_id=organisation.pk,
        after={"name": item.name, "kind": kind, "site_id": site.pk if site else None, "labels": item.labels},
    )
    return item


@transaction.atomic
def add_dependency(*, actor: Actor, item: ConfigurationItem, depends_on: ConfigurationItem) -> None:
    """`item` depends on `depends_on` (an application on its database host, a host on its switch)."""
    if item.pk == depends_on.pk:
        raise DomainError("An item cannot depend on itself.")
    if item.organisation.root_provider_id != depends_on.organisation.root_provider_id:
        raise DomainError("Dependencies must stay within one provider.")
    if item.pk in upstream_ids([depends_on.pk]):
        raise DomainError(f"{depends_on} already depends on {item}: that would be a cycle.")
    item.depends_on.add(depends_on)
    record_event(
        actor=actor,
        action="configuration_item.dependency_added",
        obj=item,
        organisation_id=item.organisation_id,
        after={"depends_on": depends_on.pk},
    )


def upstream_ids(item_ids: Iterable[int], *, limit: int = 1000) -> set[int]:
    """Every item the given ones depend on, directly or not (breadth first, bounded)."""
    seen: set[int] = set()
    frontier = set(item_ids)
    while frontier and len(seen) < limit:
        seen |= frontier
        frontier = (
            set(
                ConfigurationItem.depends_on.through.objects.filter(from_configurationitem_id__in=frontier).values_list(
                    "to_configurationitem_id", flat=True
                )
            )
            - seen
        )
    return seen


def downstream_ids(item_ids: Iterable[int], *, limit: int = 1000) -> set[int]:
    """Every item that depends on the given ones, directly or not: what an outage of them affects."""
    seen: set[int] = set()
    frontier = set(item_ids)
    while frontier and len(seen) < limit:
        seen |= frontier
        frontier = (
            set(
                ConfigurationItem.depends_on.through.objects.filter(to_configurationitem_id__in=frontier).values_list(
                    "from_configurationitem_id", flat=True
                )
            )
            - seen
        )
    return seen
