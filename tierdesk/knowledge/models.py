"""The knowledge base: articles owned by the provider, their versions and categories, and what
Tier 0 measures (views, feedback, searches, help sessions in the portal).

The search index is not a model field: SQLite keeps an FTS5 table and PostgreSQL a generated,
GIN-indexed tsvector column, both created by migration 0002 for their vendor only (see search/).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from tierdesk.core import clock
from tierdesk.core.models import TenantModel
from tierdesk.knowledge.choices import ArticleSource, ArticleStatus, Visibility
from tierdesk.knowledge.querysets import ArticleCategoryQuerySet, ArticleQuerySet


class ArticleCategory(TenantModel):
    """A folder of the provider's knowledge base ("Authentication", "Printing")."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=80)
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True, related_name="children")

    objects = ArticleCategoryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "article categories"
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="kb_category_unique_slug")]

    def __str__(self) -> str:
        return self.name


class Article(TenantModel):
    """A knowledge article. The organisation is the provider that owns it."""

    slug = models.SlugField(max_length=100)
    title = models.CharField(max_length=250)
    summary = models.TextField(blank=True)
    body = models.TextField(help_text="Markdown.")
    status = models.CharField(max_length=16, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.REQUESTERS)
    category = models.ForeignKey(
        ArticleCategory, on_delete=models.SET_NULL, null=True, blank=True, related_name="articles"
    )
    audience: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "tenancy.Organisation",
        blank=True,
        related_name="+",
        help_text="Client organisations whose requesters may read it; empty means every client of the provider.",
    )
    services: models.ManyToManyField[Any, Any] = models.ManyToManyField(
        "cmdb.BusinessService", blank=True, related_name="articles"
    )
    attribution = models.CharField(max_length=500, blank=True, help_text="Whose content it is, shown with it.")
    source = models.CharField(max_length=16, choices=ArticleSource.choices, default=ArticleSource.MANUAL)
    source_path = models.CharField(
        max_length=500, blank=True, help_text="For imported articles: the file it came from, relative to the folder."
    )
    metadata = models.JSONField(default=dict, blank=True, help_text="Front matter kept from an import.")
    known_error = models.OneToOneField(
        "problems.KnownError", on_delete=models.SET_NULL, null=True, blank=True, related_name="article"
    )
    version = models.PositiveIntegerField(default=1)
    published_at = models.DateTimeField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Counters kept by the services with F() updates; the rows below hold the detail.
    views = models.PositiveIntegerField(default=0)
    helpful = models.PositiveIntegerField(default=0)
    unhelpful = models.PositiveIntegerField(default=0)

    objects = ArticleQuerySet.as_manager()

    class Meta:
        ordering = ["title", "id"]
        indexes = [
            models.Index(fields=["organisation", "status", "visibility"], name="kb_article_org_status"),
            models.Index(fields=["organisation", "source_path"], name="kb_article_org_source"),
            models.Index(fields=["organisation", "-updated_at"], name="kb_article_org_updated"),
        ]
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="kb_article_unique_slug")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_published(self) -> bool:
        return self.status == ArticleStatus.PUBLISHED


class ArticleVersion(models.Model):
    """The article as it was after each change: version 1 on creation, one more per revision."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=250)
    summary = models.TextField(blank=True)
    body = models.TextField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    change_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["article", "-number"]
        constraints = [models.UniqueConstraint(fields=["article", "number"], name="kb_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.article_id} v{self.number}"


class ArticleFeedback(TenantModel):
    """ "Did this help?" from a reader. The organisation is the reader's (the article's when anonymous)."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="feedback")
    helpful = models.BooleanField()
    comment = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "created_at"], name="kb_feedback_org_created"),
            models.Index(fields=["article", "created_at"], name="kb_feedback_article"),
        ]

    def __str__(self) -> str:
        return f"{'helpful' if self.helpful else 'not helpful'} on {self.article_id}"


class ArticleView(models.Model):
    """One read of an article. The organisation is the reader's (the article's when anonymous)."""

    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="+")
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "created_at"], name="kb_view_org_created"),
            models.Index(fields=["article", "created_at"], name="kb_view_article"),
        ]

    def __str__(self) -> str:
        return f"view of {self.article_id}"


class SearchLog(models.Model):
    """One search; `result_count == 0` marks a gap in the knowledge base."""

    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    session_key = models.CharField(max_length=64, blank=True)
    query = models.CharField(max_length=500)
    result_count = models.PositiveIntegerField()
    source = models.CharField(max_length=16)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "created_at"], name="kb_search_org_created"),
            models.Index(fields=["organisation", "result_count"], name="kb_search_org_results"),
        ]

    def __str__(self) -> str:
        return self.query


class HelpSession(models.Model):
    """A requester's visit to self-service (one browser session): did it end in a ticket?

    Deflected = viewed at least one article and `ticket` stayed empty.
    """

    organisation = models.ForeignKey("tenancy.Organisation", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    session_key = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=clock.now)
    last_seen_at = models.DateTimeField(default=clock.now)
    articles_viewed = models.PositiveIntegerField(default=0)
    searches = models.PositiveIntegerField(default=0)
    ticket = models.ForeignKey(
        "tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True, related_name="help_sessions"
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["organisation", "started_at"], name="kb_session_org_started")]
        constraints = [models.UniqueConstraint(fields=["organisation", "session_key"], name="kb_session_unique_key")]

    def __str__(self) -> str:
        return f"help session {self.session_key[:8]}"
