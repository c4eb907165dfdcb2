"""Tier 0 metrics: how much self-service resolves, which articles deflect tickets, which don't help,
and what people search for without finding anything.

Read-only, like every report. Definitions (docs/decisions/0009-tier0.md says why):
- A *contact* is a need brought to the desk in the period: a Tier 0 interaction resolved by
  self-service (an article that helped, an automation that finished), or a ticket opened through
  any channel (a catalogue request the virtual agent placed is one contact, not two).
  Tier 0 resolution share = self-service resolutions / contacts.
- A portal *help session* is one browser session in self-service; it is *deflected* when it viewed
  at least one article and no ticket was submitted from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from tierdesk.accounts.scope import scope_for
from tierdesk.core.actor import Actor
from tierdesk.core.errors import DomainError
from tierdesk.knowledge.models import Article, ArticleFeedback, ArticleView, HelpSession, SearchLog
from tierdesk.selfservice.choices import Tier0Outcome
from tierdesk.selfservice.models import Tier0Interaction
from tierdesk.tickets.models import Ticket

TOP = 10
# An article needs this many votes before it can be called unhelpful: one "no" is noise.
MIN_VOTES = 2


@dataclass(frozen=True)
class ArticleFigure:
    article_id: int
    slug: str
    title: str
    views: int
    helpful: int
    unhelpful: int
    resolutions: int  # Tier 0 interactions this article resolved

    @property
    def helpful_percent(self) -> float | None:
        return _percent(self.helpful, self.helpful + self.unhelpful)


@dataclass(frozen=True)
class UnansweredSearch:
    query: str
    searches: int
    last_searched_at: datetime


@dataclass(frozen=True)
class AutomationFigure:
    automation: str
    resolutions: int


@dataclass(frozen=True)
class Tier0Metrics:
    contacts: int
    self_service: int
    handed_to_person: int
    abandoned: int
    tickets_opened: int
    help_sessions: int  # portal sessions that viewed at least one article
    deflected_sessions: int  # of those, no ticket submitted
    automations: list[AutomationFigure]
    most_used: list[ArticleFigure]
    least_helpful: list[ArticleFigure]
    unanswered_searches: list[UnansweredSearch]
    searches: int
    searches_without_result: int

    @property
    def tier0_percent(self) -> float | None:
        return _percent(self.self_service, self.contacts)

    @property
    def deflection_percent(self) -> float | None:
        return _percent(self.deflected_sessions, self.help_sessions)

    @property
    def no_result_percent(self) -> float | None:
        return _percent(self.searches_without_result, self.searches)


def _percent(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _period(field: str, start: date | None, end: date | None) -> Q:
    zone = timezone.get_current_timezone()
    q = Q()
    if start:
        q &= Q(**{f"{field}__gte": datetime.combine(start, time(0), tzinfo=zone)})
    if end:
        q &= Q(**{f"{field}__lte": datetime.combine(end, time.max, tzinfo=zone)})
    return q


def tier0_metrics(
    actor: Actor,
    *,
    date_from: date | None = None,
    date_until: date | None = None,
    organisation_id: int | None = None,
) -> Tier0Metrics:
    """Tier 0 figures over the organisations the actor sees in full (requesters' organisations)."""
    if date_from and date_until and date_until < date_from:
        raise DomainError("The period ends before it starts.")
    scope = scope_for(actor)
    # What people searched for and read is the desk's to see, not their colleagues': a requester's
    # report is empty.
    organisations = set(scope.organisation_ids) if scope.is_agent_side else set()
    if organisation_id is not None:
        organisations &= {organisation_id}
    mine = Q(organisation_id__in=sorted(organisations))

    interactions = Tier0Interaction.objects.filter(mine, _period("created_at", date_from, date_until))
    outcomes = dict(interactions.values_list("outcome").annotate(n=Count("id")).order_by())
    self_service = outcomes.get(Tier0Outcome.SELF_SERVICE, 0)
    # A catalogue request placed by the virtual agent is a self-service resolution that also opens
    # a ticket (for its fulfilment): one contact, counted once, as the self-service one.
    placed_by_self_service = Tier0Interaction.objects.filter(
        mine, outcome=Tier0Outcome.SELF_SERVICE, ticket__isnull=False
    ).values("ticket_id")
    tickets_opened = (
        Ticket.objects.filter(mine, _period("created_at", date_from, date_until))
        .exclude(pk__in=placed_by_self_service)
        .count()
    )

    automations = [
        AutomationFigure(automation=name, resolutions=n)
        for name, n in interactions.filter(outcome=Tier0Outcome.SELF_SERVICE)
        .exclude(automation="")
        .values_list("automation")
        .annotate(n=Count("id"))
        .order_by("-n", "automation")
    ]

    sessions = HelpSession.objects.filter(mine, _period("started_at", date_from, date_until), articles_viewed__gt=0)
    help_sessions = sessions.count()
    deflected = sessions.filter(ticket__isnull=True).count()

    searches = SearchLog.objects.filter(mine, _period("created_at", date_from, date_until))
    unanswered = searches.filter(result_count=0)
    unanswered_rows = [
        UnansweredSearch(query=q, searches=n, last_searched_at=last)
        for q, n, last in unanswered.annotate(q=Lower("query"))
        .values("q")
        .annotate(n=Count("id"), last=Max("created_at"))
        .order_by("-n", "q")
        .values_list("q", "n", "last")[:TOP]
    ]

    most_used, least_helpful = _article_figures(
        ArticleView.objects.filter(mine, _period("created_at", date_from, date_until)),
        ArticleFeedback.objects.filter(mine, _period("created_at", date_from, date_until)),
        interactions,
    )
    return Tier0Metrics(
        contacts=self_service + tickets_opened,
        self_service=self_service,
        handed_to_person=outcomes.get(Tier0Outcome.HANDED_TO_PERSON, 0),
        abandoned=outcomes.get(Tier0Outcome.ABANDONED, 0),
        tickets_opened=tickets_opened,
        help_sessions=help_sessions,
        deflected_sessions=deflected,
        automations=automations,
        most_used=most_used,
        least_helpful=least_helpful,
        unanswered_searches=unanswered_rows,
        searches=searches.count(),
        searches_without_result=unanswered.count(),
    )


def _article_figures(
    views: QuerySet[ArticleView],
    feedback: QuerySet[ArticleFeedback],
    interactions: QuerySet[Tier0Interaction],
) -> tuple[list[ArticleFigure], list[ArticleFigure]]:
    """The most used articles (by views) and the least helpful (lowest share of "it helped" votes)."""
    view_counts = dict(views.values_list("article_id").annotate(n=Count("id")).order_by())
    votes: dict[int, tuple[int, int]] = {
        article_id: (yes, no)
        for article_id, yes, no in feedback.values_list("article_id")
        .annotate(yes=Count("id", filter=Q(helpful=True)), no=Count("id", filter=Q(helpful=False)))
        .order_by()
        .values_list("article_id", "yes", "no")
    }
    resolutions = dict(
        interactions.filter(outcome=Tier0Outcome.SELF_SERVICE, article__isnull=False)
        .values_list("article_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    most_used = sorted(view_counts, key=lambda a: (-view_counts[a], a))[:TOP]
    voted = [a for a, (yes, no) in votes.items() if no and yes + no >= MIN_VOTES]
    least_helpful = sorted(voted, key=lambda a: (votes[a][0] / sum(votes[a]), -votes[a][1], a))[:TOP]
    articles = {
        a.pk: a for a in Article.objects.filter(pk__in=[*most_used, *least_helpful]).only("pk", "slug", "title")
    }

    def figures(ranked: list[int]) -> list[ArticleFigure]:
        return [
            ArticleFigure(
                article_id=a,
                slug=articles[a].slug,
                title=articles[a].title,
                views=view_counts.get(a, 0),
                helpful=votes.get(a, (0, 0))[0],
                unhelpful=votes.get(a, (0, 0))[1],
                resolutions=resolutions.get(a, 0),
            )
            for a in ranked
            if a in articles
        ]

    return figures(most_used), figures(least_helpful)
