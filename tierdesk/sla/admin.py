"""Service levels are configured in the admin; every save is audited and re-reads open clocks."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.forms import ModelForm
from django.http import HttpRequest

from tierdesk.audit.admin_mixins import AuditedModelAdmin
from tierdesk.sla.models import (
    BusinessCalendar,
    CalendarHoliday,
    EscalationRequest,
    SlaAction,
    SlaClock,
    SlaPolicy,
    SlaTarget,
    WorkingHours,
)
from tierdesk.sla.tasks import recompute_provider_clocks


class RecomputesClocks(AuditedModelAdmin):
    """A changed calendar, policy or target re-reads the provider's open clocks after commit."""

    def _provider_id(self, obj: Any) -> int:
        raise NotImplementedError

    def _recompute(self, obj: Any) -> None:
        provider_id = self._provider_id(obj)
        transaction.on_commit(lambda: recompute_provider_clocks.delay(provider_id))

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        self._recompute(form.instance)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        provider_id = self._provider_id(obj)
        super().delete_model(request, obj)
        transaction.on_commit(lambda: recompute_provider_clocks.delay(provider_id))


class WorkingHoursInline(admin.TabularInline):
    model = WorkingHours
    extra = 0


class CalendarHolidayInline(admin.TabularInline):
    model = CalendarHoliday
    extra = 0


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(RecomputesClocks):
    list_display = ("name", "organisation", "timezone", "always_open", "holiday_country", "holiday_subdivision")
    list_select_related = ("organisation",)
    inlines = [WorkingHoursInline, CalendarHolidayInline]

    def _provider_id(self, obj: Any) -> int:
        return int(obj.organisation_id)


class SlaTargetInline(admin.TabularInline):
    model = SlaTarget
    extra = 0
    show_change_link = True  # a target's warning and breach actions are edited on its own page


@admin.register(SlaPolicy)
class SlaPolicyAdmin(RecomputesClocks):
    list_display = ("name", "organisation", "order", "calendar", "ticket_type", "priorities", "is_active")
    list_filter = ("is_active",)
    list_select_related = ("organisation", "calendar")
    filter_horizontal = ("client_organisations", "categories")
    inlines = [SlaTargetInline]

    def _provider_id(self, obj: Any) -> int:
        return int(obj.organisation_id)


class SlaActionInline(admin.TabularInline):
    model = SlaAction
    extra = 0


@admin.register(SlaTarget)
class SlaTargetAdmin(RecomputesClocks):
    list_display = ("policy", "kind", "priority", "minutes", "warn_at_percent")
    list_select_related = ("policy",)
    inlines = [SlaActionInline]

    def _provider_id(self, obj: Any) -> int:
        return int(obj.policy.organisation_id)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(EscalationRequest)
class EscalationRequestAdmin(ReadOnlyAdmin):
    """Read-only: requests are written by the SLA engine and carried out by routing."""

    list_display = ("ticket", "from_tier", "to_tier", "reason", "state", "created_at")
    list_filter = ("state", "to_tier")
    list_select_related = ("ticket",)


@admin.register(SlaClock)
class SlaClockAdmin(ReadOnlyAdmin):
    """Read-only: clocks are readings of the tickets' events, recomputed, never edited."""

    list_display = ("ticket", "kind", "owner", "state", "due_at", "elapsed_seconds", "target_seconds")
    list_filter = ("state", "kind")
    list_select_related = ("ticket",)
