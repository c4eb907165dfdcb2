"""People: login accounts, requesters (who may have no login), agents and support groups."""

from __future__ import annotations

import hashlib
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models

from tierdesk.accounts.choices import AssignmentStrategy, Availability, Role, Tier, TrainingRegime
from tierdesk.accounts.querysets import RequesterQuerySet, SupportGroupQuerySet
from tierdesk.core import clock
from tierdesk.core.models import TenantModel, TimestampedModel


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> User:
        if not email:
            raise ValueError("A user needs an e-mail address")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def agents_of(self, provider_id: int | None) -> models.QuerySet[User]:
        """Active agents, supervisors and admins of one provider."""
        return self.filter(
            organisation_id=provider_id or 0, is_active=True, role__in=[Role.AGENT, Role.SUPERVISOR, Role.ADMIN]
        )

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        from tierdesk.tenancy.models import Organisation

        if "organisation" not in fields and "organisation_id" not in fields:
            provider = Organisation.objects.filter(kind="provider").order_by("pk").first()
            if provider is None:
                raise ValueError("Create the provider organisation first (tierdesk demo-data does)")
            fields["organisation"] = provider
        fields.update(is_staff=True, is_superuser=True, role=Role.ADMIN)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A login. Agents have an AgentProfile; requesters who log in have a Requester record."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="users")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REQUESTER)
    phone = models.CharField(max_length=40, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    language = models.CharField(max_length=16, default="en")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May use the Django admin.")
    date_joined = models.DateTimeField(default=clock.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]
        indexes = [models.Index(fields=["organisation", "role"], name="user_org_role")]

    def __str__(self) -> str:
        return self.full_name or self.email

    @property
    def is_agent_side(self) -> bool:
        return self.role in (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)


class Requester(TenantModel):
    """Someone who asks for help. Known by e-mail or phone; may never log in."""

    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    site = models.ForeignKey("tenancy.Site", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    department = models.ForeignKey(
        "tenancy.Department", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    timezone = models.CharField(max_length=64, default="UTC")
    language = models.CharField(max_length=16, default="en")
    is_org_manager = models.BooleanField(
        default=False, help_text="Sees every ticket of the organisation in the portal."
    )
    is_vip = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    user = models.OneToOneField(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="requester_profile"
    )

    objects = RequesterQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        indexes = [
            models.Index(fields=["organisation", "email"], name="requester_org_email"),
            models.Index(fields=["organisation", "name"], name="requester_org_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Skill(TenantModel):
    """Something an agent can do and a ticket may need (e.g. "Cisco routing", "Epic EHR"). Owned by the provider."""

    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="skill_unique_name")]

    def __str__(self) -> str:
        return self.name


class AgentProfile(TimestampedModel):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="agent_profile")
    title = models.CharField(max_length=120, blank=True)
    highest_tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.TIER_1)
    skills = models.ManyToManyField(Skill, blank=True, related_name="agents")
    languages: Any = models.JSONField(default=list, blank=True, help_text='Languages spoken, e.g. ["en", "de"].')
    availability = models.CharField(max_length=12, choices=Availability.choices, default=Availability.AVAILABLE)
    capacity = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Most open tickets assigned at once; empty: no limit."
    )

    def __str__(self) -> str:
        return f"Agent {self.user}"


class SupportGroup(TenantModel):
    """A team at one tier, owned by the provider and serving a set of client organisations."""

    name = models.CharField(max_length=120)
    tier = models.PositiveSmallIntegerField(choices=Tier.choices, default=Tier.TIER_1)
    assignment_strategy = models.CharField(
        max_length=16, choices=AssignmentStrategy.choices, default=AssignmentStrategy.MANUAL
    )
    email = models.EmailField(blank=True)
    description = models.TextField(blank=True)
    is_vendor = models.BooleanField(default=False, help_text="An external vendor or manufacturer team.")
    is_active = models.BooleanField(default=True)
    serves = models.ManyToManyField("tenancy.Organisation", related_name="served_by_groups", blank=True)
    members: models.ManyToManyField[User, GroupMembership] = models.ManyToManyField(
        User, through="GroupMembership", related_name="support_groups"
    )

    objects = SupportGroupQuerySet.as_manager()

    class Meta:
        ordering = ["tier", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "name"], name="group_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} (T{self.tier})"


