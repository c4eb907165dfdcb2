"""The only writers of the knowledge base, and of what Tier 0 measures.

Article writers take the acting person (an agent of the owning provider, or the system for
imports), run in one transaction, keep the search index current and record the audit event.
Reads (views, feedback, searches, help sessions) are telemetry: counted, not audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.text import slugify

from tierdesk.accounts.scope import scope_for
from tierdesk.audit.services import record_event
from tierdesk.cmdb.models import BusinessService
from tierdesk.core import clock
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError, NotFound, PermissionDenied
from tierdesk.core.models import check_lengths
from tierdesk.core.unset import UNSET
from tierdesk.knowledge import workflow
from tierdesk.knowledge.choices import ArticleSource, ArticleStatus, ReadSource, Visibility
from tierdesk.knowledge.models import (
    Article,
    ArticleCategory,
    ArticleFeedback,
    ArticleVersion,
    ArticleView,
    HelpSession,
    SearchLog,
)
from tierdesk.knowledge.search import index_article
from tierdesk.problems.models import KnownError
from tierdesk.tenancy.models import Organisation
from tierdesk.tickets.models import Ticket

# --- helpers ----------------------------------------------------------------------------------


def _require_author(actor: Actor, provider_id: int) -> None:
    """Agents of the owning provider write articles; a system actor (an import) may too."""
    if actor.user is None:
        return
    scope = scope_for(actor)
    if not scope.is_agent_side:
        raise PermissionDenied("Only agents may write knowledge articles.")
    if scope.provider_id != provider_id:
        raise NotFound("No such knowledge base, or you may not see it.")


def _required(value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(f"{label} may not be empty.")
    return value


def _choice(value: str, choices: Any, label: str) -> str:
    if value not in choices.values:
        raise DomainError(f"Unknown {label} {value!r}; expected one of {', '.join(choices.values)}.")
    return value


# Path words of the knowledge pages (/kb/search/, /kb/console/ ...): an article may not take them.
RESERVED_SLUGS = frozenset({"search", "suggest", "console", "known-errors", "new", "feedback"})


def _unique_slug(provider_id: int, title: str, exclude_pk: int | None = None) -> str:
    base = slugify(title)[:90].strip("-") or "article"
    if base in RESERVED_SLUGS:
        base = f"{base}-article"
    existing = Article.objects.of_provider(provider_id).filter(slug__startswith=base)
    if exclude_pk is not None:
        existing = existing.exclude(pk=exclude_pk)
    taken = set(existing.values_list("slug", flat=True))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _check_category(category: ArticleCategory | None, provider_id: int) -> None:
    if category is not None and category.organisation_id != provider_id:
        raise DomainError("That category belongs to another knowledge base.")


def _check_audience(audience: list[Organisation], provider_id: int) -> None:
    for organisation in audience:
        if organisation.provider_id != provider_id:
            raise DomainError(f"{organisation.name} is not a client of this provider.")


def _check_services(services: list[BusinessService], provider_id: int) -> None:
    ids = {s.organisation_id for s in services}
    if not ids:
        return
    providers = dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "provider_id"))
    for service in services:
        if (providers.get(service.organisation_id) or service.organisation_id) != provider_id:
            raise DomainError(f"The service {service.name} is not one of this provider's.")


def _add_version(article: Article, actor: Actor, change_note: str) -> ArticleVersion:
    return ArticleVersion.objects.create(
        article=article,
        number=article.version,
        title=article.title,
        summary=article.summary,
        body=article.body,
        author=actor.user,
        author_label=actor.label,
        change_note=change_note[:500],
    )


def _lock(actor: Actor, article: Article) -> Article:
    """Re-read the article under a row lock, inside the actor's reach."""
    qs = Article.objects.select_for_update()
    if actor.user is not None:
        qs = qs.visible_to(actor)
    locked = qs.filter(pk=article.pk).first()
    if locked is None:
        raise NotFound("No such article, or you may not see it.")
    _require_author(actor, locked.organisation_id)
    return locked


def _audit(actor: Actor, action: str, article: Article, before: Any = None, after: Any = None) -> None:
    record_event(
        actor=actor, action=action, obj=article, organisation_id=article.organisation_id, before=before, after=after
    )


def _viewer_organisation(actor: Actor, article: Article) -> int:
    user = actor.user
    return user.organisation_id if user is not None and user.organisation_id else article.organisation_id


