"""Console input: one small form per change. Forms validate; services decide and write.

Choices are always drawn from what the acting agent may see (visible_to querysets, the
ticket's own organisation), so a posted id from elsewhere is simply "not a valid choice".
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from tierdesk.accounts.models import Requester, SupportGroup, User
from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.routing.models import EngineeringTracker
from tierdesk.tenancy.models import Site
from tierdesk.tickets import workflow
from tierdesk.tickets.choices import Level, ResolutionCode, TicketStatus, TicketType
from tierdesk.tickets.models import Category, Ticket
from tierdesk.tickets.querysets import TICKET_NUMBER

BULK_LIMIT = 200
RESOLUTION_CHOICES = [("", "Choose a resolution code"), *ResolutionCode.choices]
# Statuses one may ask for; New and Assigned follow the assignee instead.
REQUESTABLE_STATUSES = [(s.value, s.label) for s in TicketStatus if s not in (TicketStatus.NEW, TicketStatus.ASSIGNED)]

SELECT = {"class": "form-select form-select-sm"}
TEXT = {"class": "form-control form-control-sm"}


# --- choices, scoped to the actor ----------------------------------------------------------


def active_categories() -> QuerySet[Category]:
    """The category tree is shared configuration of the installation, not tenant data."""
    return Category.objects.active().order_by("path")


def provider_agents(actor: Actor) -> QuerySet[User]:
    """Active agents of the actor's provider (the same set the API accepts as assignees)."""
    scope = scope_for(actor)
    if not scope.is_agent_side:
        return User.objects.none()
    return User.objects.agents_of(scope.provider_id)


def groups_for(actor: Actor, ticket: Ticket) -> QuerySet[SupportGroup]:
    """Active support groups that may take this ticket: those serving its organisation."""
    groups = SupportGroup.objects.visible_to(actor).filter(is_active=True)
    if ticket.organisation_id != scope_for(actor).provider_id:
        groups = groups.filter(serves=ticket.organisation_id)
    return groups.order_by("tier", "name")


def eligible_assignees(actor: Actor, ticket: Ticket) -> QuerySet[User]:
    """Members of the ticket's group, or of any group serving its organisation; plus whoever has it."""
    agents = provider_agents(actor)
    if ticket.support_group_id is not None:
        members = Q(memberships__group_id=ticket.support_group_id)
    else:
        members = Q(memberships__group__in=groups_for(actor, ticket).values("pk"))
    if ticket.assignee_id is not None:
        members |= Q(pk=ticket.assignee_id)
    return agents.filter(members).distinct().order_by("full_name")


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.full_name or obj.email)


class CategoryChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.path or obj.name)


# --- the ticket page: each inline change carries the version it was made against -------------


class PrefixedIds:
    """Several forms share one page: each prefixes its element ids (`id_prefix`) to keep them unique."""

    id_prefix = "id"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", f"{self.id_prefix}-%s")
        super().__init__(*args, **kwargs)


class VersionedForm(PrefixedIds, forms.Form):
    version = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class StatusForm(VersionedForm):
    id_prefix = "status"
    status = forms.ChoiceField(label="New status", widget=forms.Select(attrs=SELECT))
    resolution_code = forms.ChoiceField(
        label="Resolution code", choices=RESOLUTION_CHOICES, required=False, widget=forms.Select(attrs=SELECT)
    )
    resolution_notes = forms.CharField(
        label="Resolution notes",
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={**TEXT, "rows": 3}),
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        targets = workflow.allowed_targets(ticket.status)
        self.fields["status"].choices = [("", "Choose…")] + [(s, TicketStatus(s).label) for s in targets]  # type: ignore[attr-defined]


class PriorityForm(VersionedForm):
    id_prefix = "priority"
    impact = forms.ChoiceField(label="Impact", choices=Level.choices, widget=forms.Select(attrs=SELECT))
    urgency = forms.ChoiceField(label="Urgency", choices=Level.choices, widget=forms.Select(attrs=SELECT))


