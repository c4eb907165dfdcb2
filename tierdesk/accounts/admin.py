from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest

from tierdesk.accounts.directory import check_connection_settings
from tierdesk.accounts.models import (
    AgentProfile,
    ApiToken,
    DirectoryConnection,
    GroupMembership,
    PasswordResetChallenge,
    Requester,
    Skill,
    SupportGroup,
    TrainingRecord,
    User,
)
from tierdesk.audit.admin_mixins import AuditedModelAdmin, SecretFieldsForm
from tierdesk.core import secrets
from tierdesk.core.errors import DomainError


class AgentProfileInline(admin.StackedInline):
    model = AgentProfile
    can_delete = False
    filter_horizontal = ("skills",)


class TrainingRecordInline(admin.TabularInline):
    model = TrainingRecord
    extra = 0


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "organisation", "role", "is_active")
    list_filter = ("role", "is_active", "organisation")
    search_fields = ("email", "full_name")
    inlines = [AgentProfileInline, TrainingRecordInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name", "organisation", "role", "phone", "timezone", "language")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser")}),
    )
    add_fieldsets = (
        (
            None,
            {"classes": ("wide",), "fields": ("email", "full_name", "organisation", "role", "password1", "password2")},
        ),
    )


@admin.register(Requester)
class RequesterAdmin(AuditedModelAdmin):
    list_display = ("name", "email", "phone", "organisation", "is_org_manager", "is_vip")
    list_filter = ("organisation", "is_org_manager", "is_vip")
    search_fields = ("name", "email", "phone")
    raw_id_fields = ("user",)


class MembershipInline(admin.TabularInline):
    model = GroupMembership
    extra = 0


@admin.register(SupportGroup)
class SupportGroupAdmin(AuditedModelAdmin):
    list_display = ("name", "tier", "organisation", "assignment_strategy", "is_vendor", "is_active")
    list_filter = ("tier", "is_vendor")
    filter_horizontal = ("serves",)
    inlines = [MembershipInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("name", "user", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at")
    readonly_fields = ("key_hash", "prefix", "created_at", "last_used_at")


@admin.register(Skill)
class SkillAdmin(AuditedModelAdmin):
    list_display = ("name", "organisation")
    search_fields = ("name",)


@admin.register(TrainingRecord)
class TrainingRecordAdmin(AuditedModelAdmin):
    """Compliance training of agents: HIPAA and the like gate regulated tickets until expiry."""

    list_display = ("agent", "regime", "completed_on", "expires_on", "reference")
    list_filter = ("regime",)
    search_fields = ("agent__email", "reference")
    list_select_related = ("agent",)


# --- Tier 0 password reset: clients' directories and the resets asked of them -------------------


class DirectoryConnectionForm(SecretFieldsForm):
    secret_fields = ("bind_password",)

    bind_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="The service account's password. Stored encrypted; leave empty to keep the stored one.",
    )

    class Meta:
        model = DirectoryConnection
        fields = (
            "organisation",
            "name",
            "kind",
            "is_enabled",
            "server_url",
            "start_tls",
            "bind_dn",
            "base_dn",
            "user_filter",
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        try:
            check_connection_settings(
                server_url=str(data.get("server_url") or ""),
                start_tls=bool(data.get("start_tls")),
                kind=str(data.get("kind") or ""),
                user_filter=str(data.get("user_filter") or ""),
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.detail) from exc
        if not self.instance.pk and not data.get("bind_password"):
            self.add_error("bind_password", "A new directory needs the service account's password.")
        return data


@admin.register(DirectoryConnection)
class DirectoryConnectionAdmin(AuditedModelAdmin):
    form = DirectoryConnectionForm
    redacted_fields = ("bind_password",)
    list_display = ("name", "organisation", "kind", "server_url", "is_enabled")
    list_filter = ("kind", "is_enabled")
    list_select_related = ("organisation",)
    search_fields = ("name", "server_url", "organisation__name")
    fieldsets = (
        (None, {"fields": ("organisation", "name", "kind", "is_enabled")}),
        ("Server", {"fields": ("server_url", "start_tls", "bind_dn", "bind_password")}),
        ("People", {"fields": ("base_dn", "user_filter")}),
    )

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        password = form.cleaned_data.get("bind_password")
        if password:
            obj.bind_password_encrypted = secrets.encrypt(password)
        super().save_model(request, obj, form, change)


@admin.register(PasswordResetChallenge)
class PasswordResetChallengeAdmin(admin.ModelAdmin):
    """What was asked and how it ended. Read-only: only the requester's code moves a reset on."""

    list_display = ("created_at", "user", "organisation", "directory", "status", "attempts", "ip", "completed_at")
    list_filter = ("status",)
    list_select_related = ("user", "organisation", "directory")
    search_fields = ("user__email", "ip")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "user",
        "organisation",
        "directory",
        "status",
        "attempts",
        "ip",
        "expires_at",
        "completed_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
