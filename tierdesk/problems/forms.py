"""Console input for problems and known errors. Forms validate; services decide and write.

Choices come from what the acting agent may see (the provider's support groups), so a
posted id from elsewhere is "not a valid choice".
"""

from __future__ import annotations

from typing import Any

from django import forms

from tierdesk.accounts.models import SupportGroup
from tierdesk.core.actor import Actor
from tierdesk.problems import workflow
from tierdesk.problems.choices import FixStatus, ProblemStatus
from tierdesk.tickets.querysets import TICKET_NUMBER

SELECT = {"class": "form-select form-select-sm"}
TEXT = {"class": "form-control form-control-sm"}


def _area(rows: int) -> forms.Textarea:
    return forms.Textarea(attrs={**TEXT, "rows": rows})


class _Prefixed(forms.Form):
    """Several forms share one page: each prefixes its element ids to keep them unique."""

    id_prefix = "id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


def _groups(actor: Actor) -> Any:
    return SupportGroup.objects.visible_to(actor).filter(is_active=True).order_by("tier", "name")


class TicketNumberField(forms.CharField):
    def clean(self, value: Any) -> str:
        text = str(super().clean(value) or "").strip().upper()
        if text and not TICKET_NUMBER.fullmatch(text):
            raise forms.ValidationError("Give a ticket number, e.g. INC0001234.")
        return text


class NewProblemForm(_Prefixed):
    id_prefix = "new-problem"
    title = forms.CharField(label="Title", max_length=250, widget=forms.TextInput(attrs=TEXT))
    description = forms.CharField(label="Description", required=False, max_length=100_000, widget=_area(3))
    owner_group = forms.ModelChoiceField(
        label="Owner group", queryset=SupportGroup.objects.none(), required=False, widget=forms.Select(attrs=SELECT)
    )
    # Set by the "Raise a problem" action of a ticket page: the incident to link.
    ticket = TicketNumberField(required=False, widget=forms.HiddenInput)
    major_incident = forms.BooleanField(label="Raised from this major incident", required=False)

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_group"].queryset = _groups(actor)  # type: ignore[attr-defined]


class OwnerGroupForm(_Prefixed):
    id_prefix = "owner"
    owner_group = forms.ModelChoiceField(
        label="Owner group",
        queryset=SupportGroup.objects.none(),
        required=False,
        empty_label="Nobody",
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner_group"].queryset = _groups(actor)  # type: ignore[attr-defined]


class ProblemStatusForm(_Prefixed):
    id_prefix = "problem-status"
    status = forms.ChoiceField(label="New status", widget=forms.Select(attrs=SELECT))
    note = forms.CharField(label="Why (optional)", required=False, max_length=20_000, widget=_area(2))

    def __init__(self, *args: Any, status: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        targets = workflow.allowed_targets(status)
        self.fields["status"].choices = [("", "Choose…")] + [(s, ProblemStatus(s).label) for s in targets]  # type: ignore[attr-defined]


class RootCauseForm(_Prefixed):
    id_prefix = "root-cause"
    root_cause = forms.CharField(label="Root cause", required=False, max_length=100_000, widget=_area(4))


class ProblemNoteForm(_Prefixed):
    id_prefix = "problem-note"
    body = forms.CharField(
        label="Note",
        max_length=100_000,
        widget=_area(3),
        error_messages={"required": "Write something first."},
    )


class LinkIncidentForm(_Prefixed):
    id_prefix = "link"
    ticket = TicketNumberField(label="Incident number", max_length=16, widget=forms.TextInput(attrs=TEXT))


class KnownErrorForm(_Prefixed):
    id_prefix = "known-error"
    title = forms.CharField(label="Title", max_length=250, widget=forms.TextInput(attrs=TEXT))
    symptoms = forms.CharField(label="Symptoms (as people report them)", max_length=20_000, widget=_area(3))
    workaround = forms.CharField(label="Workaround (goes into the reply)", max_length=20_000, widget=_area(3))
    fix_status = forms.ChoiceField(
        label="Fix status", choices=FixStatus.choices, initial=FixStatus.NONE, widget=forms.Select(attrs=SELECT)
    )


class KnownErrorFixForm(forms.Form):
    """Per known error on the problem page: ids carry the known error's id."""

    fix_status = forms.ChoiceField(label="Fix status", choices=FixStatus.choices, widget=forms.Select(attrs=SELECT))
    is_active = forms.BooleanField(label="Suggested on tickets", required=False)

    def __init__(self, *args: Any, known_error_id: int, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"known-error-{known_error_id}-%s")
        super().__init__(*args, **kwargs)
