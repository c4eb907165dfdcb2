"""The ticket page's major-incident actions: declare, attach, confirm, detach, post an update,
resolve together; and merging a requester's duplicate ticket."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from tierdesk.core.actor import Actor
from tierdesk.core.views import agent_required
from tierdesk.major_incidents import services as majors
from tierdesk.major_incidents.access import (
    access_major_incident_of,
    access_open_major_incident,
    access_owner_group,
    panel_for,
)
from tierdesk.major_incidents.models import MajorIncident
from tierdesk.tickets import services
from tierdesk.tickets.access import access_ticket
from tierdesk.tickets.models import Ticket

TEXT = {"class": "form-control form-control-sm"}


class DeclareForm(forms.Form):
    owner_group = forms.IntegerField(min_value=1, max_value=2**31 - 1)


class AttachForm(forms.Form):
    major_incident = forms.IntegerField(min_value=1, max_value=2**31 - 1)


class UpdateForm(forms.Form):
    body = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={**TEXT, "rows": 3}))
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in MajorIncident.Status if s != MajorIncident.Status.RESOLVED],
        required=False,
    )


class ResolveForm(forms.Form):
    notes = forms.CharField(max_length=10_000, widget=forms.Textarea(attrs={**TEXT, "rows": 2}))


class MergeForm(forms.Form):
    into = forms.CharField(max_length=16, help_text="The number of the ticket that stays.")


def panel_context(actor: Actor, ticket: Ticket) -> dict[str, Any]:
    return {"mi": panel_for(actor, ticket), "mi_update_form": UpdateForm()}


def _perform(request: HttpRequest, number: str, form_class: type[forms.Form], act: Any) -> HttpResponse:
    from tierdesk.console.views import _change, _valid

    def perform(actor: Actor, ticket: Ticket) -> object:
        return act(actor, ticket, _valid(form_class(request.POST)))

    return _change(request, number, perform)


@agent_required
@require_POST
def declare(request: HttpRequest, number: str) -> HttpResponse:
    return _perform(
        request,
        number,
        DeclareForm,
        lambda actor, ticket, data: majors.declare(
            actor=actor, ticket=ticket, owner_group=access_owner_group(actor, data["owner_group"])
        ),
    )


@agent_required
@require_POST
def attach(request: HttpRequest, number: str) -> HttpResponse:
    return _perform(
        request,
        number,
        AttachForm,
        lambda actor, ticket, data: majors.attach(
            actor=actor, ticket=ticket, major=access_open_major_incident(actor, data["major_incident"])
        ),
    )


@agent_required
@require_POST
def confirm(request: HttpRequest, number: str) -> HttpResponse:
    return _perform(request, number, forms.Form, lambda actor, ticket, data: majors.confirm(actor=actor, ticket=ticket))


@agent_required
@require_POST
def detach(request: HttpRequest, number: str) -> HttpResponse:
    return _perform(request, number, forms.Form, lambda actor, ticket, data: majors.detach(actor=actor, ticket=ticket))


@agent_required
@require_POST
def post_update(request: HttpRequest, number: str) -> HttpResponse:
    return _perform(
        request,
        number,
        UpdateForm,
        lambda actor, ticket, data: majors.post_update(
            actor=actor, major=access_major_incident_of(actor, ticket), body=data["body"], status=data["status"] or None
        ),
    )


@agent_required
@require_POST
def resolve(request: HttpRequest, number: str) -> HttpResponse:
    return _perform(
        request,
        number,
        ResolveForm,
        lambda actor, ticket, data: majors.resolve(
            actor=actor, major=access_major_incident_of(actor, ticket), notes=data["notes"]
        ),
    )


@agent_required
@require_POST
def merge(request: HttpRequest, number: str) -> HttpResponse:
    return _perform(
        request,
        number,
        MergeForm,
        lambda actor, ticket, data: services.merge_tickets(
            actor=actor, duplicate=ticket, survivor=access_ticket(actor, number=data["into"].strip())
        ),
    )