# --- categories -------------------------------------------------------------------------------


@transaction.atomic
def ensure_category(
    *, actor: Actor, organisation: Organisation, name: str, slug: str = "", parent: ArticleCategory | None = None
) -> ArticleCategory:
    """The provider's category with this slug, created (and audited) when it does not exist yet."""
    if not organisation.is_provider:
        raise DomainError("Knowledge categories belong to a provider, not to a client organisation.")
    _require_author(actor, organisation.pk)
    _check_category(parent, organisation.pk)
    name = _required(name, "The category name")
    slug = slugify(slug or name)[:80] or "category"
    category = ArticleCategory.objects.of_provider(organisation.pk).filter(slug=slug).first()
    if category is not None:
        return category
    category = ArticleCategory(organisation=organisation, name=name, slug=slug, parent=parent)
    check_lengths(category)
    category.save(force_insert=True)
    record_event(
        actor=actor,
        action="article_category.created",
        obj=category,
        organisation_id=organisation.pk,
        after={"name": name, "slug": slug, "parent": parent.pk if parent else None},
    )
    return category


@transaction.atomic
def update_category(
    *, actor: Actor, category: ArticleCategory, name: str = UNSET, parent: ArticleCategory | None = UNSET
) -> ArticleCategory:
    _require_author(actor, category.organisation_id)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if name is not UNSET and _required(name, "The category name") != category.name:
        before["name"], after["name"] = category.name, name.strip()
        category.name = name.strip()
    if parent is not UNSET and (parent.pk if parent else None) != category.parent_id:
        _check_category(parent, category.organisation_id)
        if parent is not None and parent.pk == category.pk:
            raise DomainError("A category cannot be its own parent.")
        before["parent"], after["parent"] = category.parent_id, parent.pk if parent else None
        category.parent = parent
    if after:
        check_lengths(category)
        category.updated_at = clock.now()
        category.save()
        record_event(
            actor=actor,
            action="article_category.changed",
            obj=category,
            organisation_id=category.organisation_id,
            before=before,
            after=after,
        )
    return category


# --- articles ---------------------------------------------------------------------------------


@transaction.atomic
def create_article(
    *,
    actor: Actor,
    organisation: Organisation,
    title: str,
    body: str,
    summary: str = "",
    status: str = ArticleStatus.PUBLISHED,
    visibility: str = Visibility.REQUESTERS,
    category: ArticleCategory | None = None,
    audience: Iterable[Organisation] = (),
    services: Iterable[BusinessService] = (),
    attribution: str = "",
    source: str = ArticleSource.MANUAL,
    source_path: str = "",
    metadata: dict[str, Any] | None = None,
    known_error: KnownError | None = None,
    change_note: str = "",
) -> Article:
    """Write a new article (version 1) in the provider's knowledge base."""
    if not organisation.is_provider:
        raise DomainError("Knowledge articles belong to a provider, not to a client organisation.")
    provider_id = organisation.pk
    _require_author(actor, provider_id)
    audience, services = list(audience), list(services)
    _check_category(category, provider_id)
    _check_audience(audience, provider_id)
    _check_services(services, provider_id)
    now = clock.now()
    article = Article(
        organisation=organisation,
        title=_required(title, "The title"),
        summary=(summary or "").strip(),
        body=_required(body, "The body"),
        status=_choice(status, ArticleStatus, "status"),
        visibility=_choice(visibility, Visibility, "visibility"),
        category=category,
        attribution=attribution.strip(),
        source=_choice(source, ArticleSource, "source"),
        source_path=source_path,
        metadata=metadata or {},
        known_error=known_error,
        author=actor.user,
        version=1,
        published_at=now if status == ArticleStatus.PUBLISHED else None,
        created_at=now,
        updated_at=now,
    )
    article.slug = _unique_slug(provider_id, article.title)
    check_lengths(article)
    try:
        with transaction.atomic():
            article.save(force_insert=True)
    except IntegrityError as exc:  # two writers took the same slug at once
        raise DomainError("Another article was just saved with this title; try again.") from exc
    if audience:
        article.audience.set(audience)
    if services:
        article.services.set(services)
    _add_version(article, actor, change_note or "Created")
    index_article(article)
    _audit(
        actor,
        "article.created",
        article,
        after={"title": article.title, "status": article.status, "visibility": article.visibility, "source": source},
    )
    return article


