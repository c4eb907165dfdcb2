"""Input validators of the knowledge base's pages. They check what was typed; services write."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.db.models import Q

from tierdesk.accounts.scope import scope_for
from tierdesk.cmdb.models import BusinessService
from tierdesk.core.actor import Actor
from tierdesk.knowledge.choices import ArticleSource, ArticleStatus, ReadSource, Visibility
from tierdesk.knowledge.filters import ArticleFilterSet
from tierdesk.knowledge.models import ArticleCategory
from tierdesk.knowledge.search import MAX_LIMIT, search_articles
from tierdesk.tenancy.models import Organisation


def _text(**attrs: Any) -> forms.TextInput:
    return forms.TextInput(attrs={"class": "form-control", **attrs})


def _area(rows: int, **attrs: Any) -> forms.Textarea:
    return forms.Textarea(attrs={"class": "form-control", "rows": rows, **attrs})


class ArticleForm(forms.Form):
    """Write or revise an article. Choices are the provider's own categories, clients and services."""

    title = forms.CharField(label="Title", max_length=250, widget=_text())
    summary = forms.CharField(
        label="Summary",
        required=False,
        help_text="One or two sentences: shown in search results, and inserted into replies with the link.",
        widget=_area(2),
    )
    body = forms.CharField(label="Article (Markdown)", max_length=200_000, widget=_area(16, spellcheck="true"))
    visibility = forms.ChoiceField(
        label="Who may read it",
        choices=Visibility.choices,
        initial=Visibility.REQUESTERS,
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    category = forms.ModelChoiceField(
        label="Category",
        queryset=ArticleCategory.objects.none(),
        required=False,
        empty_label="No category",
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    audience = forms.ModelMultipleChoiceField(
        label="Client organisations",
        queryset=Organisation.objects.none(),
        required=False,
        help_text="Requesters of these organisations may read it; none chosen means every client. "
        "Ctrl-click (⌘-click) to choose several.",
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 5}),
    )
    services = forms.ModelMultipleChoiceField(
        label="Related services",
        queryset=BusinessService.objects.none(),
        required=False,
        help_text="Ctrl-click (⌘-click) to choose several.",
        widget=forms.SelectMultiple(attrs={"class": "form-select", "size": 5}),
    )
    attribution = forms.CharField(
        label="Attribution",
        max_length=500,
        required=False,
        help_text="Whose content it is, e.g. a CC BY licence notice; shown at the bottom of the article.",
        widget=_text(),
    )
    change_note = forms.CharField(
        label="What changed",
        max_length=500,
        required=False,
        help_text="Kept with the new version in the history.",
        widget=_text(),
    )

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        scope = scope_for(actor)
        provider_id = scope.provider_id or 0
        fields: dict[str, Any] = self.fields
        fields["category"].queryset = ArticleCategory.objects.visible_to(actor).order_by("name")
        fields["audience"].queryset = (
            Organisation.objects.of_provider(provider_id).exclude(pk=provider_id).order_by("name")
        )
        # The provider's services and its clients' that this agent serves (and so may name).
        fields["services"].queryset = BusinessService.objects.used_by(scope.organisation_ids).order_by("name")


class NewArticleForm(ArticleForm):
    status = forms.ChoiceField(
        label="Status",
        choices=[(ArticleStatus.DRAFT, "Draft: only agents see it"), (ArticleStatus.PUBLISHED, "Published")],
        initial=ArticleStatus.DRAFT,
        widget=forms.Select(attrs={"class": "form-select"}),
    )

    field_order = ["title", "summary", "body", "status", "visibility"]


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=ArticleStatus.choices)


class PublishKnownErrorForm(forms.Form):
    visibility = forms.ChoiceField(
        label="Who may read it",
        choices=Visibility.choices,
        initial=Visibility.INTERNAL,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )


class FeedbackForm(forms.Form):
    helpful = forms.TypedChoiceField(
        choices=[("yes", "Yes"), ("no", "No")], coerce=lambda value: value == "yes", empty_value=None
    )
    comment = forms.CharField(
        label="What was missing or wrong? (optional)",
        max_length=2000,
        required=False,
        widget=_area(2),
    )


class ConsoleArticleFilterSet(ArticleFilterSet):
    """The API's article filters, for the console's list: the same parameters, with choices to pick
    from, and a search that finds drafts and retired articles too (words in the title or summary,
    or a full-text match)."""

    status = django_filters.ChoiceFilter(label="Status", choices=ArticleStatus.choices, empty_label="Any")
    visibility = django_filters.ChoiceFilter(label="Visibility", choices=Visibility.choices, empty_label="Any")
    source = django_filters.ChoiceFilter(label="Source", choices=ArticleSource.choices, empty_label="Any")
    category = django_filters.ChoiceFilter(field_name="category__slug", label="Category", empty_label="Any")

    def __init__(self, *args: Any, actor: Actor, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        categories = ArticleCategory.objects.visible_to(actor).order_by("name").values_list("slug", "name")
        self.filters["category"].extra["choices"] = list(categories)
        self.filters["q"].label = "Search"
        for name, filter_ in self.filters.items():
            attrs = {"id": f"kb-filter-{name}"}
            if name == "q":
                search = forms.TextInput(attrs={**attrs, "class": "form-control form-control-sm"})
                search.input_type = "search"
                filter_.extra["widget"] = search
            else:
                filter_.extra["widget"] = forms.Select(attrs={**attrs, "class": "form-select form-select-sm"})

    def filter_q(self, queryset: Any, name: str, value: str) -> Any:
        text = value.strip()
        if not text:
            return queryset
        hits = search_articles(text, actor=self.actor, limit=MAX_LIMIT, source=ReadSource.CONSOLE, log=False)
        matched = [hit.article.pk for hit in hits]
        return queryset.filter(Q(title__icontains=text) | Q(summary__icontains=text) | Q(pk__in=matched))
