"""Training's background has one size whatever the history: the store's newest papers, topped
up with bundled real papers of the configured categories while the store holds fewer."""

from __future__ import annotations

from datetime import date

import pytest

from arxivwatch.jobs import background as negatives
from arxivwatch.models import Paper


def _stored(count: int, category: str = "cs.CV") -> list[Paper]:
    return [Paper(id=f"9999.{k:05d}", title=f"stored {k}", categories=(category,)) for k in range(count)]


def test_the_bundled_papers_are_real_dated_and_newest_first() -> None:
    """The bundle holds the devset's 1,851 non-held-out papers and the sample feed's 407, newest first."""
    papers = negatives.bundled_papers()
    assert len(papers) == 1_851 + 407
    dated = [p.announced for p in papers[:1_851]]
    assert dated[0] == date(2026, 5, 4) and dated[-1] == date(2025, 10, 15)
    assert dated == sorted(dated, reverse=True)
    assert all(p.title and p.abstract and p.categories for p in papers)
    assert len({p.id for p in papers}) == len(papers)


def test_a_small_store_is_topped_up_to_the_background_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """100 stored papers and a size of 1,000: the 100 first, then the 900 newest bundled papers."""
    monkeypatch.setattr(negatives, "BACKGROUND_LIMIT", 1_000)
    stored = _stored(100)
    chosen = negatives.background(stored, ("cs.CV", "eess.IV", "cs.LG"))
    assert len(chosen) == 1_000
    assert chosen[:100] == stored
    assert [p.id for p in chosen[100:]] == [p.id for p in negatives.bundled_papers()[:900]]


def test_a_large_store_trains_on_its_own_newest_papers(monkeypatch: pytest.MonkeyPatch) -> None:
    """A store holding more than the size gives its newest papers and nothing bundled."""
    monkeypatch.setattr(negatives, "BACKGROUND_LIMIT", 50)
    stored = _stored(80)
    assert negatives.background(stored, ("cs.CV",)) == stored[:50]


def test_the_top_up_keeps_to_the_configured_categories() -> None:
    """An astrophysics watcher gets only the few bundled papers listed in its category (two), not
    the computer-vision ones; an archive ("cs") matches its categories; a paper the store
    already holds is not taken twice."""
    astro = negatives.background(_stored(3, "astro-ph.GA"), ("astro-ph.GA",))
    assert astro[:3] == _stored(3, "astro-ph.GA")
    assert len(astro) == 5 and all("astro-ph.GA" in p.categories for p in astro[3:])
    bundled = negatives.bundled_papers()
    held = [bundled[0]]
    chosen = negatives.background(held, ("cs",))
    in_cs = [p for p in bundled if any(c.startswith("cs.") for c in p.categories)]
    assert len(in_cs) == len(bundled) - 2  # two bundled papers are listed outside cs
    assert len(chosen) == len(in_cs)
    assert [p.id for p in chosen].count(bundled[0].id) == 1
    only_iv = negatives.background([], ("eess.IV",))
    assert only_iv and all("eess.IV" in p.categories for p in only_iv)
    assert len(only_iv) < len(bundled)


def test_listed_papers_never_join_the_background_and_leave_its_size_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Listed papers among the store's newest and among the bundled ones are left out (positives
    are never negatives), and the background still has its one size: the next stored, or
    bundled, papers take their places."""
    monkeypatch.setattr(negatives, "BACKGROUND_LIMIT", 50)
    stored = _stored(60)
    listed = {p.id for p in stored[:5]}
    chosen = negatives.background(stored, ("cs.CV",), listed=listed)
    assert chosen == stored[5:55]
    bundled = negatives.bundled_papers()
    listed = {stored[0].id, bundled[0].id, bundled[1].id}
    chosen = negatives.background(stored[:10], ("cs", "eess", "stat"), listed=listed)
    assert len(chosen) == 50 and not listed & {p.id for p in chosen}
    assert chosen[:9] == stored[1:10]
    assert [p.id for p in chosen[9:]] == [p.id for p in bundled[2:43]]
