"""Knowledge articles and categories in the admin. Every save goes through the services, so it
is versioned, indexed for search and audited exactly like a change made in the console or API."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponseRedirect

from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.knowledge import services
from tierdesk.knowledge.models import Article, ArticleCategory, ArticleVersion
from tierdesk.tenancy.choices import OrganisationKind
from tierdesk.tenancy.models import Organisation


def _actor(request: HttpRequest) -> Actor:
    return Actor.from_request(request, via="admin")


class ArticleVersionInline(admin.TabularInline):
    model = ArticleVersion
    extra = 0
    can_delete = False
    fields = ("number", "title", "author_label", "change_note", "created_at")
    readonly_fields = fields
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class _ServiceErrors(admin.ModelAdmin):
    """A rule a service refuses (another provider's category, a client as owner) is shown as a
    message on the form's page, not as a server error; nothing was saved."""

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except DomainError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


@admin.register(Article)
class ArticleAdmin(_ServiceErrors, admin.ModelAdmin):
    list_display = ("title", "organisation", "status", "visibility", "category", "source", "version", "updated_at")
    list_filter = ("status", "visibility", "source")
    search_fields = ("title", "slug", "source_path")
    list_select_related = ("organisation", "category")
    filter_horizontal = ("audience", "services")
    fields = (
        "organisation",
        "title",
        "slug",
        "summary",
        "body",
        "status",
        "visibility",
        "category",
        "audience",
        "services",
        "attribution",
        "source",
        "source_path",
        "known_error",
        "version",
        "published_at",
        "views",
        "helpful",
        "unhelpful",
        "metadata",
    )
    readonly_fields = (
        "slug",
        "source",
        "source_path",
        "known_error",
        "version",
        "published_at",
        "views",
        "helpful",
        "unhelpful",
        "metadata",
    )
    inlines = (ArticleVersionInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The owning provider is chosen once; an article never moves to another knowledge base.
        return (*self.readonly_fields, "organisation") if obj is not None else self.readonly_fields

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organisation":
            kwargs["queryset"] = Organisation.objects.filter(kind=OrganisationKind.PROVIDER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retire instead: views, feedback and versions stay meaningful

    def save_model(self, request: HttpRequest, obj: Article, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.create_article(
                actor=_actor(request),
                organisation=data["organisation"],
                title=data["title"],
                body=data["body"],
                summary=data.get("summary", ""),
                status=data["status"],
                visibility=data["visibility"],
                category=data.get("category"),
                audience=data.get("audience") or (),
                services=data.get("services") or (),
                attribution=data.get("attribution", ""),
            )
            obj.pk, obj.slug = created.pk, created.slug
            return
        # The form has already copied its values onto `obj`; the service reads the stored row.
        stored = Article.objects.get(pk=obj.pk)
        article = services.revise_article(
            actor=_actor(request),
            article=stored,
            title=data["title"],
            body=data["body"],
            summary=data.get("summary", ""),
            visibility=data["visibility"],
            category=data.get("category"),
            attribution=data.get("attribution", ""),
            audience=data.get("audience") or (),
            services=data.get("services") or (),
            change_note="Edited in the admin",
        )
        if data["status"] != article.status:
            services.set_article_status(actor=_actor(request), article=article, status=data["status"])

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        """Audience and services were written by the services in save_model, not by the form."""
        for formset in formsets:  # the read-only versions: saves nothing, but the admin's log expects it
            self.save_formset(request, form, formset, change=change)


@admin.register(ArticleCategory)
class ArticleCategoryAdmin(_ServiceErrors, admin.ModelAdmin):
    list_display = ("name", "slug", "organisation", "parent")
    list_select_related = ("organisation", "parent")
    search_fields = ("name", "slug")
    fields = ("organisation", "name", "slug", "parent")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # The slug comes from the name when the category is made, and then stays (links use it).
        return ("organisation", "slug") if obj is not None else ("slug",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "organisation":
            kwargs["queryset"] = Organisation.objects.filter(kind=OrganisationKind.PROVIDER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[ArticleCategory]:
        return super().get_queryset(request).select_related("organisation", "parent")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ArticleCategory, form: ModelForm, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            created = services.ensure_category(
                actor=_actor(request),
                organisation=data["organisation"],
                name=data["name"],
                parent=data.get("parent"),
            )
            obj.pk = created.pk
            return
        stored = ArticleCategory.objects.get(pk=obj.pk)
        services.update_category(actor=_actor(request), category=stored, name=data["name"], parent=data.get("parent"))
