"""Which known errors does a ticket look like? Plain text similarity, no database, no model.

A known error is indexed by its title (counted twice: it is the summary) and its symptoms;
a ticket is matched by its title (twice) and the start of its description. Both sides go
through the same normalisation:

- lower case, words and codes only ("0x800ccc0e" and "691" stay, "10" does not);
- a small service-desk thesaurus folds the ways people say the same thing ("e-mail",
  "inbox" -> mail; "log in", "sign on" -> login; "kicked out", "drops" -> disconnect);
- stop words and desk filler ("hi", "please", "issue") are dropped;
- a light suffix stemmer ("disconnects", "disconnected", "disconnecting" -> disconnect).

Scoring is TF-IDF cosine similarity over the provider's known errors: a word few known
errors use (vpn, printer) weighs more than one many use (password, keeps). A ticket word
no known error uses still counts in the ticket's length, so a long unrelated ticket that
shares one word scores low. A ticket word that matches no indexed word exactly may match
one sharing most of its prefix ("configuration" ~ "configure"), at a discount. Scores
below `MINIMUM_SCORE` are not suggestions; equal scores are ordered by how alike the titles
read (difflib), then by the known error's key, so the order is stable.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

# Below this a known error is not worth an agent's attention (calibrated on tests/test_suggestions.py).
MINIMUM_SCORE = 0.3
# Descriptions beyond this are mostly history and signatures; the first lines say what is wrong.
DESCRIPTION_CHARS = 1500
TITLE_WEIGHT = 2
PARTIAL_MATCH_WEIGHT = 0.7
MIN_SHARED_TERMS = 2
PARTIAL_MIN_PREFIX = 5
PARTIAL_MIN_SHARE = 0.8

_STOP_WORDS_TEXT = """
    a about above after again against all also am an and any are aren as at be because been before being below
    between both but by can cannot cant could couldn did didn do does doesn doing don down during each either
    else ever every few for from further get gets getting got had has hasn have haven having he her here hers
    him his how however i if im in into is isn it its itself ive just let lets like ll me more most much must
    my myself no nor not now of off often on once one only or other our ours out over own per quite rather re
    really same she should shouldn since so some still such than that the their them then there these they
    this those though through thus to too under until up upon us very via was wasn way we were weren what
    when where whether which while who whom why will with within without won would wouldn yet you your yours
    hi hello hey dear please pls plz thanks thank thx regards cheers kind best team anyone someone somebody
    help need needs urgent urgently asap issue issues problem problems ticket tickets today yesterday morning
    afternoon tried trying try know seems seem seemed able unable anything something nothing everything
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

# Different words, one meaning. Phrases are folded before splitting into words.
PHRASES: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"\b(?:log|logging|logged|sign|signing|signed)[\s-]*(?:in|on)\b", " login "),
        (r"\b(?:kick|kicks|kicked|kicking|thrown|throws|booted)\s+(?:me\s+)?(?:out|off)\b", " disconnect "),
        (r"\b(?:cut|cuts|cutting)\s+(?:out|off)\b", " disconnect "),
        (r"\bpop[\s-]*ups?\b", " prompt "),
        (r"\bwi[\s-]*fi\b", " wifi "),
        (r"\be[\s-]*mails?\b", " mail "),
        (r"\bpass[\s-]*words?\b", " password "),
    )
)

SYNONYMS: dict[str, str] = {
    **dict.fromkeys(("mail", "mails", "mailbox", "mailboxes", "inbox"), "mail"),
    **dict.fromkeys(("password", "passwd", "pwd", "credential", "credentials", "passcode"), "password"),
    **dict.fromkeys(("login", "logon", "signin", "logins"), "login"),
    **dict.fromkeys(("ask", "asks", "asked", "asking", "prompt", "prompts", "prompted", "prompting"), "prompt"),
    **dict.fromkeys(
        (
            "disconnect",
            "disconnects",
            "disconnected",
            "disconnecting",
            "disconnection",
            "disconnections",
            "drop",
            "drops",
            "dropped",
            "dropping",
            "dropout",
            "dropouts",
        ),
        "disconnect",
    ),
    **dict.fromkeys(("wifi", "wireless", "wlan"), "wifi"),
    **dict.fromkeys(("printer", "printers", "printing", "prints", "printed"), "print"),
    **dict.fromkeys(("laptop", "laptops", "notebook"), "laptop"),
    **dict.fromkeys(("pc", "computer", "computers", "desktop", "workstation"), "computer"),
    **dict.fromkeys(("slow", "sluggish", "laggy", "lag", "lagging"), "slow"),
    **dict.fromkeys(("freeze", "freezes", "freezing", "frozen", "hang", "hangs", "hung", "unresponsive"), "freeze"),
    **dict.fromkeys(("minute", "minutes", "min", "mins"), "minute"),
}

# Names that also mean a more general thing people say instead ("my Outlook" = "my e-mail").
EXPANSIONS: dict[str, tuple[str, ...]] = {
    "outlook": ("mail",),
    "anyconnect": ("vpn",),
    "globalprotect": ("vpn",),
    "forticlient": ("vpn",),
}

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _stem(word: str) -> str:
    """A light suffix stripper: enough to fold plurals and verb forms, never a dictionary."""
    if len(word) <= 4 or word.isdigit():
        return word
    for suffix, replacement in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh")):
        if word.endswith(suffix):
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ingly", "edly", "ly", "ing", "ed", "ions", "ion"):
        stem = word[: -len(suffix)]
        if word.endswith(suffix) and len(stem) >= 3:
            # "dropping" -> "dropp" -> "drop"
            if len(stem) >= 4 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]
            return stem
    return word


