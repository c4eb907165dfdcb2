from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from tierdesk.accounts.models import (
    AgentProfile,
    ApiToken,
    GroupMembership,
    Requester,
    Skill,
    SupportGroup,
    TrainingRecord,
    User,
)
from tierdesk.audit.admin_mixins import AuditedModelAdmin


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
