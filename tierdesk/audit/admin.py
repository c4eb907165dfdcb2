from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from tierdesk.audit.models import AuditEvent, TicketAccess


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "actor_label", "action", "object_type", "object_id", "organisation_id", "ip")
    list_filter = ("action", "via")
    search_fields = ("actor_label", "object_id", "action")


@admin.register(TicketAccess)
class TicketAccessAdmin(ReadOnlyAdmin):
    list_display = ("seq", "at", "user_label", "ticket_number", "ip", "via")
    search_fields = ("user_label", "ticket_number")
