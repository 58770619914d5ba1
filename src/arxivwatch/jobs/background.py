"""The background papers `train` takes as negatives: a fixed number, whatever the history.

Training's cost grows with its background (the tf-idf fit and five-fold fits per profile
are linear in it), so the background has one size: the store's BACKGROUND_LIMIT newest
papers, topped up while the store holds fewer with bundled real papers of the configured
categories (newest first). A store of 1,000 papers and one of 300,000 train on the same
number of papers; only the top-up's share differs.

Bundled: `data/background.jsonl.gz`, 1,851 papers announced on 15 days from 2025-10-15 to
2026-05-04 (cs.CV and papers listed with it; arXiv metadata, CC0), and the sample feed's 407
papers of 2024-11-28.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Collection, Sequence
from datetime import date
from importlib import resources

from arxivwatch.models import Paper

log = logging.getLogger("arxivwatch.train")

BACKGROUND_LIMIT = 5_000  # negatives a training takes: about two weeks of three busy categories


def background(
    stored: Sequence[Paper], categories: Sequence[str], *, listed: Collection[str] = ()
) -> list[Paper]:
    """The negatives: `stored` (newest first) without the `listed` ids (the lists' papers are
    positives or unjudged, never negatives), at most BACKGROUND_LIMIT, topped up to
    BACKGROUND_LIMIT with bundled papers that share a category with `categories` (codes such
    as "cs.CV", or archives such as "cs") and whose id neither the store nor the lists hold.
    The caller reads BACKGROUND_LIMIT + len(listed) stored papers, so listed ones among the
    store's newest leave the size whole."""
    chosen = [p for p in stored if p.id not in listed][:BACKGROUND_LIMIT]
    missing = BACKGROUND_LIMIT - len(chosen)
    if missing <= 0:
        return chosen
    held = {p.id for p in stored}
    extra = [
        p
        for p in bundled_papers()
        if p.id not in held and p.id not in listed and _shares_category(p, categories)
    ][:missing]
    if chosen and extra:
        log.info("the store holds %d papers; %d bundled papers join the negatives", len(chosen), len(extra))
    return chosen + extra


def bundled_papers() -> tuple[Paper, ...]:
    """Every bundled background paper, newest first (the devset's days, then the sample feed's)."""
    from arxivwatch.jobs.learn import sample_papers

    ref = resources.files("arxivwatch") / "data" / "background.jsonl.gz"
    lines = gzip.decompress(ref.read_bytes()).decode("utf-8").splitlines()
    papers = [_paper(json.loads(line)) for line in lines if line.strip()]
    papers.sort(key=lambda p: (p.announced or date.min, p.id), reverse=True)
    return (*papers, *sample_papers())


def _paper(record: dict[str, object]) -> Paper:
    categories = record.get("categories")
    return Paper(
        id=str(record["id"]),
        title=str(record["title"]),
        abstract=str(record.get("abstract") or ""),
        categories=tuple(str(c) for c in categories) if isinstance(categories, list) else (),
        announced=date.fromisoformat(str(record["announced"])),
        announce_type="new",
    )


def _shares_category(paper: Paper, categories: Sequence[str]) -> bool:
    """True when one of the paper's categories is one of `categories` or in one of their archives."""
    return any(c == k or c.startswith(k + ".") for c in paper.categories for k in categories)