@lru_cache(maxsize=8192)
def terms(text: str) -> tuple[str, ...]:
    """The normalised terms of a text, in order (cached: known errors are read on every ticket page)."""
    text = text.lower().replace("\u2019", "'")  # typographic apostrophe
    for pattern, replacement in PHRASES:
        text = pattern.sub(replacement, text)
    out: list[str] = []
    for raw in WORD.findall(text):
        word = raw.split("'", 1)[0]
        if word in STOP_WORDS or (word.isdigit() and len(word) < 3) or len(word) < 2:
            continue
        stem = SYNONYMS.get(word) or SYNONYMS.get(_stem(word)) or _stem(word)
        if stem in STOP_WORDS:
            continue
        out.append(stem)
        out.extend(EXPANSIONS.get(stem, ()))
    return tuple(out)


def _tf(count: float) -> float:
    return 1.0 + math.log(count) if count > 0 else 0.0


@lru_cache(maxsize=4096)
def _weighted(title: str, body: str) -> tuple[tuple[str, float], ...]:
    """Sublinear term frequencies, the title counting double (cached like `terms`)."""
    counts: Counter[str] = Counter()
    for term in terms(title):
        counts[term] += TITLE_WEIGHT
    for term in terms(body):
        counts[term] += 1
    return tuple((term, _tf(n)) for term, n in counts.items())


def _shared(word: str, other: str) -> int:
    """Length of the common prefix."""
    shared = 0
    for a, b in zip(word, other, strict=False):
        if a != b:
            break
        shared += 1
    return shared


def _partial(word: str, other: str) -> bool:
    shared = _shared(word, other)
    return shared >= PARTIAL_MIN_PREFIX and shared >= PARTIAL_MIN_SHARE * min(len(word), len(other))


@dataclass(frozen=True)
class Match:
    key: int
    score: float


class Index:
    """TF-IDF vectors of documents (key, title, body), searched by cosine similarity."""

    def __init__(self, documents: Iterable[tuple[int, str, str]]) -> None:
        self.keys: list[int] = []
        self.titles: list[str] = []
        frequencies: list[tuple[tuple[str, float], ...]] = []
        for key, title, body in documents:
            self.keys.append(key)
            self.titles.append(" ".join(terms(title)))
            frequencies.append(_weighted(title, body))
        self.size = len(frequencies)
        document_frequency: Counter[str] = Counter(term for pairs in frequencies for term, _ in pairs)
        self.idf = {term: self._idf(df) for term, df in document_frequency.items()}
        # A word no known error uses says little about any of them, but a ticket full of such words
        # is about something else: it counts at half the weight of the rarest indexed word.
        self.unseen_idf = self._idf(0) / 2
        self.postings: dict[str, list[tuple[int, float]]] = {term: [] for term in self.idf}
        self.norms: list[float] = []
        idf = self.idf
        for position, pairs in enumerate(frequencies):
            norm_sq = 0.0
            for term, tf in pairs:
                weight = tf * idf[term]
                norm_sq += weight * weight
                self.postings[term].append((position, weight))
            self.norms.append(math.sqrt(norm_sq) or 1.0)

    def _idf(self, df: int) -> float:
        return math.log((1 + self.size) / (1 + df)) + 1.0

    def _resolve(self, term: str) -> tuple[str | None, float]:
        """The indexed term a ticket's term stands for, and how much it counts."""
        if term in self.idf:
            return term, 1.0
        if len(term) >= PARTIAL_MIN_PREFIX:
            candidates = [known for known in self.idf if known[:3] == term[:3] and _partial(term, known)]
            if candidates:
                # The longest shared prefix wins; ties go to the rarer (more telling) term.
                best = max(candidates, key=lambda known: (_shared(term, known), self.idf[known], known))
                return best, PARTIAL_MATCH_WEIGHT
        return None, 0.0

    def search(self, title: str, body: str = "", *, limit: int = 3, minimum: float = MINIMUM_SCORE) -> list[Match]:
        if not self.size or limit <= 0:
            return []
        query = _weighted(title, body[:DESCRIPTION_CHARS])
        if not query:
            return []
        # The ticket's vector over indexed terms; words no known error uses still lengthen it.
        vector: dict[str, float] = {}
        norm_sq = 0.0
        for term, tf in query:
            known, factor = self._resolve(term)
            if known is None:
                norm_sq += (tf * self.unseen_idf) ** 2
            else:
                vector[known] = vector.get(known, 0.0) + tf * self.idf[known] * factor
        norm_sq += sum(weight * weight for weight in vector.values())
        query_norm = math.sqrt(norm_sq) or 1.0
        dots = [0.0] * self.size
        shared = [0] * self.size
        for known, weight in vector.items():
            for position, doc_weight in self.postings[known]:
                dots[position] += weight * doc_weight
                shared[position] += 1
        # One word in common is thin evidence however rare the word: such a match counts half.
        scored = [
            (dot / (query_norm * self.norms[position]) * min(1.0, shared[position] / MIN_SHARED_TERMS), position)
            for position, dot in enumerate(dots)
            if dot > 0
        ]
        hits = sorted(
            ((round(score, 4), position) for score, position in scored if score >= minimum),
            key=lambda hit: (-hit[0], self.keys[hit[1]]),
        )
        # difflib is slow: only the few near the top, whose scores may tie, are compared.
        window = hits[: limit * 3]
        title_terms = " ".join(terms(title))
        window.sort(
            key=lambda hit: (
                -round(hit[0], 3),
                -SequenceMatcher(None, title_terms, self.titles[hit[1]]).ratio(),
                self.keys[hit[1]],
            )
        )
        return [Match(self.keys[position], score) for score, position in window[:limit]]
