"""One FilterSet for the ticket list, used by the web pages and the API alike."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import QuerySet

from tierdesk.tickets.choices import Channel, Priority, TicketStatus, TicketType
from tierdesk.tickets.models import Ticket

MAX_ID = 2**63 - 1  # the largest primary key a database can hold


class IdFilter(django_filters.Filter):
    """A reference by id: a whole number a database can hold, else a 400 (not a decimal, not 1e259)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class TicketFilterSet(django_filters.FilterSet):
    # distinct=False: no to-many join here, and DISTINCT over every column forced a full
    # sort of all matches before the page could be taken (50 ms -> 0.5 ms on PostgreSQL).
    status = django_filters.MultipleChoiceFilter(choices=TicketStatus.choices, distinct=False)
    priority = django_filters.MultipleChoiceFilter(choices=Priority.choices, distinct=False)
    ticket_type = django_filters.ChoiceFilter(choices=TicketType.choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    organisation = IdFilter(field_name="organisation_id")
    support_group = IdFilter(field_name="support_group_id")
    assignee = IdFilter(field_name="assignee_id")
    unassigned = django_filters.BooleanFilter(field_name="assignee", lookup_expr="isnull")
    requester = IdFilter(field_name="requester_id")
    tier = IdFilter(field_name="tier", max_value=4)
    category = IdFilter(field_name="category_id")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")
    updated_after = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    updated_before = django_filters.IsoDateTimeFilter(field_name="updated_at", lookup_expr="lt")
    q = django_filters.CharFilter(method="filter_text", label="Text (number, title, description, requester)")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_text(self, queryset: QuerySet[Ticket], name: str, value: str) -> QuerySet[Ticket]:
        return queryset.search(value)  # type: ignore[attr-defined]
