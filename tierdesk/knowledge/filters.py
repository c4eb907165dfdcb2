"""One FilterSet for the article lists (API query parameters; the console list may use it too)."""

from __future__ import annotations

from typing import Any

import django_filters

from tierdesk.core.actor import Actor
from tierdesk.knowledge.choices import ArticleSource, ArticleStatus, Visibility
from tierdesk.knowledge.models import Article
from tierdesk.knowledge.search import MAX_LIMIT, search_articles


class ArticleFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="filter_q",
        label="Search",
        help_text=f"Words to search for: the list keeps the {MAX_LIMIT} best matches "
        "(in its usual order; /api/v1/kb/search/ ranks them).",
    )
    status = django_filters.MultipleChoiceFilter(choices=ArticleStatus.choices)
    visibility = django_filters.ChoiceFilter(choices=Visibility.choices)
    source = django_filters.ChoiceFilter(choices=ArticleSource.choices)
    category = django_filters.CharFilter(field_name="category__slug", label="Category (slug)")

    class Meta:
        model = Article
        fields = ["q", "status", "visibility", "source", "category"]

    def filter_q(self, queryset: Any, name: str, value: str) -> Any:
        if not value.strip():
            return queryset
        actor = Actor.from_request(self.request, via="api") if self.request is not None else Actor.system()
        hits = search_articles(value, actor=actor, limit=MAX_LIMIT, source="api", log=False)
        return queryset.filter(pk__in=[hit.article.pk for hit in hits])
