"""Routing is configured in the admin: rules, the routing table, regulated scopes, shifts. Every save is audited."""

from __future__ import annotations

from django.contrib import admin

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.routing.models import AgentShift, ClassificationRule, RegulatedScope, RoutingEntry


@admin.register(ClassificationRule)
class ClassificationRuleAdmin(AuditedModelAdmin):
    list_display = ("name", "order", "organisation", "keywords", "pattern", "set_category", "set_urgency", "is_active")
    list_editable = ("order", "is_active")
    list_filter = ("is_active",)
    list_select_related = ("organisation", "set_category")
    filter_horizontal = ("set_skills",)
    fieldsets = (
        (None, {"fields": ("organisation", "name", "order", "is_active", "stop")}),
        ("When (empty: any)", {"fields": ("keywords", "pattern", "client_organisation", "site", "channel")}),
        ("Then set", {"fields": ("set_category", "set_impact", "set_urgency", "set_skills")}),
    )


@admin.register(RoutingEntry)
class RoutingEntryAdmin(AuditedModelAdmin):
    list_display = ("__str__", "client_organisation", "category", "support_group")
    list_select_related = ("client_organisation", "category", "support_group")


@admin.register(RegulatedScope)
class RegulatedScopeAdmin(AuditedModelAdmin):
    list_display = ("client_organisation", "regime")
    filter_horizontal = ("categories",)


@admin.register(AgentShift)
class AgentShiftAdmin(AuditedModelAdmin):
    list_display = ("agent", "calendar")
    list_select_related = ("agent", "calendar")
