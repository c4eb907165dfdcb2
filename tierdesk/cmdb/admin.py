"""The CMDB is kept in the admin: services and items, with their dependencies. Every save is audited."""

from __future__ import annotations

from django.contrib import admin

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.cmdb.models import BusinessService, ConfigurationItem


@admin.register(BusinessService)
class BusinessServiceAdmin(AuditedModelAdmin):
    list_display = ("name", "organisation", "is_core", "is_active")
    list_filter = ("is_core", "is_active")
    list_select_related = ("organisation",)
    search_fields = ("name",)
    filter_horizontal = ("serves",)


@admin.register(ConfigurationItem)
class ConfigurationItemAdmin(AuditedModelAdmin):
    list_display = ("name", "kind", "organisation", "site", "is_core", "is_active")
    list_filter = ("kind", "is_core", "is_active")
    list_select_related = ("organisation", "site")
    search_fields = ("name",)
    filter_horizontal = ("services", "depends_on")
