"""Pages of the knowledge base: the portal's help articles (requesters), the console's article
management (agents), the deflection suggestions of the portal's new-ticket form, and the
"Suggested articles" card of the console's ticket page.

Articles a person names are loaded through `access_article`, lists start from
`Article.objects.visible_to(actor)`, and every write (articles, views, feedback) goes
through `knowledge.services`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.db.models.query import prefetch_related_objects
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound
from tierdesk.core.sessions import session_key
from tierdesk.core.views import agent_required
from tierdesk.knowledge import services, workflow
from tierdesk.knowledge.access import access_article, access_category
from tierdesk.knowledge.choices import ArticleStatus, ReadSource, Visibility
from tierdesk.knowledge.forms import (
    ArticleForm,
    ConsoleArticleFilterSet,
    FeedbackForm,
    NewArticleForm,
    PublishKnownErrorForm,
    StatusForm,
)
from tierdesk.knowledge.models import Article, ArticleCategory, ArticleVersion
from tierdesk.knowledge.rendering import render_article
from tierdesk.knowledge.search import SearchHit, search_articles, suggest_for_ticket
from tierdesk.portal.views import _render as portal_render
from tierdesk.problems.access import access_known_error
from tierdesk.tickets import workflow as ticket_workflow
from tierdesk.tickets.models import Ticket

PORTAL_PAGE_SIZE = 25
CONSOLE_PAGE_SIZE = 50
SEARCH_RESULTS = 20
LIVE_RESULTS = 8
DEFLECTION_RESULTS = 5
TICKET_SUGGESTIONS = 3
# Fewer letters than this find too much to be of help while someone is still typing.
MIN_TYPED = 3
QUERY_MAX = 200

# What each status button says, by target status.
STATUS_ACTIONS = {
    ArticleStatus.PUBLISHED: "Publish",
    ArticleStatus.RETIRED: "Retire",
    ArticleStatus.DRAFT: "Back to draft",
}

View = Callable[..., HttpResponseBase]


def _article(actor: Actor, slug_or_id: str | int) -> Article:
    try:
        return access_article(actor, slug_or_id)
    except NotFound as exc:
        raise Http404(exc.detail) from exc


def _typed(request: HttpRequest, name: str) -> str:
    return request.GET.get(name, "").strip()[:QUERY_MAX]


def _is_agent(actor: Actor) -> bool:
    return scope_for(actor).is_agent_side


def reader_page(view: View) -> View:
    """Signed-in people. The pages are for requesters; those with a console counterpart send agents there."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return view(request, Actor.from_request(request), *args, **kwargs)

    return wrapper


# --- the portal: help articles ------------------------------------------------------------------


