"""Monitoring sources are configured in the admin: the token is shown once, when the source is made or a
new one is issued, and never again (only its hash is kept). Alerts are listed read-only."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse

from tierdesk.audit.admin_mixins import AuditedModelAdmin, SecretFieldsForm
from tierdesk.core import secrets
from tierdesk.core.actor import Actor
from tierdesk.intake.alerts import services
from tierdesk.intake.models import Alert, AlertSource


class AlertSourceForm(SecretFieldsForm):
    secret_fields = ("signing_secret",)

    signing_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Optional HMAC secret for X-Tierdesk-Signature, stored encrypted. Empty: keep the stored one.",
    )
    clear_signing_secret = forms.BooleanField(required=False, help_text="Forget the stored signing secret.")

    class Meta:
        model = AlertSource
        fields = (
            "organisation",
            "name",
            "kind",
            "requester",
            "is_active",
            "resolve_mode",
            "flap_window_minutes",
            "flap_threshold",
            "mapping",
            "severity_map",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "requester" in self.fields and self.instance.pk is None:
            self.fields["requester"].required = False  # made as "Monitoring: <name>" when left empty

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        problems = services.check_source_settings(
            kind=data.get("kind") or "", mapping=data.get("mapping") or {}, severity_map=data.get("severity_map") or {}
        )
        for problem in problems:
            self.add_error("mapping" if "mapping" in problem or "expression" in problem else None, problem)
        organisation, requester = data.get("organisation"), data.get("requester")
        if organisation is not None and requester is not None and requester.organisation_id != organisation.pk:
            self.add_error("requester", "The requester must belong to the source's organisation.")
        return data


def _webhook_url(request: HttpRequest, source: AlertSource) -> str:
    return request.build_absolute_uri(reverse("intake:alert-webhook", args=[source.pk]))


@admin.register(AlertSource)
class AlertSourceAdmin(AuditedModelAdmin):
    form = AlertSourceForm
    redacted_fields = ("signing_secret",)
    list_display = ("name", "kind", "organisation", "resolve_mode", "is_active", "token_prefix", "signed")
    list_filter = ("kind", "is_active", "resolve_mode")
    list_select_related = ("organisation",)
    search_fields = ("name",)
    raw_id_fields = ("requester",)
    readonly_fields = ("token_prefix",)
    actions = ("issue_token",)
    fieldsets = (
        (None, {"fields": ("organisation", "name", "kind", "requester", "is_active")}),
        ("Proof", {"fields": ("token_prefix", "signing_secret", "clear_signing_secret")}),
        ("Lifecycle", {"fields": ("resolve_mode", "flap_window_minutes", "flap_threshold")}),
        ("Reading", {"fields": ("mapping", "severity_map")}),
    )

    @admin.display(boolean=True, description="signed")
    def signed(self, obj: AlertSource) -> bool:
        return bool(obj.signing_secret_encrypted)

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if change:
            if data.get("clear_signing_secret"):
                obj.signing_secret_encrypted = ""
            elif data.get("signing_secret"):
                obj.signing_secret_encrypted = secrets.encrypt(data["signing_secret"])
            super().save_model(request, obj, form, change)
            return
        source, token = services.create_alert_source(
            actor=Actor.from_request(request, via="admin"),
            organisation=data["organisation"],
            name=data["name"],
            kind=data["kind"],
            requester=data.get("requester"),
            signing_secret=data.get("signing_secret") or "",
            mapping=data.get("mapping") or {},
            severity_map=data.get("severity_map") or {},
            resolve_mode=data["resolve_mode"],
            flap_window_minutes=data["flap_window_minutes"],
            flap_threshold=data["flap_threshold"],
            is_active=data["is_active"],
        )
        # The admin goes on with `obj` (its change log, its redirect): make it the row the service wrote.
        obj.__dict__.update(source.__dict__)
        self._show_token(request, source, token)

    def _show_token(self, request: HttpRequest, source: AlertSource, token: str) -> None:
        self.message_user(
            request,
            f"{source.name}: post alerts to {_webhook_url(request, source)} with the header "
            f"'Authorization: Bearer {token}'. Copy the token now: it is not shown again.",
            messages.WARNING,
        )

    @admin.action(description="Issue a new token (the old one stops working)", permissions=["change"])
    def issue_token(self, request: HttpRequest, queryset: QuerySet[AlertSource]) -> None:
        actor = Actor.from_request(request, via="admin")
        for source in queryset.select_related("organisation"):
            self._show_token(request, source, services.issue_alert_source_token(actor=actor, source=source))


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    """What monitoring reported and which incident it maps to. Read-only: alerts change by webhook."""

    list_display = ("last_seen_at", "source", "status", "severity", "summary", "ticket", "count", "is_flapping")
    list_filter = ("status", "is_flapping", "source")
    list_select_related = ("source", "ticket")
    search_fields = ("fingerprint", "summary")
    date_hierarchy = "last_seen_at"
    fields = (
        "source",
        "fingerprint",
        "status",
        "ticket",
        "severity",
        "summary",
        "labels",
        "count",
        "first_seen_at",
        "last_seen_at",
        "resolved_at",
        "last_flip_at",
        "flap_count",
        "is_flapping",
        "last_payload",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
