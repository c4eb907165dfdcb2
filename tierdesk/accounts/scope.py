"""What a person may see: the one place that decides it.

Every `visible_to(actor)` queryset in every app asks `scope_for(actor)`, so lists,
details, search, exports and the API cannot disagree about tenancy.
"""

from __future__ import annotations

from dataclasses import dataclass

from tierdesk.accounts.choices import Role
from tierdesk.core.actor import Actor


@dataclass(frozen=True)
class Scope:
    role: str
    provider_id: int | None
    # Organisations whose records (tickets, people, sites) are visible in full.
    organisation_ids: frozenset[int]
    # Organisations the person may see as objects (a requester sees their own).
    member_organisation_ids: frozenset[int]
    # A requester without manager rights sees the tickets they asked for, nothing more.
    requester_id: int | None = None

    @property
    def is_agent_side(self) -> bool:
        return self.role in (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)

    @property
    def sees_whole_provider(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)


NOBODY = Scope(role="", provider_id=None, organisation_ids=frozenset(), member_organisation_ids=frozenset())


def scope_for(actor: Actor) -> Scope:
    user = actor.user
    if user is None or not user.is_active:
        return NOBODY
    cached: Scope | None = getattr(user, "_tierdesk_scope", None)
    if cached is not None:
        return cached
    scope = _compute(user)
    user._tierdesk_scope = scope  # type: ignore[attr-defined]
    return scope


def _compute(user: object) -> Scope:
    from tierdesk.accounts.models import Requester, SupportGroup, User
    from tierdesk.tenancy.models import Organisation

    assert isinstance(user, User)
    own_org = user.organisation_id
    provider_id = Organisation.objects.filter(pk=own_org).values_list("provider_id", flat=True).first() or own_org

    if user.role in (Role.SUPERVISOR, Role.ADMIN):
        ids = frozenset(Organisation.objects.of_provider(provider_id).values_list("pk", flat=True))
        return Scope(user.role, provider_id, ids, ids)

    if user.role == Role.AGENT:
        served = SupportGroup.objects.filter(
            memberships__agent=user, is_active=True, organisation_id=provider_id
        ).values_list("serves", flat=True)
        ids = frozenset({provider_id, *(pk for pk in served if pk is not None)})
        return Scope(user.role, provider_id, ids, ids)

    requester = Requester.objects.filter(user=user, is_active=True).values_list("pk", "is_org_manager").first()
    if requester is None:
        return Scope(user.role, provider_id, frozenset(), frozenset({own_org}))
    requester_id, is_manager = requester
    full = frozenset({own_org}) if is_manager else frozenset()
    return Scope(user.role, provider_id, full, frozenset({own_org}), requester_id=requester_id)
