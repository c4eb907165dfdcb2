"""Search on the current database's backend (run the suite on SQLite and on PostgreSQL):
ranking, stemming, error codes, hostile input, visibility, logging and suggestions."""

from __future__ import annotations

import pytest

from tierdesk.core.actor import Actor
from tierdesk.knowledge import services
from tierdesk.knowledge.choices import ArticleStatus
from tierdesk.knowledge.models import HelpSession, SearchLog
from tierdesk.knowledge.search import rebuild_index, search_articles, suggest_for_ticket
from tierdesk.knowledge.search.text import search_terms, snippet
from tierdesk.knowledge.tests.conftest import Kb
from tierdesk.testing.factories import open_ticket
from tierdesk.testing.fixtures import World


def _titles(query: str, user: object, **kwargs: object) -> list[str]:
    hits = search_articles(query, actor=Actor(user=user), log=False, **kwargs)  # type: ignore[arg-type]
    return [hit.article.title for hit in hits]


def test_a_title_match_beats_a_body_match(world: World) -> None:
    system = Actor.system()
    body_only = services.create_article(
        actor=system,
        organisation=world.provider,
        title="Mailbox housekeeping",
        body="Archive old items. Calendar sharing is covered elsewhere. " * 3,
    )
    in_title = services.create_article(
        actor=system, organisation=world.provider, title="Calendar sharing", body="Right-click the calendar, Share."
    )
    hits = search_articles("calendar sharing", actor=Actor(user=world.agent), log=False)
    assert [h.article for h in hits] == [in_title, body_only]
    assert hits[0].score > hits[1].score > 0


def test_stemming_finds_other_word_forms(kb: Kb, world: World) -> None:
    assert _titles("passwords", world.requester_user)[0] == kb.outlook.title
    assert _titles("prompting for credential", world.requester_user)[0] == kb.outlook.title


def test_a_long_question_still_finds_its_article(kb: Kb, world: World) -> None:
    question = "why does outlook keep asking me for my password all the time??"
    assert _titles(question, world.requester_user)[0] == kb.outlook.title


def test_error_codes_are_searchable(kb: Kb, world: World) -> None:
    assert _titles("0x80070005", world.requester_user) == [kb.vpn.title]
    assert _titles("error 0X80070005 on connect", world.requester_user)[0] == kb.vpn.title


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced quote',
        "outlook AND OR NOT",
        "title:password*",
        "NEAR(outlook password)",
        "password) OR (1=1",
        "'; DROP TABLE knowledge_article; --",
        "!!! ??? ***",
        "& | ! <-> :*",
        "",
        "   ",
        "x" * 5000,
        "ünïcödé pässwörd 密码",
    ],
)
def test_hostile_or_odd_input_never_errors(kb: Kb, world: World, query: str) -> None:
    hits = search_articles(query, actor=Actor(user=world.agent), log=False)
    assert isinstance(hits, list)
    assert all(h.article.organisation_id == world.provider.pk for h in hits)


def test_search_respects_visibility(kb: Kb, world: World) -> None:
    assert set(_titles("password outlook vpn printer escalate", world.requester_user)) == {
        kb.outlook.title,
        kb.vpn.title,
    }
    assert set(_titles("password outlook vpn printer escalate", world.other_requester_user)) == {kb.outlook.title}
    # Agents find internal articles but not drafts (drafts are for the list, not for answers).
    assert set(_titles("password outlook vpn printer escalate", world.agent)) == {
        kb.outlook.title,
        kb.vpn.title,
        kb.escalation.title,
    }
    assert _titles("password outlook", world.other_provider_agent) == [kb.rival.title]
    assert _titles("password outlook", None) == []
    services.set_article_status(actor=Actor.system(), article=kb.outlook, status=ArticleStatus.RETIRED)
    assert kb.outlook.title not in _titles("password outlook", world.requester_user)


def test_revisions_are_searchable_at_once(kb: Kb, world: World) -> None:
    assert _titles("kerberos", world.agent) == []
    services.revise_article(actor=Actor(user=world.agent), article=kb.outlook, body="Clear the Kerberos tickets.")
    assert _titles("kerberos", world.agent) == [kb.outlook.title]
    assert rebuild_index() >= 5
    assert _titles("kerberos", world.agent) == [kb.outlook.title]
    assert _titles("MicrosoftOffice16", world.agent) == []


def test_snippet_is_plain_text_around_the_match(kb: Kb, world: World) -> None:
    (hit,) = search_articles("credential manager", actor=Actor(user=world.other_requester_user), log=False)
    assert "Credential Manager" in hit.snippet or "credentials" in hit.snippet
    assert "##" not in hit.snippet
    text = "word " * 100 + "the Credential Manager entry " + "word " * 100
    cut = snippet(text, ["credential"])
    assert cut.startswith("…") and cut.endswith("…") and "Credential Manager" in cut


def test_terms_drop_stop_words_and_keep_codes() -> None:
    assert search_terms("Why does Outlook keep asking for my password?") == ["outlook", "asking", "password"]
    assert search_terms("0x8004010F when sending") == ["0x8004010f", "sending"]
    assert search_terms("how do I") == ["how", "do"]  # only stop words: search them rather than nothing
    assert search_terms('"NEAR(a b)" OR c*') == ["near"]


def test_searches_are_logged_for_tier0_metrics(kb: Kb, world: World) -> None:
    requester = Actor(user=world.requester_user)
    search_articles("outlook password", actor=requester, session_key="abc", source="portal")
    search_articles("fax machine jammed", actor=requester, session_key="abc", source="chat")
    search_articles("outlook", actor=Actor(user=None))  # anonymous: nothing to count it for
    logs = list(SearchLog.objects.order_by("id").values_list("query", "result_count", "source", "organisation_id"))
    assert logs == [
        ("outlook password", 1, "portal", world.client.pk),
        ("fax machine jammed", 0, "chat", world.client.pk),
    ]
    assert HelpSession.objects.get(session_key="abc").searches == 2


def test_suggestions_for_a_ticket(kb: Kb, world: World) -> None:
    ticket = open_ticket(
        world.requester,
        title="Outlook password prompt",
        description="Since this morning Outlook asks for my password every 5 minutes.",
    )
    hits = suggest_for_ticket(ticket, actor=Actor(user=world.agent))
    assert hits and hits[0].article == kb.outlook and len(hits) <= 3
    assert not SearchLog.objects.exists()
