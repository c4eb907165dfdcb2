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
5. With TIERDESK_KB_RERANK=1 and the `semantic` extra installed, after each relevance line: the
   semantic re-ranker's rows (combination weights 0.3, 0.5, 0.7), its model load time and memory,
   and the search latency with and without it. Every other figure is plain full-text either way.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING
from unittest.mock import patch

if TYPE_CHECKING:
    from benchmarks.seed import World
    from tierdesk.accounts.models import User
    from tierdesk.core.actor import Actor
    from tierdesk.knowledge.evaluation import Question

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


RERANK_WEIGHTS = (0.3, 0.5, 0.7)
RERANK_ROUNDS = 3


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rerank_rows(actor: Actor, questions: list[Question]) -> None:
    """The optional semantic re-ranker (search/rerank.py) on the same questions, and what it costs."""
    from django.test import override_settings

    from tierdesk.knowledge.evaluation import evaluate_search
    from tierdesk.knowledge.search import rerank, search_articles

    with override_settings(TIERDESK_KB_RERANK=True):
        if rerank._model is None:
            rss, started = _rss_mb(), time.perf_counter()
            if not rerank.enabled():
                print("    re-ranker: the semantic extra is not installed, no re-ranked figures")
                return
            print(
                f"    re-ranker model: loaded in {time.perf_counter() - started:.1f} s, RSS +{_rss_mb() - rss:.0f} MB"
            )
        cached, started = len(rerank._vectors), time.perf_counter()
        evaluate_search(actor, questions)  # embeds the candidates not seen yet
        print(
            f"    first re-ranked pass: {len(rerank._vectors) - cached} articles embedded, "
            f"{time.perf_counter() - started:.1f} s for {len(questions)} questions"
        )
        for weight in RERANK_WEIGHTS:
            with patch.object(rerank, "WEIGHT", weight):
                print(f"    re-ranked, weight {weight}: {evaluate_search(actor, questions).table()}")
    timings: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(RERANK_ROUNDS):
        for question in questions:
            for on in (False, True):
                with override_settings(TIERDESK_KB_RERANK=on):
                    started = time.perf_counter()
                    search_articles(question.text, actor=actor, log=False)
                    timings[on].append(time.perf_counter() - started)
    plain, reranked = timings[False], timings[True]
    print(
        f"    latency, warm, {len(questions)} questions x {RERANK_ROUNDS}: plain p50 {_ms(plain, 0.5):.1f} / "
        f"p95 {_ms(plain, 0.95):.1f} ms, re-ranked p50 {_ms(reranked, 0.5):.1f} / p95 {_ms(reranked, 0.95):.1f} ms"
    )


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
    from django.conf import settings
    from django.db import connection
    from django.test import override_settings

    from tierdesk.core.actor import Actor
    from tierdesk.knowledge.evaluation import evaluate_search, load_questions
    from tierdesk.knowledge.importer import import_folder
    from tierdesk.knowledge.models import Article
    from tierdesk.knowledge.search import search_articles

    print(f"\nKnowledge search ({connection.vendor})")
    rerank_rows = settings.TIERDESK_KB_RERANK
    plain = override_settings(TIERDESK_KB_RERANK=False)  # every figure but the re-ranker's is plain full-text
    plain.enable()
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
        if rerank_rows:
            _rerank_rows(requester, questions)
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
        if rerank_rows:
            _rerank_rows(requester, questions)

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
    plain.disable()