class CategoryForm(VersionedForm):
    id_prefix = "category"
    category = CategoryChoiceField(
        label="Category",
        queryset=Category.objects.none(),
        required=False,
        empty_label="No category",
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = active_categories()  # type: ignore[attr-defined]


class GroupForm(VersionedForm):
    id_prefix = "group"
    support_group = forms.ModelChoiceField(
        label="Support group",
        queryset=SupportGroup.objects.none(),
        required=False,
        empty_label="No group",
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, actor: Actor, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["support_group"].queryset = groups_for(actor, ticket)  # type: ignore[attr-defined]


class EscalateForm(VersionedForm):
    """Move the ticket to another tier; the note says what was tried (up) or why it goes back (down)."""

    id_prefix = "escalate"
    to_tier = forms.TypedChoiceField(label="To tier", coerce=int, widget=forms.Select(attrs=SELECT))
    note = forms.CharField(
        label="What was tried, or why it goes back",
        max_length=5_000,
        widget=forms.Textarea(attrs={**TEXT, "rows": 2}),
    )

    def __init__(self, *args: Any, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["to_tier"].choices = [  # type: ignore[attr-defined]
            (tier, f"Tier {tier}{' (escalate)' if tier > ticket.tier else ' (de-escalate)'}")
            for tier in (1, 2, 3, 4)
            if tier != ticket.tier
        ]


class VendorForm(VersionedForm):
    """Hand the ticket to a vendor serving this client; the message goes to the vendor by e-mail."""

    id_prefix = "vendor"
    vendor = forms.ModelChoiceField(
        label="Vendor", queryset=SupportGroup.objects.none(), empty_label=None, widget=forms.Select(attrs=SELECT)
    )
    message = forms.CharField(
        label="Message to the vendor", max_length=10_000, widget=forms.Textarea(attrs={**TEXT, "rows": 3})
    )

    def __init__(self, *args: Any, actor: Actor, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["vendor"].queryset = (  # type: ignore[attr-defined]
            SupportGroup.objects.visible_to(actor)
            .filter(is_vendor=True, is_active=True, serves=ticket.organisation_id)
            .order_by("name")
        )


class EngineeringForm(VersionedForm):
    """Send a code defect to engineering: an issue in one of the provider's trackers."""

    id_prefix = "engineering"
    tracker = forms.ModelChoiceField(
        label="Tracker", queryset=EngineeringTracker.objects.none(), empty_label=None, widget=forms.Select(attrs=SELECT)
    )
    reproduction_steps = forms.CharField(
        label="Steps to reproduce", max_length=20_000, widget=forms.Textarea(attrs={**TEXT, "rows": 3})
    )
    environment = forms.CharField(
        label="Environment", required=False, max_length=5_000, widget=forms.Textarea(attrs={**TEXT, "rows": 2})
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["tracker"].queryset = EngineeringTracker.objects.visible_to(actor).order_by("name")  # type: ignore[attr-defined]


class AssigneeForm(VersionedForm):
    id_prefix = "assignee"
    assignee = AgentChoiceField(
        label="Assignee",
        queryset=User.objects.none(),
        required=False,
        empty_label="Nobody",
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, actor: Actor, ticket: Ticket, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = eligible_assignees(actor, ticket)  # type: ignore[attr-defined]


class AssignToMeForm(VersionedForm):
    id_prefix = "assign-me"


class ComposeForm(PrefixedIds, forms.Form):
    id_prefix = "compose"
    KINDS = [("reply", "Public reply"), ("note", "Internal note")]

    kind = forms.ChoiceField(choices=KINDS, initial="reply", widget=forms.RadioSelect)
    body = forms.CharField(
        label="Message (Markdown)",
        max_length=100_000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 5}),
        error_messages={"required": "Write something first."},
    )


# --- the queue page ----------------------------------------------------------------------------


class TicketNumbersField(forms.MultipleChoiceField):
    """Ticket numbers as posted by the queue's checkboxes (scope is checked when loading them)."""

    def valid_value(self, value: Any) -> bool:
        return bool(TICKET_NUMBER.fullmatch(str(value)))


class BulkForm(PrefixedIds, forms.Form):
    id_prefix = "bulk"
    ACTIONS = [
        ("assign", "Assign"),
        ("status", "Change status"),
        ("priority", "Change priority"),
        ("note", "Add an internal note"),
    ]

    tickets = TicketNumbersField(error_messages={"required": "Select at least one ticket first."})
    action = forms.ChoiceField(label="Action", choices=ACTIONS, widget=forms.Select(attrs=SELECT))
    assignee = forms.ChoiceField(label="Assign to", required=False, widget=forms.Select(attrs=SELECT))
    status = forms.ChoiceField(
        label="Status", choices=REQUESTABLE_STATUSES, required=False, widget=forms.Select(attrs=SELECT)
    )
    resolution_code = forms.ChoiceField(
        label="Resolution code", choices=RESOLUTION_CHOICES, required=False, widget=forms.Select(attrs=SELECT)
    )
    resolution_notes = forms.CharField(
        label="Resolution notes", required=False, max_length=20_000, widget=forms.TextInput(attrs=TEXT)
    )
    impact = forms.ChoiceField(label="Impact", choices=Level.choices, required=False, widget=forms.Select(attrs=SELECT))
    urgency = forms.ChoiceField(
        label="Urgency", choices=Level.choices, required=False, widget=forms.Select(attrs=SELECT)
    )
    note = forms.CharField(
        label="Note", required=False, max_length=100_000, widget=forms.Textarea(attrs={**TEXT, "rows": 1})
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self._agents = {str(agent.pk): agent for agent in provider_agents(actor).order_by("full_name")}
        self.fields["assignee"].choices = [  # type: ignore[attr-defined]
            ("me", "Me"),
            ("", "Nobody (unassign)"),
            *((pk, agent.full_name or agent.email) for pk, agent in self._agents.items()),
        ]

    def clean_tickets(self) -> list[str]:
        numbers = list(dict.fromkeys(str(n).upper() for n in self.cleaned_data["tickets"]))
        if len(numbers) > BULK_LIMIT:
            raise forms.ValidationError(f"Select at most {BULK_LIMIT} tickets at a time.")
        return numbers

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        action = data.get("action")
        if action == "status" and not data.get("status"):
            self.add_error("status", "Choose the new status.")
        if action == "priority" and not (data.get("impact") and data.get("urgency")):
            self.add_error("impact", "Choose impact and urgency.")
        if action == "note" and not str(data.get("note", "")).strip():
            self.add_error("note", "Write the note.")
        return data

    def chosen_assignee(self) -> User | None:
        value = self.cleaned_data.get("assignee") or ""
        if value == "me":
            return self.actor.user
        return self._agents.get(value)


class SaveViewForm(PrefixedIds, forms.Form):
    id_prefix = "view"
    name = forms.CharField(label="Name of this view", max_length=80, widget=forms.TextInput(attrs=TEXT))
    query = forms.CharField(max_length=1000, required=False, widget=forms.HiddenInput)


# --- log a call ----------------------------------------------------------------------------------


class LogCallForm(PrefixedIds, forms.Form):
    id_prefix = "call"
    # The caller card sits beside the form, so its inputs name the form they belong to.
    requester = forms.ModelChoiceField(
        queryset=Requester.objects.none(),
        widget=forms.HiddenInput(attrs={"form": "call-form"}),
        error_messages={"required": "Find and choose the caller first.", "invalid_choice": "Choose the caller again."},
    )
    site = forms.ModelChoiceField(
        label="Site",
        queryset=Site.objects.none(),
        required=False,
        empty_label="No site",
        widget=forms.Select(attrs={**SELECT, "form": "call-form"}),
    )
    title = forms.CharField(label="Summary", max_length=250, widget=forms.TextInput(attrs={"class": "form-control"}))
    ticket_type = forms.ChoiceField(
        label="Type", choices=TicketType.choices, initial=TicketType.INCIDENT, widget=forms.Select(attrs=SELECT)
    )
    category = CategoryChoiceField(
        label="Category",
        queryset=Category.objects.none(),
        required=False,
        empty_label="No category",
        widget=forms.Select(attrs=SELECT),
    )
    impact = forms.ChoiceField(
        label="Impact", choices=Level.choices, initial=Level.MEDIUM, widget=forms.Select(attrs=SELECT)
    )
    urgency = forms.ChoiceField(
        label="Urgency", choices=Level.choices, initial=Level.MEDIUM, widget=forms.Select(attrs=SELECT)
    )
    notes = forms.CharField(
        label="Notes (Markdown)",
        required=False,
        max_length=100_000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 5}),
    )
    resolved_on_call = forms.BooleanField(
        label="Resolved on the call", required=False, widget=forms.CheckboxInput(attrs={"class": "form-check-input"})
    )
    resolution_code = forms.ChoiceField(
        label="Resolution code",
        choices=ResolutionCode.choices,
        initial=ResolutionCode.FIXED,
        required=False,
        widget=forms.Select(attrs=SELECT),
    )

    def __init__(self, *args: Any, actor: Actor, caller: Requester | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        callers = Requester.objects.visible_to(actor).filter(is_active=True).select_related("organisation", "site")
        self.fields["requester"].queryset = callers  # type: ignore[attr-defined]
        self.fields["category"].queryset = active_categories()  # type: ignore[attr-defined]
        if caller is None and self.is_bound:
            caller = callers.filter(pk=_int(self.data.get("requester"))).first()
        self.caller = caller
        if caller is not None:
            self.fields["site"].queryset = Site.objects.within([caller.organisation_id])  # type: ignore[attr-defined]
            self.initial.setdefault("requester", caller.pk)
            self.initial.setdefault("site", caller.site_id)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
