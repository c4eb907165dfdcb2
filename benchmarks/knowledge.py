"""Knowledge search figures: relevance on the real Outlook articles, and latency at 10,000 articles.

1. The 294 Outlook articles of ../shared/data/kb/outlook are imported through `import_folder`
   (the `tierdesk kb import` path: parsing, services, versions, audit, index) and timed.
2. Relevance: the questions of tierdesk/knowledge/tests/relevance_questions.yaml, asked as a
   requester of a client: recall@1, recall@3, recall@10 and MRR on this backend.
3. Synthetic articles are added with `bulk_create` until 10,000 are published (titles, summaries
   and bodies drawn from the real articles' vocabulary with its word frequencies, or from a small
   built-in IT vocabulary when the shared data is absent), then the index is rebuilt and timed.
4. Latency: the same questions (about 50) plus a few short and error-code queries, warm (each run
   once first), several rounds; p50/p95 of `search_articles(..., log=False)` for a requester (the
   audience check in the query) and for an agent. Relevance is measured again among the 10,000.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.seed import World
    from tierdesk.accounts.models import User

TOTAL = 10_000
ROUNDS = 5
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "kb" / "outlook"
ATTRIBUTION = (
    "Content from Microsoft's OfficeDocs-Support repository (MicrosoftDocs/OfficeDocs-Support), © Microsoft, CC BY 4.0."
)
EXTRA_QUERIES = ["outlook", "password", "0x8004010F", "calendar sharing", "pst", "shared mailbox permissions"]
FALLBACK_VOCABULARY = (  # noqa: SIM905 - a word list reads better as prose
    "outlook mailbox calendar password profile exchange server error sync folder attachment message rule junk "
    "printer driver vpn network laptop teams meeting account license office install update registry policy "
    "cache offline address book contact delegate permission share sign certificate proxy connection timeout"
).split()


def _ms(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def _requester_login(world: World) -> User:
    from tierdesk.accounts.choices import Role
    from tierdesk.accounts.models import User

    requester = world.requesters[world.clients[0].pk][0]
    user = User.objects.create_user(
        email="kb-bench@client.example", organisation=world.clients[0], role=Role.REQUESTER, full_name=requester.name
    )
    # Bench set-up, not a desk action: link the login as the seed links rows, directly.
    type(requester).objects.filter(pk=requester.pk).update(user=user)
    return user


def _vocabulary() -> Counter[str]:
    from tierdesk.knowledge.models import Article

    words: Counter[str] = Counter()
    for body in Article.objects.values_list("body", flat=True):
        words.update(w for w in re.findall(r"[a-z][a-z0-9]{2,}", body.lower()))
    return words or Counter(dict.fromkeys(FALLBACK_VOCABULARY, 1))


def _synthesise(world: World, count: int) -> float:
    from tierdesk.core import clock
    from tierdesk.knowledge.choices import ArticleSource, ArticleStatus
    from tierdesk.knowledge.models import Article
    from tierdesk.knowledge.search import rebuild_index

    vocabulary = _vocabulary()
    words = list(vocabulary)
    cumulative = list(accumulate(vocabulary.values()))  # once: choices() would sum the weights on every call
    rng = random.Random(8)

    def text(n: int) -> str:
        return " ".join(rng.choices(words, cum_weights=cumulative, k=n))

    now = clock.now()
    rows = [
        Article(
            organisation=world.provider,
            slug=f"synthetic-{i}",
            title=text(rng.randint(5, 10)).capitalize()[:250],
            summary=text(rng.randint(12, 25)),
            body="## Symptoms\n\n" + text(rng.randint(80, 250)) + "\n\n## Resolution\n\n" + text(rng.randint(80, 300)),
            status=ArticleStatus.PUBLISHED,
            source=ArticleSource.MANUAL,
            published_at=now,
            created_at=now,
            updated_at=now,
        )
        for i in range(count)
    ]
    Article.objects.bulk_create(rows, batch_size=500)
    started = time.perf_counter()
    rebuild_index()
    return time.perf_counter() - started


def report(world: World) -> None:
    from django.db import connection

    from tierdesk.core.actor import Actor
    from tierdesk.knowledge.evaluation import Question, evaluate_search, load_questions
    from tierdesk.knowledge.importer import import_folder
    from tierdesk.knowledge.models import Article
    from tierdesk.knowledge.search import search_articles

    print(f"\nKnowledge search ({connection.vendor})")
    requester = Actor(user=_requester_login(world))
    agent = Actor(user=world.agent)
    questions: list[Question] = []
    if SHARED.is_dir():
        started = time.perf_counter()
        result = import_folder(SHARED, provider=world.provider, actor=Actor.system("command"), attribution=ATTRIBUTION)
        print(f"  import of {SHARED.name}/: {result.summary()} in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        again = import_folder(SHARED, provider=world.provider, actor=Actor.system("command"), attribution=ATTRIBUTION)
        print(f"  re-import (idempotent): {again.summary()} in {time.perf_counter() - started:.1f} s")
        questions = load_questions()
        before = evaluate_search(requester, questions)
        print(f"  relevance, {len(questions)} questions, {result.created} real articles: {before.table()}")
    else:
        print(f"  {SHARED} is absent: all articles synthetic, no relevance figures")

    existing = Article.objects.published().count()
    t0 = time.perf_counter()
    index_seconds = _synthesise(world, TOTAL - existing)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE knowledge_article")
    total = Article.objects.published().count()
    print(
        f"  {total:,} published articles ({existing} real, {total - existing:,} synthetic from the real articles' "
        f"vocabulary) written in {time.perf_counter() - t0:.1f} s; index rebuild {index_seconds:.1f} s"
    )
    if questions:
        print(f"  relevance among {total:,}: {evaluate_search(requester, questions).table()}")

    queries = [q.text for q in questions] + EXTRA_QUERIES
    if not questions:
        rng = random.Random(3)
        queries += [" ".join(rng.sample(FALLBACK_VOCABULARY, 4)) for _ in range(44)]
    print(f"  search_articles latency, {len(queries)} queries x {ROUNDS} rounds, warm (limit 10, not logged):")
    print(f"    {'as':<12} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'mean hits':>10}")
    for label, actor in (("requester", requester), ("agent", agent)):
        for query in queries:
            search_articles(query, actor=actor, log=False)
        samples: list[float] = []
        hits = 0
        for _ in range(ROUNDS):
            for query in queries:
                started = time.perf_counter()
                hits += len(search_articles(query, actor=actor, log=False))
                samples.append(time.perf_counter() - started)
        print(
            f"    {label:<12} {_ms(samples, 0.50):>8.1f} {_ms(samples, 0.95):>8.1f} {1000 * max(samples):>8.1f} "
            f"{hits / len(samples):>10.1f}"
        )
