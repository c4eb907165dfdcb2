"""Configuration edited in the Django admin is audited like any other change."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models, transaction
from django.forms import ModelForm
from django.http import HttpRequest

from tierdesk.audit.services import record_event
from tierdesk.core.actor import Actor


def _organisation_id(obj: models.Model) -> int | None:
    return getattr(obj, "organisation_id", None)


class AuditedModelAdmin(admin.ModelAdmin):
    # Fields whose values never enter the audit trail (tokens, secrets): only that they changed.
    redacted_fields: tuple[str, ...] = ()

    def save_model(self, request: HttpRequest, obj: Any, form: ModelForm, change: bool) -> None:
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            record_event(
                actor=Actor.from_request(request, via="admin"),
                action=f"{obj._meta.model_name}.{'changed' if change else 'created'}",
                obj=obj,
                organisation_id=_organisation_id(obj),
                after={
                    name: "(changed)" if name in self.redacted_fields else str(form.cleaned_data.get(name))
                    for name in form.changed_data
                },
            )

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool) -> None:
        """Inline rows (a calendar's hours, a policy's targets) are audited with their parent."""
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            saved = [str(o) for o in formset.new_objects] + [str(o) for o, _ in formset.changed_objects]
            deleted = [str(o) for o in formset.deleted_objects]
            if saved or deleted:
                record_event(
                    actor=Actor.from_request(request, via="admin"),
                    action=f"{form.instance._meta.model_name}.{formset.model._meta.model_name}_changed",
                    obj=form.instance,
                    organisation_id=_organisation_id(form.instance),
                    after={"saved": saved, "deleted": deleted},
                )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        with transaction.atomic():
            record_event(
                actor=Actor.from_request(request, via="admin"),
                action=f"{obj._meta.model_name}.deleted",
                obj=obj,
                organisation_id=_organisation_id(obj),
                before={"repr": str(obj)},
            )
            super().delete_model(request, obj)


class SecretFieldsForm(ModelForm):
    """An admin form with write-only secrets (passwords, tokens): an empty field means "keep the
    stored one", not "changed to nothing", so it is neither saved nor audited as a change."""

    secret_fields: tuple[str, ...] = ()

    @property
    def changed_data(self) -> list[str]:
        return [name for name in super().changed_data if name not in self.secret_fields or self.data.get(name)]
