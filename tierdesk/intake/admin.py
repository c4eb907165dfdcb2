"""Mailboxes are configured in the admin (the IMAP password typed in, stored encrypted, never shown);
every message received is listed there, with quarantined ones to read and replay."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from tierdesk.audit.admin_mixins import AuditedModelAdmin, SecretFieldsForm
from tierdesk.core import secrets
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.intake.mail.services import replay_quarantined
from tierdesk.intake.models import InboundEmail, Mailbox

PREVIEW_BYTES = 20_000


class MailboxForm(SecretFieldsForm):
    secret_fields = ("imap_password",)

    imap_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted. Leave empty to keep the stored one.",
    )

    class Meta:
        model = Mailbox
        fields = (
            "organisation",
            "name",
            "address",
            "kind",
            "is_active",
            "default_organisation",
            "foreign_reply_policy",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_username",
            "imap_folder",
            "after_processing",
            "processed_folder",
        )

    def clean_address(self) -> str:
        return str(self.cleaned_data["address"]).strip().lower()

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == Mailbox.Kind.IMAP and not (data.get("imap_host") and data.get("imap_username")):
            raise forms.ValidationError("An IMAP mailbox needs a host and a user name.")
        organisation, default = data.get("organisation"), data.get("default_organisation")
        if (
            organisation is not None
            and default is not None
            and default.root_provider_id != organisation.root_provider_id
        ):
            self.add_error("default_organisation", "The default client must be one of this provider's clients.")
        return data


@admin.register(Mailbox)
class MailboxAdmin(AuditedModelAdmin):
    form = MailboxForm
    redacted_fields = ("imap_password",)
    list_display = ("name", "address", "kind", "organisation", "is_active", "last_polled_at", "short_error")
    list_filter = ("kind", "is_active")
    list_select_related = ("organisation",)
    search_fields = ("name", "address")
    readonly_fields = ("last_polled_at", "last_error")
    fieldsets = (
        (None, {"fields": ("organisation", "name", "address", "kind", "is_active")}),
        ("Senders", {"fields": ("default_organisation", "foreign_reply_policy")}),
        (
            "IMAP",
            {
                "fields": (
                    "imap_host",
                    "imap_port",
                    "imap_security",
                    "imap_username",
                    "imap_password",
                    "imap_folder",
                    "after_processing",
                    "processed_folder",
                    "last_polled_at",
                    "last_error",
                )
            },
        ),
    )

    @admin.display(description="last error")
    def short_error(self, obj: Mailbox) -> str:
        return obj.last_error[:80]

    def save_model(self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool) -> None:
        password = form.cleaned_data.get("imap_password")
        if password:
            obj.imap_password_encrypted = secrets.encrypt(password)
        super().save_model(request, obj, form, change)


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    """What arrived and what became of it. Read-only: the only change is a replay, through intake."""

    list_display = ("received_at", "outcome", "from_address", "subject", "mailbox", "ticket", "short_reason")
    list_filter = ("outcome", "source", "mailbox")
    list_select_related = ("mailbox", "ticket")
    search_fields = ("subject", "from_address", "message_id")
    date_hierarchy = "received_at"
    actions = ("replay",)
    fields = (
        "received_at",
        "source",
        "mailbox",
        "outcome",
        "reason",
        "ticket",
        "from_address",
        "subject",
        "message_id",
        "size",
        "sha256",
        "replays",
        "original",
    )
    readonly_fields = fields

    @admin.display(description="reason")
    def short_reason(self, obj: InboundEmail) -> str:
        return obj.reason[:100]

    @admin.display(description="the message as it arrived")
    def original(self, obj: InboundEmail) -> str:
        raw = bytes(obj.raw)
        text = raw[:PREVIEW_BYTES].decode("utf-8", "replace")
        more = f"\n… {len(raw) - PREVIEW_BYTES} more bytes" if len(raw) > PREVIEW_BYTES else ""
        style = "white-space: pre-wrap; max-height: 40em; overflow: auto"
        return format_html('<pre style="{}">{}{}</pre>', style, text, more)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of what arrived is kept (retention decides, not a click)

    @admin.action(description="Replay the selected quarantined messages", permissions=["view"])
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        actor = Actor.from_request(request, via="admin")
        done: dict[str, int] = {}
        for record_id in queryset.filter(outcome=InboundEmail.Outcome.QUARANTINED).values_list("pk", flat=True):
            try:
                record = replay_quarantined(actor=actor, record_id=record_id)
            except DomainError as exc:
                self.message_user(request, f"{record_id}: {exc}", messages.ERROR)
                continue
            done[record.get_outcome_display()] = done.get(record.get_outcome_display(), 0) + 1
        summary = ", ".join(f"{outcome}: {count}" for outcome, count in done.items()) or "nothing to replay"
        self.message_user(request, f"Replayed — {summary}.")


from tierdesk.intake.alerts import admin as alerts_admin  # noqa: E402, F401  (monitoring sources and alerts)