@require_GET
@reader_page
def portal_home(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    """Browse by category, or the results of a submitted search (logged: it shows the gaps)."""
    if _is_agent(actor):
        return redirect("knowledge:console_list")
    text = _typed(request, "q")
    visible = Article.objects.visible_to(actor)
    counts = dict(visible.order_by().values_list("category_id").annotate(n=Count("pk")))
    categories = [
        (category, counts[category.pk])
        for category in ArticleCategory.objects.visible_to(actor).order_by("name", "pk")
        if counts.get(category.pk)
    ]
    category: ArticleCategory | None = None
    chosen = request.GET.get("category", "")
    uncategorised = chosen == "-"
    hits: list[SearchHit] | None = None
    page = None
    keep = QueryDict(mutable=True)
    if text:
        hits = search_articles(
            text, actor=actor, limit=SEARCH_RESULTS, source=ReadSource.PORTAL, session_key=session_key(request)
        )
    else:
        articles = visible.for_list()
        if uncategorised:
            articles = articles.filter(category__isnull=True)
            keep["category"] = "-"
        elif chosen:
            try:
                category = access_category(actor, chosen)
            except NotFound as exc:
                raise Http404(exc.detail) from exc
            articles = articles.filter(category=category)
            keep["category"] = category.slug
        page = Paginator(articles.order_by("title", "pk"), PORTAL_PAGE_SIZE).get_page(request.GET.get("page"))
    return portal_render(
        request,
        actor,
        "knowledge/portal_home.html",
        {
            "nav": "kb",
            "q": text,
            "hits": hits,
            "page": page,
            "categories": categories,
            "category": category,
            "uncategorised": uncategorised,
            "uncategorised_count": counts.get(None, 0),
            "total": sum(counts.values()),
            "query": keep.urlencode(),
        },
    )


@require_GET
@reader_page
def portal_search(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    """Live results while typing (htmx). Not logged: half-typed words are not searches; the
    submitted search (the home page with ?q=) is."""
    text = _typed(request, "q")
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect(_home_url(text))
    hits = search_articles(text, actor=actor, limit=LIVE_RESULTS, log=False) if len(text) >= MIN_TYPED else []
    return render(request, "knowledge/partials/search_results.html", {"hits": hits, "q": text, "live": True})


def _home_url(text: str) -> str:
    query = QueryDict(mutable=True)
    if text:
        query["q"] = text
    home = reverse("knowledge:portal_home")
    return f"{home}?{query.urlencode()}" if text else home


@require_GET
@reader_page
def deflect(request: HttpRequest, actor: Actor) -> HttpResponseBase:
    """Articles that may answer the ticket a requester is writing, as its title is typed."""
    title = _typed(request, "title")
    hits = search_articles(title, actor=actor, limit=DEFLECTION_RESULTS, log=False) if len(title) >= MIN_TYPED else []
    return render(request, "knowledge/partials/deflection.html", {"hits": hits, "title": title})


@require_GET
@reader_page
def portal_article(request: HttpRequest, actor: Actor, slug: str) -> HttpResponseBase:
    article = _article(actor, slug)
    if _is_agent(actor):
        return redirect("knowledge:console_detail", pk=article.pk)
    services.record_article_view(
        actor=actor, article=article, source=ReadSource.PORTAL, session_key=session_key(request)
    )
    return portal_render(request, actor, "knowledge/portal_article.html", _article_context(article))


def _article_context(article: Article, **extra: Any) -> dict[str, Any]:
    return {
        "nav": "kb",
        "article": article,
        "body": render_article(article),
        "related_services": list(article.services.order_by("name")),
        "feedback_form": FeedbackForm(),
        **extra,
    }


@require_POST
@reader_page
def feedback(request: HttpRequest, actor: Actor, slug: str) -> HttpResponseBase:
    """ "Did this help?" The answer replaces the question (htmx), or the page comes back with a note."""
    article = _article(actor, slug)
    form = FeedbackForm(request.POST)
    if not form.is_valid() or form.cleaned_data["helpful"] is None:
        if request.htmx:  # type: ignore[attr-defined]
            context = {"article": article, "feedback_form": form, "feedback_error": "Choose Yes or No."}
            return render(request, "knowledge/partials/feedback.html", context)
        messages.warning(request, "Choose Yes or No.")
        return redirect("knowledge:portal_article", slug=article.slug)
    helpful = bool(form.cleaned_data["helpful"])
    services.record_feedback(
        actor=actor,
        article=article,
        helpful=helpful,
        comment=form.cleaned_data["comment"],
        session_key=session_key(request),
    )
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "knowledge/partials/feedback.html", {"article": article, "thanked": helpful})
    messages.success(request, _thanks(helpful))
    return redirect("knowledge:portal_article", slug=article.slug)


def _thanks(helpful: bool) -> str:
    if helpful:
        return "Thank you: glad it helped."
    return "Thank you: we will improve this article. If you still need help, open a ticket."


# --- the console: managing articles -------------------------------------------------------------


@agent_required
@require_GET
def console_list(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    filters = ConsoleArticleFilterSet(
        request.GET or None, queryset=Article.objects.visible_to(actor).for_list(), request=request, actor=actor
    )
    articles = filters.qs
    page = Paginator(articles.order_by("-updated_at", "-pk"), CONSOLE_PAGE_SIZE).get_page(request.GET.get("page"))
    keep = request.GET.copy()
    keep.pop("page", None)
    return render(
        request,
        "knowledge/console_list.html",
        {"nav": "kb", "form": filters.form, "page": page, "query": keep.urlencode()},
    )


def _provider(actor: Actor) -> Any:
    """The organisation whose knowledge base the agent writes in: their own (the provider)."""
    assert actor.user is not None
    return actor.user.organisation


@agent_required
@require_http_methods(["GET", "POST"])
def console_create(request: HttpRequest) -> HttpResponse:
    actor = Actor.from_request(request)
    form = NewArticleForm(request.POST if request.method == "POST" else None, actor=actor)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            article = services.create_article(
                actor=actor,
                organisation=_provider(actor),
                title=data["title"],
                body=data["body"],
                summary=data["summary"],
                status=data["status"],
                visibility=data["visibility"],
                category=data["category"],
                audience=data["audience"],
                services=data["services"],
                attribution=data["attribution"],
                change_note=data["change_note"],
            )
        except DomainError as exc:
            form.add_error(None, exc.detail)
        else:
            messages.success(request, f"Wrote “{article.title}” ({article.get_status_display().lower()}).")
            return redirect("knowledge:console_detail", pk=article.pk)
    return render(request, "knowledge/console_form.html", {"nav": "kb", "form": form, "article": None})


@agent_required
@require_http_methods(["GET", "POST"])
def console_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Each save with a changed title, summary or body is a new version, with its change note."""
    actor = Actor.from_request(request)
    article = _article(actor, pk)
    if request.method == "POST":
        form = ArticleForm(request.POST, actor=actor)
        if form.is_valid():
            data = form.cleaned_data
            before = article.version
            try:
                article = services.revise_article(
                    actor=actor,
                    article=article,
                    title=data["title"],
                    body=data["body"],
                    summary=data["summary"],
                    change_note=data["change_note"],
                    visibility=data["visibility"],
                    category=data["category"],
                    audience=data["audience"],
                    services=data["services"],
                    attribution=data["attribution"],
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                if article.version != before:
                    messages.success(request, f"Saved version {article.version}.")
                else:
                    messages.success(request, "Saved.")
                return redirect("knowledge:console_detail", pk=article.pk)
    else:
        form = ArticleForm(
            initial={
                "title": article.title,
                "summary": article.summary,
                "body": article.body,
                "visibility": article.visibility,
                "category": article.category_id,
                "audience": [o.pk for o in article.audience.all()],
                "services": [s.pk for s in article.services.all()],
                "attribution": article.attribution,
            },
            actor=actor,
        )
    return render(request, "knowledge/console_form.html", {"nav": "kb", "form": form, "article": article})


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add", "del", "hunk", "same"
    text: str


def version_diff(old: ArticleVersion, new: ArticleVersion) -> list[DiffLine]:
    """A unified diff of two versions: title, summary and body, line by line."""

    def lines(version: ArticleVersion) -> list[str]:
        return [f"# {version.title}", "", *version.summary.splitlines(), "", *version.body.splitlines()]

    diff = difflib.unified_diff(lines(old), lines(new), f"version {old.number}", f"version {new.number}", lineterm="")
    result = []
    for line in diff:
        if line.startswith(("---", "+++")):
            continue
        if line.startswith("@@"):
            result.append(DiffLine("hunk", line))
        elif line.startswith("+"):
            result.append(DiffLine("add", line))
        elif line.startswith("-"):
            result.append(DiffLine("del", line))
        else:
            result.append(DiffLine("same", line))
    return result


def _version_number(value: str | None, default: int, numbers: set[int]) -> int:
    try:
        number = int(value or "")
    except ValueError:
        return default
    return number if number in numbers else default


@agent_required
@require_GET
def console_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The article as readers see it, its status actions, its numbers and its version history."""
    actor = Actor.from_request(request)
    article = _article(actor, pk)
    versions = list(article.versions.order_by("-number"))
    by_number = {v.number: v for v in versions}
    diff: list[DiffLine] | None = None
    old_number = new_number = 0
    if len(versions) > 1:
        new_number = _version_number(request.GET.get("to"), versions[0].number, set(by_number))
        old_number = _version_number(request.GET.get("from"), versions[1].number, set(by_number))
        if old_number != new_number:
            diff = version_diff(by_number[old_number], by_number[new_number])
    known_error = article.known_error
    problem = known_error.problem if known_error is not None and known_error.problem_id else None
    return render(
        request,
        "knowledge/console_detail.html",
        {
            "nav": "kb",
            "article": article,
            "body": render_article(article),
            "related_services": list(article.services.order_by("name")),
            "audience": list(article.audience.order_by("name")),
            "versions": versions,
            "diff": diff,
            "diff_from": old_number,
            "diff_to": new_number,
            "actions": [
                (status, STATUS_ACTIONS[ArticleStatus(status)])
                for status in ArticleStatus.values
                if status in workflow.TRANSITIONS[article.status]
            ],
            "problem": problem,
            "portal_url": reverse("knowledge:portal_article", args=[article.slug]),
            "for_requesters": article.visibility == Visibility.REQUESTERS,
        },
    )


@agent_required
@require_POST
def console_status(request: HttpRequest, pk: int) -> HttpResponse:
    actor = Actor.from_request(request)
    article = _article(actor, pk)
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.warning(request, "Choose a status.")
        return redirect("knowledge:console_detail", pk=article.pk)
    try:
        article = services.set_article_status(actor=actor, article=article, status=form.cleaned_data["status"])
    except DomainError as exc:
        messages.warning(request, exc.detail)
    else:
        messages.success(request, f"“{article.title}” is now {article.get_status_display().lower()}.")
    return redirect("knowledge:console_detail", pk=article.pk)


@agent_required
@require_POST
def publish_known_error(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Publish as article" on a problem's known error: a new article, or its article brought up to date."""
    actor = Actor.from_request(request)
    try:
        known_error = access_known_error(actor, pk=pk)
    except NotFound as exc:
        raise Http404(exc.detail) from exc
    form = PublishKnownErrorForm(request.POST)
    visibility = form.cleaned_data["visibility"] if form.is_valid() else Visibility.INTERNAL
    try:
        article = services.publish_known_error(actor=actor, known_error=known_error, visibility=visibility)
    except DomainError as exc:
        messages.warning(request, exc.detail)
        if known_error.problem is not None:
            return redirect("console:problems:detail", number=known_error.problem.number)
        return redirect("console:problems:list")
    messages.success(request, f"Published “{article.title}” as a knowledge article (version {article.version}).")
    return redirect("knowledge:console_detail", pk=article.pk)


# --- the console's ticket page ------------------------------------------------------------------


@dataclass(frozen=True)
class TicketArticle:
    hit: SearchHit
    # Whether the ticket's requester may read it in the portal: then a reply gets a link.
    for_requester: bool


@dataclass(frozen=True)
class TicketArticles:
    """What the ticket page's "Suggested articles" card shows."""

    suggestions: list[TicketArticle]
    can_insert: bool


def requester_may_read(article: Article, organisation_id: int) -> bool:
    """Whether requesters of this organisation see the article (its audience prefetched or not)."""
    if article.status != ArticleStatus.PUBLISHED or article.visibility != Visibility.REQUESTERS:
        return False
    audience = [o.pk for o in article.audience.all()]
    return not audience or organisation_id in audience


def ticket_articles(actor: Actor, ticket: Ticket) -> TicketArticles:
    """Published articles matching the ticket: one search, and the audiences of the hits."""
    hits = suggest_for_ticket(ticket, actor=actor, limit=TICKET_SUGGESTIONS)
    prefetch_related_objects([hit.article for hit in hits], "audience")
    return TicketArticles(
        suggestions=[TicketArticle(hit, requester_may_read(hit.article, ticket.organisation_id)) for hit in hits],
        can_insert=ticket.status not in ticket_workflow.TERMINAL,
    )


def reply_text(request: HttpRequest, article: Article, ticket: Ticket) -> str:
    """What "Insert into reply" puts into the composer.

    An article the requester may read goes in as its title, summary and a link to the portal:
    the requester reads the maintained version (and its view and "did this help?" are counted).
    Any other (for agents only, or for other clients) goes in as its Markdown body, since a link
    would show the requester nothing; the agent adapts it before sending.
    """
    if requester_may_read(article, ticket.organisation_id):
        url = request.build_absolute_uri(reverse("knowledge:portal_article", args=[article.slug]))
        parts = [f"**{article.title}**"]
        if article.summary:
            parts.append(article.summary)
        parts.append(f"Step by step in our help article: <{url}>")
        return "\n\n".join(parts)
    return article.body.strip()
