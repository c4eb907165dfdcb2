"""Writers of people, agents, support groups and API tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from django.db import transaction

from tierdesk.accounts.choices import AssignmentStrategy, Availability, Role, TrainingRegime
from tierdesk.accounts.models import (
    AgentProfile,
    ApiToken,
    GroupMembership,
    Requester,
    Skill,
    SupportGroup,
    TrainingRecord,
    User,
    hash_token,
)
from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_event
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.core.models import check_lengths
from tierdesk.core.unset import UNSET, Changes
from tierdesk.tenancy.models import Department, Organisation, Site


def _require_org_access(actor: Actor, organisation_id: int) -> None:
    """Agents manage the people of organisations they serve; others may not manage people."""
    if actor.user is None:
        return
    scope = scope_for(actor)
    if scope.is_agent_side and organisation_id in scope.organisation_ids:
        return
    if organisation_id in scope.member_organisation_ids:
        raise PermissionDenied("Only agents may add or change people; ask the service desk.")
    raise NotFound("No such organisation, or you may not manage its people.")


def _check_places(organisation: Organisation, site: Site | None, department: Department | None) -> None:
    if site is not None and site.organisation_id != organisation.pk:
        raise DomainError("That site belongs to another organisation.")
    if department is not None and department.organisation_id != organisation.pk:
        raise DomainError("That department belongs to another organisation.")


@transaction.atomic
def create_requester(
    *,
    actor: Actor,
    organisation: Organisation,
    name: str,
    email: str = "",
    phone: str = "",
    site: Site | None = None,
    department: Department | None = None,
    timezone: str = "UTC",
    language: str = "en",
    is_org_manager: bool = False,
    is_vip: bool = False,
    user: User | None = None,
    system: bool = False,
) -> Requester:
    """`system`: a requester no person stands behind (a monitoring source's "Monitoring: <name>"),
    known by neither e-mail nor phone; nothing is ever mailed to it."""
    _require_org_access(actor, organisation.pk)
    if not name.strip():
        raise DomainError("A requester needs a name.")
    if not email and not phone and not system:
        raise DomainError("A requester needs an e-mail address or a phone number.")
    _check_places(organisation, site, department)
    email = email.strip().lower()
    if email and Requester.objects.filter(organisation=organisation, email=email).exists():
        raise DomainError(f"{organisation.name} already has a requester with e-mail {email}.")
    requester = Requester(
        organisation=organisation,
        name=name.strip(),
        email=email,
        phone=phone,
        site=site,
        department=department,
        timezone=timezone,
        language=language,
        is_org_manager=is_org_manager,
        is_vip=is_vip,
        user=user,
    )
    check_lengths(requester)
    requester.save(force_insert=True)
    record_event(
        actor=actor,
        action="requester.created",
        obj=requester,
        organisation_id=organisation.pk,
        after={"name": requester.name, "email": email, "phone": phone, "user_id": user.pk if user else None},
    )
    return requester


@dataclass(frozen=True)
class RequesterChanges(Changes):
    """Fields to change; UNSET leaves one alone, None clears a site or department."""

    name: str = UNSET
    email: str = UNSET
    phone: str = UNSET
    site: Site | None = UNSET
    department: Department | None = UNSET
    timezone: str = UNSET
    language: str = UNSET
    is_vip: bool = UNSET


@transaction.atomic
def update_requester(*, actor: Actor, requester: Requester, changes: RequesterChanges) -> Requester:
    _require_org_access(actor, requester.organisation_id)
    given = changes.given()
    _check_places(requester.organisation, given.get("site"), given.get("department"))
    if "name" in given and not given["name"].strip():
        raise DomainError("A requester needs a name.")
    if "email" in given:
        given["email"] = given["email"].strip().lower()
    if not given.get("email", requester.email) and not given.get("phone", requester.phone):
        raise DomainError("A requester needs an e-mail address or a phone number.")
    clash = Requester.objects.filter(organisation_id=requester.organisation_id, email=given.get("email"))
    if given.get("email") and clash.exclude(pk=requester.pk).exists():
        raise DomainError(f"Another requester of this organisation already has e-mail {given['email']}.")
    before = {k: str(getattr(requester, k)) for k in given}
    for key, value in given.items():
        setattr(requester, key, value)
    requester.updated_at = clock.now()
    check_lengths(requester)
    requester.save(update_fields=[*given, "updated_at"])
    record_event(
        actor=actor,
        action="requester.updated",
        obj=requester,
        organisation_id=requester.organisation_id,
        before=before,
        after={k: str(v) for k, v in given.items()},
    )
    return requester


@transaction.atomic
def create_agent(
    *,
    actor: Actor,
    provider: Organisation,
    email: str,
    full_name: str,
    password: str | None,
    role: str = Role.AGENT,
    highest_tier: int = 1,
    title: str = "",
    timezone: str = "UTC",
    language: str = "en",
) -> User:
    if not provider.is_provider:
        raise DomainError("Agents belong to the provider organisation.")
    if role not in (Role.AGENT, Role.SUPERVISOR, Role.ADMIN):
        raise DomainError(f"{role!r} is not an agent role.")
    user = User.objects.create_user(
        email,
        password,
        full_name=full_name,
        organisation=provider,
        role=role,
        timezone=timezone,
        language=language,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    AgentProfile.objects.create(user=user, highest_tier=highest_tier, title=title)
    record_event(
        actor=actor,
        action="agent.created",
        obj=user,
        organisation_id=provider.pk,
        after={"email": user.email, "role": role},
    )
    return user


@transaction.atomic
def create_requester_login(*, actor: Actor, requester: Requester, password: str | None) -> User:
    """Give a requester a portal login."""
    if requester.user_id is not None:
        raise DomainError(f"{requester} already has a login.")
    if not requester.email:
        raise DomainError("A portal login needs an e-mail address.")
    user = User.objects.create_user(
        requester.email,
        password,
        full_name=requester.name,
        organisation_id=requester.organisation_id,
        role=Role.REQUESTER,
        timezone=requester.timezone,
        language=requester.language,
    )
    requester.user = user
    requester.save(update_fields=["user"])
    record_event(
        actor=actor,
        action="requester.login_created",
        obj=user,
        organisation_id=requester.organisation_id,
        after={"requester_id": requester.pk, "email": user.email},
    )
    return user


@transaction.atomic
def create_support_group(
    *,
    actor: Actor,
    provider: Organisation,
    name: str,
    tier: int,
    serves: Iterable[Organisation] = (),
    members: Iterable[tuple[User, bool]] = (),
    email: str = "",
    is_vendor: bool = False,
    description: str = "",
) -> SupportGroup:
    if tier not in (1, 2, 3, 4):
        raise DomainError("Support groups work at tier 1, 2, 3 or 4 (tier 0 is self-service).")
    served = list(serves)
    if any(org.root_provider_id != provider.pk for org in served):
        raise DomainError("A support group can only serve its provider's client organisations.")
    group = SupportGroup.objects.create(
        organisation=provider, name=name, tier=tier, email=email, is_vendor=is_vendor, description=description
    )
    group.serves.set(served)
    for agent, is_lead in members:
        if agent.organisation_id != provider.pk or not agent.is_agent_side:
            raise DomainError(f"{agent} is not an agent of {provider.name}.")
        GroupMembership.objects.create(group=group, agent=agent, is_lead=is_lead)
    record_event(
        actor=actor,
        action="support_group.created",
        obj=group,
        organisation_id=provider.pk,
        after={"name": name, "tier": tier, "serves": [o.pk for o in served]},
    )
    return group


@transaction.atomic
def add_member(*, actor: Actor, group: SupportGroup, agent: User, is_lead: bool = False) -> GroupMembership:
    """Put an agent of the group's provider into the group (or change whether they lead it)."""
    if agent.organisation_id != group.organisation_id or not agent.is_agent_side:
        raise DomainError(f"{agent} is not an agent of the group's provider.")
    membership, _ = GroupMembership.objects.update_or_create(group=group, agent=agent, defaults={"is_lead": is_lead})
    record_event(
        actor=actor,
        action="support_group.member_set",
        obj=group,
        organisation_id=group.organisation_id,
        after={"agent": agent.pk, "is_lead": is_lead},
    )
    return membership


@transaction.atomic
def create_skill(*, actor: Actor, provider: Organisation, name: str) -> Skill:
    if not name.strip():
        raise DomainError("A skill needs a name.")
    skill, _ = Skill.objects.get_or_create(organisation=provider, name=name.strip())
    record_event(actor=actor, action="skill.created", obj=skill, organisation_id=provider.pk, after={"name": name})
    return skill


@transaction.atomic
def set_agent_routing(
    *,
    actor: Actor,
    agent: User,
    availability: str | None = None,
    capacity: int | object | None = UNSET,
    skills: Iterable[Skill] | None = None,
    languages: Iterable[str] | None = None,
) -> AgentProfile:
    """What routing knows of an agent: availability, capacity (None: no limit), skills, languages."""
    if not agent.is_agent_side:
        raise DomainError(f"{agent} is not an agent.")
    profile, _ = AgentProfile.objects.get_or_create(user=agent)
    after: dict[str, object] = {}
    if availability is not None:
        if availability not in Availability.values:
            raise DomainError(f"Availability is one of {', '.join(Availability.values)}.")
        profile.availability = after["availability"] = availability
    if capacity is not UNSET:
        if capacity is not None and (not isinstance(capacity, int) or capacity < 0):
            raise DomainError("Capacity is a number of tickets (0 or more), or empty for no limit.")
        profile.capacity = after["capacity"] = capacity
    if languages is not None:
        profile.languages = after["languages"] = sorted({code.strip().lower() for code in languages if code.strip()})
    profile.save()
    if skills is not None:
        chosen = list(skills)
        if any(skill.organisation_id != agent.organisation_id for skill in chosen):
            raise DomainError("Skills belong to the agent's provider.")
        profile.skills.set(chosen)
        after["skills"] = sorted(skill.name for skill in chosen)
    record_event(actor=actor, action="agent.routing_set", obj=agent, organisation_id=agent.organisation_id, after=after)
    return profile


@transaction.atomic
def record_training(
    *, actor: Actor, agent: User, regime: str, completed_on: date, expires_on: date, reference: str = ""
) -> TrainingRecord:
    """An agent's completed compliance training (HIPAA, PCI DSS, ...), for regulated tickets."""
    if regime not in TrainingRegime.values:
        raise DomainError(f"Unknown training regime {regime!r}.")
    if expires_on < completed_on:
        raise DomainError("Training cannot expire before it was completed.")
    if not agent.is_agent_side:
        raise DomainError(f"{agent} is not an agent.")
    record = TrainingRecord.objects.create(
        agent=agent, regime=regime, completed_on=completed_on, expires_on=expires_on, reference=reference
    )
    record_event(
        actor=actor,
        action="training.recorded",
        obj=agent,
        organisation_id=agent.organisation_id,
        after={"regime": regime, "completed_on": str(completed_on), "expires_on": str(expires_on)},
    )
    return record


@transaction.atomic
def set_assignment_strategy(*, actor: Actor, group: SupportGroup, strategy: str) -> SupportGroup:
    if strategy not in AssignmentStrategy.values:
        raise DomainError(f"Assignment strategy is one of {', '.join(AssignmentStrategy.values)}.")
    before = group.assignment_strategy
    group.assignment_strategy = strategy
    group.save(update_fields=["assignment_strategy"])
    record_event(
        actor=actor,
        action="support_group.strategy_set",
        obj=group,
        organisation_id=group.organisation_id,
        before={"assignment_strategy": before},
        after={"assignment_strategy": strategy},
    )
    return group


TOKEN_PREFIX = "td_"


@transaction.atomic
def issue_api_token(*, actor: Actor, user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a personal API token. Returns the token row and the secret, shown only once."""
    if actor.user is not None and actor.user.pk != user.pk and actor.user.role != Role.ADMIN:
        raise PermissionDenied("You may only create tokens for yourself.")
    if not name.strip():
        raise DomainError("Give the token a name, so you can recognise it later.")
    if expires_at is not None and expires_at <= clock.now():
        raise DomainError("The expiry must be in the future.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name.strip(), prefix=raw[:10], key_hash=hash_token(raw), expires_at=expires_at
    )
    record_event(
        actor=actor,
        action="api_token.issued",
        obj=token,
        organisation_id=user.organisation_id,
        after={"name": token.name, "prefix": token.prefix, "user_id": user.pk},
    )
    return token, raw


@transaction.atomic
def revoke_api_token(*, actor: Actor, token: ApiToken) -> ApiToken:
    if actor.user is not None and actor.user.pk != token.user_id and actor.user.role != Role.ADMIN:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        record_event(
            actor=actor,
            action="api_token.revoked",
            obj=token,
            organisation_id=token.user.organisation_id,
            after={"prefix": token.prefix},
        )
    return token
