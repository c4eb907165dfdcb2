"""Relevance on the real Outlook articles (../shared/data): does search answer people's questions?

The floors are set below what both backends reach (see docs/knowledge-search.md), so a change
that makes search answer noticeably fewer questions fails here.
"""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.db import connection

from tierdesk.core.actor import Actor
from tierdesk.knowledge.evaluation import evaluate_search, load_questions
from tierdesk.testing.fixtures import World, shared_data


def test_the_question_set_is_sound() -> None:
    questions = load_questions()
    assert len(questions) >= 40
    assert len({q.text for q in questions}) == len(questions)
    folder = shared_data("kb/outlook")
    missing = [p for q in questions for p in q.answers if not (folder.parent / p).is_file()]
    assert missing == []


def test_search_answers_real_questions(world: World) -> None:
    folder = shared_data("kb/outlook")
    call_command("kb", "import", str(folder), "--organisation", world.provider.slug, "--no-progress", stdout=StringIO())
    result = evaluate_search(Actor(user=world.requester_user))
    print(f"\n{connection.vendor}: {result.table()}")
    for miss in result.misses:
        print(f"  rank {miss.rank}: {miss.question.text!r} -> {miss.top}")
    assert result.recall_at(1) >= 0.55
    assert result.recall_at(3) >= 0.75
    assert result.mrr >= 0.65
