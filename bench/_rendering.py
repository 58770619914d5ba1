"""Rendering a 100-paper digest in every format (HTML with inlined CSS, text, markdown, Slack).

The digest is real: the 407 papers of the bundled sample feed (real titles, authors,
abstracts, links), scored by the benchmark's trained model, selected with digest.select
(every threshold 0, no size limit), then cut to 100 items shared round-robin across the
profiles by rank. render.render builds all four formats in one call, as the digest job does.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from _stats import Figure, repeat

if TYPE_CHECKING:
    from arxivwatch.model import Model
    from arxivwatch.models import Digest

ITEMS = 100


def hundred_paper_digest(model: Model) -> Digest:
    """A weekly digest of exactly ITEMS real papers (fewer only if the sample has fewer)."""
    from arxivwatch import digest, score
    from arxivwatch.jobs.learn import sample_papers

    papers = sample_papers()
    with score.Scorer(model, workers=1) as scorer:
        scores = {p.id: s for p, s in zip(papers, scorer.score(papers), strict=True)}
    profiles = [replace(p, top_n=0) for p in model.profiles]
    end = papers[0].announced or date(2024, 11, 28)
    built = digest.select(
        papers,
        scores,
        profiles,
        dict.fromkeys((p.name for p in profiles), 0.0),
        period="week",
        start=date.fromordinal(end.toordinal() - 6),
        end=end,
        channel="file",
    )
    return _cut(built, ITEMS)


def _cut(built: Digest, total: int) -> Digest:
    """Keep `total` items: each profile's best first, taking turns."""
    keep = [0] * len(built.sections)
    left = total
    while left > 0 and any(k < len(s.items) for k, s in zip(keep, built.sections, strict=True)):
        for i, section in enumerate(built.sections):
            if left > 0 and keep[i] < len(section.items):
                keep[i] += 1
                left -= 1
    sections = tuple(replace(s, items=s.items[: keep[i]]) for i, s in enumerate(built.sections))
    return replace(built, sections=sections)


def rendering(model: Model, repeats: int) -> tuple[list[Figure], dict[str, Any]]:
    """Wall time of render.render on the 100-paper digest, and the size of each output."""
    from arxivwatch import render

    built = hundred_paper_digest(model)
    message = render.render(built)  # untimed: the first call also pays Jinja2's import
    seconds = repeat(lambda: render.render(built), repeats)
    details = {
        "items": built.count,
        "per_profile": {s.profile.name: len(s.items) for s in built.sections},
        "html_bytes": len(message.html.encode()),
        "text_bytes": len(message.text.encode()),
        "markdown_bytes": len(message.markdown.encode()),
        "slack_messages": len(message.slack),
    }
    name = f"render: {built.count}-paper digest, html+text+md+slack"
    return [Figure(name, "s", seconds)], details
