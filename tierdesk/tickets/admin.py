from typing import Any

from django.contrib import admin
from django.forms import ModelForm
from django.http import HttpRequest

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.tickets.models import Category, PriorityRule, Ticket


@admin.register(Category)
class CategoryAdmin(AuditedModelAdmin):
    list_display = ("path", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "path")
    exclude = ("path",)

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        from tierdesk.tickets.categories import full_path

        obj.path = full_path(obj)
        super().save_model(request, obj, form, change)


@admin.register(PriorityRule)
class PriorityRuleAdmin(AuditedModelAdmin):
    list_display = ("impact", "urgency", "priority")
    list_editable = ("priority",)
    list_display_links = None


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only: tickets change only through the services (console and API)."""

    list_display = ("number", "title", "organisation", "status", "priority", "tier", "assignee", "created_at")
    list_filter = ("status", "priority", "tier", "channel")
    search_fields = ("number", "title")
    list_select_related = ("organisation", "assignee")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