@transaction.atomic
def revise_article(
    *,
    actor: Actor,
    article: Article,
    title: str = UNSET,
    body: str = UNSET,
    summary: str = UNSET,
    change_note: str = "",
    visibility: str = UNSET,
    category: ArticleCategory | None = UNSET,
    audience: Iterable[Organisation] = UNSET,
    services: Iterable[BusinessService] = UNSET,
    attribution: str = UNSET,
    metadata: dict[str, Any] = UNSET,
) -> Article:
    """Change what an article says (a new version when title, summary or body change) or how it
    is filed and shown. Nothing is written when nothing changes."""
    locked = _lock(actor, article)
    provider_id = locked.organisation_id
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}

    def change(name: str, value: Any) -> None:
        old = getattr(locked, name)
        if value is not UNSET and value != old:
            before[name], after[name] = old, value
            setattr(locked, name, value)

    change("title", UNSET if title is UNSET else _required(title, "The title"))
    change("summary", UNSET if summary is UNSET else (summary or "").strip())
    change("body", UNSET if body is UNSET else _required(body, "The body"))
    content_changed = bool(after)
    change("visibility", UNSET if visibility is UNSET else _choice(visibility, Visibility, "visibility"))
    if category is not UNSET:
        _check_category(category, provider_id)
        if (category.pk if category is not None else None) != locked.category_id:
            before["category"], after["category"] = locked.category_id, category.pk if category else None
            locked.category = category
    change("attribution", UNSET if attribution is UNSET else attribution.strip())
    change("metadata", metadata)
    if audience is not UNSET:
        new_audience = list(audience)
        _check_audience(new_audience, provider_id)
        old_ids = set(locked.audience.values_list("pk", flat=True))
        if old_ids != {o.pk for o in new_audience}:
            locked.audience.set(new_audience)
            before["audience"], after["audience"] = sorted(old_ids), sorted(o.pk for o in new_audience)
    if services is not UNSET:
        new_services = list(services)
        _check_services(new_services, provider_id)
        old_ids = set(locked.services.values_list("pk", flat=True))
        if old_ids != {s.pk for s in new_services}:
            locked.services.set(new_services)
            before["services"], after["services"] = sorted(old_ids), sorted(s.pk for s in new_services)
    if not after:
        return locked
    if content_changed:
        locked.version += 1
    locked.updated_at = clock.now()
    check_lengths(locked)
    locked.save()
    if content_changed:
        _add_version(locked, actor, change_note)
        index_article(locked)
    # Bodies and front matter can be long: the audit trail says that they changed, versions keep the text.
    for name in ("body", "summary"):
        if name in after:
            before[name], after[name] = "(previous version)", f"(version {locked.version})"
    if "metadata" in after:
        before["metadata"], after["metadata"] = "(front matter)", "(front matter replaced)"
    _audit(actor, "article.revised", locked, before=before, after=after)
    return locked


@transaction.atomic
def set_article_status(*, actor: Actor, article: Article, status: str) -> Article:
    """Publish, retire or take an article back to draft (see workflow.TRANSITIONS)."""
    locked = _lock(actor, article)
    if locked.status == status:
        return locked
    workflow.check_transition(locked.status, status)
    old = locked.status
    locked.status = status
    locked.updated_at = clock.now()
    if status == ArticleStatus.PUBLISHED:
        locked.published_at = locked.updated_at
    locked.save(update_fields=["status", "published_at", "updated_at"])
    _audit(actor, "article.status_changed", locked, before={"status": old}, after={"status": status})
    return locked


def known_error_body(known_error: KnownError) -> str:
    """A known error as an article: what people see, what to do now, and why it happens."""
    parts = ["## Symptoms", known_error.symptoms.strip(), "## Workaround", known_error.workaround.strip()]
    if known_error.root_cause.strip():
        parts += ["## Cause", known_error.root_cause.strip()]
    if known_error.problem_id is not None and known_error.problem is not None:
        parts += [f"_Tracked as problem {known_error.problem.number}._"]
    return "\n\n".join(parts) + "\n"