class GroupMembership(models.Model):
    group = models.ForeignKey(SupportGroup, on_delete=models.CASCADE, related_name="memberships")
    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    is_lead = models.BooleanField(default=False)
    # Round-robin: the member given a ticket longest ago goes next.
    last_assigned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "agent"], name="membership_unique")]

    def __str__(self) -> str:
        return f"{self.agent} in {self.group}"


class TrainingRecord(TimestampedModel):
    """Proof an agent completed training for a compliance regime (e.g. HIPAA), valid until it expires."""

    agent = models.ForeignKey(User, on_delete=models.CASCADE, related_name="training_records")
    regime = models.CharField(max_length=16, choices=TrainingRegime.choices)
    completed_on = models.DateField()
    expires_on = models.DateField()
    reference = models.CharField(max_length=120, blank=True, help_text="Certificate or course reference.")

    class Meta:
        ordering = ["agent", "regime", "-expires_on"]
        indexes = [models.Index(fields=["agent", "regime", "expires_on"], name="training_agent_regime")]

    def __str__(self) -> str:
        return f"{self.get_regime_display()} for {self.agent} until {self.expires_on}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class ApiToken(models.Model):
    """A personal API token. Only its SHA-256 is stored; the secret is shown once."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, help_text="First characters, to recognise a token.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=clock.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_usable(self) -> bool:
        now = clock.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class DirectoryConnection(TenantModel):
    """A client organisation's own LDAP directory, where Tier 0 self-service resets passwords.

    The service account's password is stored encrypted (core.secrets) and never shown again.
    An MSP's clients each have their own directory; at most one per organisation is enabled.
    """

    class Kind(models.TextChoices):
        OPENLDAP = "openldap", "OpenLDAP (RFC 3062 Password Modify)"
        ACTIVE_DIRECTORY = "active_directory", "Active Directory (unicodePwd, needs TLS)"

    name = models.CharField(max_length=120)
    server_url = models.CharField(
        max_length=300, help_text="ldaps://host:636, or ldap://host:389 with STARTTLS (plain ldap:// on loopback only)."
    )
    start_tls = models.BooleanField(default=False, help_text="Upgrade an ldap:// connection with STARTTLS.")
    bind_dn = models.CharField(max_length=500, help_text="The service account that may change users' passwords.")
    bind_password_encrypted = models.TextField(blank=True, editable=False)
    base_dn = models.CharField(max_length=500, help_text="Where people are searched, e.g. ou=people,dc=example,dc=org.")
    user_filter = models.CharField(
        max_length=500,
        default="(mail={email})",
        help_text="LDAP filter finding one person; {email} and {username} (the e-mail's local part) are escaped.",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.OPENLDAP)
    is_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"], condition=models.Q(is_enabled=True), name="directory_one_enabled_per_org"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.server_url})"


class PasswordResetChallenge(TenantModel):
    """One self-service password reset: a one-time code mailed to the user, proved within ten minutes.

    Only an HMAC of the code is stored (keyed with SECRET_KEY, so a database dump alone cannot be
    brute-forced over the million codes).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for the code"
        CHANGING = "changing", "Changing the password in the directory"
        COMPLETED = "completed", "Password changed"
        LOCKED = "locked", "Locked after too many wrong codes"
        EXPIRED = "expired", "Expired"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_reset_challenges")
    directory = models.ForeignKey(DirectoryConnection, on_delete=models.CASCADE, related_name="challenges")
    code_hash = models.CharField(max_length=64, editable=False)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    ip = models.GenericIPAddressField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organisation", "user", "created_at"], name="pwreset_org_user_created"),
            # The per-address limit spans tenants: one source trying many organisations' accounts.
            models.Index(fields=["ip", "created_at"], name="pwreset_ip_created"),
        ]

    def __str__(self) -> str:
        return f"Password reset for {self.user} ({self.status})"
