"""Declaration rules are configured in the admin; major incidents are run from the ticket page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.major_incidents.models import DeclarationRule, MajorIncident


@admin.register(DeclarationRule)
class DeclarationRuleAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "threshold", "window_minutes", "owner_group", "is_active")
    list_filter = ("kind", "is_active")
    list_select_related = ("owner_group",)


@admin.register(MajorIncident)
class MajorIncidentAdmin(admin.ModelAdmin):
    list_display = ("ticket", "status", "owner_group", "service", "item", "site", "declared_at", "resolved_at")
    list_filter = ("status",)
    list_select_related = ("ticket", "owner_group", "service", "item", "site")
    readonly_fields = [f.name for f in MajorIncident._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