@transaction.atomic
def publish_known_error(*, actor: Actor, known_error: KnownError, visibility: str = Visibility.INTERNAL) -> Article:
    """Publish a known error to the knowledge base, or bring its article up to date (a new version)."""
    _require_author(actor, known_error.organisation_id)
    _choice(visibility, Visibility, "visibility")
    body = known_error_body(known_error)
    summary = known_error.symptoms.strip().split("\n")[0][:300]
    existing = Article.objects.select_for_update().filter(known_error=known_error).first()
    if existing is None:
        return create_article(
            actor=actor,
            organisation=known_error.organisation,
            title=known_error.title,
            body=body,
            summary=summary,
            visibility=visibility,
            source=ArticleSource.KNOWN_ERROR,
            known_error=known_error,
            change_note="Published from the known error",
        )
    article = revise_article(
        actor=actor,
        article=existing,
        title=known_error.title,
        body=body,
        summary=summary,
        visibility=visibility,
        change_note="Updated from the known error",
    )
    if article.status != ArticleStatus.PUBLISHED:
        article = set_article_status(actor=actor, article=article, status=ArticleStatus.PUBLISHED)
    return article


# --- what Tier 0 measures ---------------------------------------------------------------------


def _help_session(actor: Actor, organisation_id: int, session_key: str) -> HelpSession | None:
    if not session_key:
        return None
    session, _ = HelpSession.objects.get_or_create(
        organisation_id=organisation_id, session_key=session_key[:64], defaults={"user": actor.user}
    )
    return session


@transaction.atomic
def record_article_view(*, actor: Actor, article: Article, source: str, session_key: str = "") -> None:
    """Someone read an article (portal, console, chat or API)."""
    _choice(source, ReadSource, "source")
    organisation_id = _viewer_organisation(actor, article)
    ArticleView.objects.create(
        organisation_id=organisation_id, article=article, user=actor.user, session_key=session_key[:64], source=source
    )
    Article.objects.filter(pk=article.pk).update(views=F("views") + 1)
    session = _help_session(actor, organisation_id, session_key)
    if session is not None:
        HelpSession.objects.filter(pk=session.pk).update(
            articles_viewed=F("articles_viewed") + 1, last_seen_at=clock.now()
        )


@transaction.atomic
def record_feedback(
    *, actor: Actor, article: Article, helpful: bool, comment: str = "", session_key: str = ""
) -> ArticleFeedback:
    """ "Did this help?" One answer per person (or session) and article: a second one replaces the first."""
    organisation_id = _viewer_organisation(actor, article)
    mine = ArticleFeedback.objects.filter(organisation_id=organisation_id, article=article)
    if actor.user is not None:
        previous = mine.filter(user=actor.user).first()
    else:
        previous = mine.filter(user=None, session_key=session_key[:64]).first() if session_key else None
    if previous is not None:
        Article.objects.filter(pk=article.pk).update(
            **({"helpful": F("helpful") - 1} if previous.helpful else {"unhelpful": F("unhelpful") - 1})
        )
        previous.delete()
    feedback = ArticleFeedback.objects.create(
        organisation_id=organisation_id,
        article=article,
        helpful=helpful,
        comment=comment.strip()[:2000],
        user=actor.user,
        session_key=session_key[:64],
    )
    Article.objects.filter(pk=article.pk).update(
        **({"helpful": F("helpful") + 1} if helpful else {"unhelpful": F("unhelpful") + 1})
    )
    return feedback


@transaction.atomic
def record_search(*, actor: Actor, query: str, result_count: int, source: str, session_key: str = "") -> None:
    """A search, so gaps (no result) and the help session can be counted. Anonymous searches have
    no organisation to be counted for and are not logged."""
    user = actor.user
    if user is None or not user.organisation_id:
        return
    SearchLog.objects.create(
        organisation_id=user.organisation_id,
        user=user,
        session_key=session_key[:64],
        query=query.strip()[:500],
        result_count=result_count,
        source=source,
    )
    session = _help_session(actor, user.organisation_id, session_key)
    if session is not None:
        HelpSession.objects.filter(pk=session.pk).update(searches=F("searches") + 1, last_seen_at=clock.now())


@transaction.atomic
def record_ticket_submitted(*, session_key: str, ticket: Ticket) -> None:
    """The help session ended in a new ticket: it was not deflected."""
    if not session_key:
        return
    session, _ = HelpSession.objects.get_or_create(
        organisation_id=ticket.organisation_id,
        session_key=session_key[:64],
        defaults={"user_id": ticket.requester.user_id if ticket.requester_id else None},
    )
    HelpSession.objects.filter(pk=session.pk).update(ticket=ticket, last_seen_at=clock.now())
