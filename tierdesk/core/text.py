"""Small text matching for suggestions and correlation: words, a light stem, overlap scores.

Enough to tell "wifi down on 3rd floor" from "printer jammed" without a search engine; the
knowledge base gets real full-text search of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "cannot",
        "could",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "hi",
        "hello",
        "i",
        "i'm",
        "if",
        "in",
        "into",
        "is",
        "it",
        "it's",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "some",
        "than",
        "thanks",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "up",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "any",
        "all",
        "also",
        "again",
        "just",
        "still",
        "get",
        "got",
    ]
)
SUFFIXES = ("ations", "ation", "ings", "ing", "ness", "ies", "ied", "ers", "er", "es", "ed", "ly", "s")


def stem(word: str) -> str:
    """A crude suffix stripper: connects, connected, connecting and connection meet at 'connect'."""
    for suffix in SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    """The stemmed content words of a text."""
    return {stem(word) for word in WORD.findall(text.lower()) if word not in STOP_WORDS and len(word) > 1}


def overlap(query: Iterable[str] | str, document: Iterable[str] | str) -> float:
    """How much of the query's vocabulary the document shares (0..1)."""
    q = terms(query) if isinstance(query, str) else set(query)
    d = terms(document) if isinstance(document, str) else set(document)
    if not q or not d:
        return 0.0
    return len(q & d) / len(q)
