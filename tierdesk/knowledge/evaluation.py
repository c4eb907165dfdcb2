"""How well search answers real questions: recall@1, recall@3 and MRR over a question set.

A question counts as answered at rank k when one of its accepted articles (matched by the
import's `source_path`) is the k-th hit. The set lives in tests/relevance_questions.yaml.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from tierdesk.core.actor import Actor
from tierdesk.knowledge.search import SearchHit, search_articles

QUESTIONS = Path(__file__).parent / "tests" / "relevance_questions.yaml"
DEPTH = 10


@dataclass(frozen=True)
class Question:
    text: str
    answers: frozenset[str]  # accepted source paths; the first-named one is `primary`
    primary: str


@dataclass(frozen=True)
class Outcome:
    question: Question
    rank: int | None  # 1-based rank of the first accepted answer within DEPTH, else None
    top: str  # source path of the first hit ("" when none)
    seconds: float


@dataclass(frozen=True)
class Evaluation:
    outcomes: list[Outcome]

    def recall_at(self, k: int) -> float:
        return sum(1 for o in self.outcomes if o.rank is not None and o.rank <= k) / max(len(self.outcomes), 1)

    @property
    def mrr(self) -> float:
        return sum(1 / o.rank for o in self.outcomes if o.rank) / max(len(self.outcomes), 1)

    @property
    def misses(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.rank is None or o.rank > 3]

    def table(self) -> str:
        return (
            f"questions {len(self.outcomes)}  recall@1 {self.recall_at(1):.2f}  "
            f"recall@3 {self.recall_at(3):.2f}  recall@10 {self.recall_at(DEPTH):.2f}  MRR {self.mrr:.2f}"
        )


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    questions = []
    for entry in yaml.safe_load(path.read_text(encoding="utf-8")):
        primary = str(entry["answer"])
        answers = frozenset([primary, *(str(p) for p in entry.get("also", []))])
        questions.append(Question(text=str(entry["question"]), answers=answers, primary=primary))
    return questions


Searcher = Callable[[str], Sequence[SearchHit]]


def evaluate(questions: list[Question], search: Searcher) -> Evaluation:
    outcomes = []
    for question in questions:
        started = time.perf_counter()
        hits = search(question.text)
        seconds = time.perf_counter() - started
        paths = [hit.article.source_path for hit in hits[:DEPTH]]
        rank = next((i for i, p in enumerate(paths, start=1) if p in question.answers), None)
        outcomes.append(Outcome(question=question, rank=rank, top=paths[0] if paths else "", seconds=seconds))
    return Evaluation(outcomes)


def evaluate_search(actor: Actor, questions: list[Question] | None = None) -> Evaluation:
    """The product's own search, as this person would get it (not logged)."""
    return evaluate(
        questions if questions is not None else load_questions(),
        lambda text: search_articles(text, actor=actor, limit=DEPTH, log=False),
    )
