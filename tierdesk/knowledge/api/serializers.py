"""Knowledge API: output serializers, and strict input validators that feed the services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tierdesk.accounts.scope import scope_for
from tierdesk.cmdb.models import BusinessService
from tierdesk.core.actor import Actor
from tierdesk.core.api import ScopedPrimaryKeyField, StrictInputSerializer
from tierdesk.knowledge.choices import ArticleStatus, Visibility
from tierdesk.knowledge.models import Article, ArticleCategory
from tierdesk.knowledge.rendering import render_article
from tierdesk.tenancy.models import Organisation


class ArticleCategoryRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = ArticleCategory
        fields = ["id", "slug", "name"]
        read_only_fields = fields


class ArticleSummarySerializer(serializers.ModelSerializer):
    """An article in a list or a search hit: no body. Expects `category` selected with it."""

    category = ArticleCategoryRefSerializer(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=ArticleStatus.choices, read_only=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices, read_only=True)

    class Meta:
        model = Article
        fields = [
            "id",
            "slug",
            "title",
            "summary",
            "status",
            "visibility",
            "category",
            "source",
            "attribution",
            "version",
            "published_at",
            "updated_at",
            "views",
            "helpful",
            "unhelpful",
        ]
        read_only_fields = fields


class ArticleSerializer(ArticleSummarySerializer):
    """One article in full: Markdown body and its sanitised HTML."""

    body_html = serializers.SerializerMethodField(help_text="The body as sanitised HTML.")
    audience = serializers.SerializerMethodField(
        help_text="Ids of the client organisations it is written for (empty: every client); requesters see "
        "only their own."
    )
    services = serializers.SerializerMethodField(help_text="Ids of the business services it is about.")
    known_error = serializers.PrimaryKeyRelatedField[Any](read_only=True, allow_null=True)

    class Meta(ArticleSummarySerializer.Meta):
        fields = [
            *ArticleSummarySerializer.Meta.fields,
            "body",
            "body_html",
            "audience",
            "services",
            "source_path",
            "known_error",
            "created_at",
        ]
        read_only_fields = fields

    def get_body_html(self, article: Article) -> str:
        return str(render_article(article))

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_audience(self, article: Article) -> list[int]:
        ids = sorted(o.pk for o in article.audience.all())
        actor: Actor | None = self.context.get("actor")
        scope = scope_for(actor) if actor is not None else None
        if scope is not None and not scope.is_agent_side:
            return [pk for pk in ids if pk in scope.member_organisation_ids]
        return ids

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_services(self, article: Article) -> list[int]:
        return sorted(s.pk for s in article.services.all())


class SearchHitSerializer(serializers.Serializer):
    article = ArticleSummarySerializer(read_only=True)
    score = serializers.FloatField(read_only=True, help_text="Relevance on this backend; higher is better.")
    snippet = serializers.CharField(read_only=True, help_text="Plain text around the first match.")


class SearchResultSerializer(serializers.Serializer):
    query = serializers.CharField(read_only=True)
    results = SearchHitSerializer(many=True, read_only=True)


class SearchQueryInput(StrictInputSerializer):
    q = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500, help_text="What the person typed."
    )
    limit = serializers.IntegerField(min_value=1, max_value=50, default=10)


def _categories(actor: Actor) -> Any:
    return ArticleCategory.objects.visible_to(actor)


def _audience(actor: Actor) -> Any:
    scope = scope_for(actor)
    return Organisation.objects.of_provider(scope.provider_id) if scope.provider_id else Organisation.objects.none()


def _services(actor: Actor) -> Any:
    return BusinessService.objects.used_by(scope_for(actor).organisation_ids)


class ArticleCreateInput(StrictInputSerializer):
    title = serializers.CharField(max_length=250)
    body = serializers.CharField(max_length=200_000, help_text="Markdown.")
    summary = serializers.CharField(required=False, allow_blank=True, default="", max_length=2_000)
    # All three statuses, so the schema has one status enum for articles; a new article cannot be retired.
    status = serializers.ChoiceField(choices=ArticleStatus.choices, default=ArticleStatus.PUBLISHED)
    visibility = serializers.ChoiceField(choices=Visibility.choices, default=Visibility.REQUESTERS)
    category = ScopedPrimaryKeyField(model=ArticleCategory, scoped=_categories, required=False, allow_null=True)
    audience = serializers.ListField(
        child=ScopedPrimaryKeyField(model=Organisation, scoped=_audience),
        required=False,
        default=list,
        max_length=500,
        help_text="Ids of client organisations whose requesters may read it; empty: every client.",
    )
    services = serializers.ListField(
        child=ScopedPrimaryKeyField(model=BusinessService, scoped=_services),
        required=False,
        default=list,
        max_length=100,
    )
    attribution = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)

    def validate_status(self, value: str) -> str:
        if value == ArticleStatus.RETIRED:
            raise serializers.ValidationError("A new article is a draft or published.")
        return value


class ArticleUpdateInput(StrictInputSerializer):
    title = serializers.CharField(required=False, max_length=250)
    body = serializers.CharField(required=False, max_length=200_000, help_text="Markdown.")
    summary = serializers.CharField(required=False, allow_blank=True, max_length=2_000)
    change_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    status = serializers.ChoiceField(choices=ArticleStatus.choices, required=False)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    category = ScopedPrimaryKeyField(model=ArticleCategory, scoped=_categories, required=False, allow_null=True)
    audience = serializers.ListField(
        child=ScopedPrimaryKeyField(model=Organisation, scoped=_audience), required=False, max_length=500
    )
    services = serializers.ListField(
        child=ScopedPrimaryKeyField(model=BusinessService, scoped=_services), required=False, max_length=100
    )
    attribution = serializers.CharField(required=False, allow_blank=True, max_length=500)
