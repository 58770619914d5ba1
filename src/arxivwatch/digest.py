"""Select and rank: scored papers in, a Digest out. Pure functions, no I/O.

The caller passes a channel's candidates: the papers no digest of that channel has
offered yet (see store.offers). The period names the digest and sets its heading; it
does not filter. Periods follow arXiv announcement days: a paper is stored with the
announcement date of the feed that carried it (the feed dated D carries the
announcement made on the evening before), so a digest sent on the morning of D is for

    "day"   [today, today]
    "week"  [today - 6 days, today]  (seven announcement dates ending today)

and a paper announced before that period arrived after the digest of its own period
went out (a failed poll that recovered, a catch-up, a digest scheduled before the day's
announcement): it is *late*, shown in this digest and marked so.

Selection, per channel:

1. Several versions of one id count once, the highest version wins. `Digest.scanned`
   is the number of papers left: every one of them is offered by this digest.
2. A paper in `sent` (a new version of a paper offered before) is shown only with
   `flag_updated`, marked `updated`; its version must be higher than the one offered.
3. A paper qualifies for a profile when its score is at or above the profile's
   threshold and, if the profile lists categories, its categories meet them.
4. A paper appears once, under the profile where it scored highest (ties go to the
   profile listed first), with badges (`DigestItem.also`) for the others it qualified for.
5. Each profile's items are ranked by score (ties by id), and cut to its size.

Ranking reads a paper's id, version, categories and announcement date and its score
values, nothing else, and no score below `lowest_threshold` counts (it qualifies the
paper for no profile, nor for a badge): a caller with thousands of candidates may select
over light papers and those scores only, without reasons, then `complete` the few shown
items with their whole papers and their reasons.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

from arxivwatch.models import Digest, DigestItem, DigestSection, Paper, Profile, Score

PERIODS = ("day", "week")
DEFAULT_THRESHOLD = 0.5  # used only when neither the caller nor the profile gives one


def period_bounds(period: str, today: date) -> tuple[date, date]:
    """The announcement dates (first, last; inclusive) a digest sent on `today` covers.

    "day" is [today, today]; "week" is the seven days ending today, [today - 6, today].
    """
    if period == "day":
        return today, today
    if period == "week":
        return today - timedelta(days=6), today
    raise ValueError(f"unknown digest period {period!r}; expected one of {', '.join(PERIODS)}")


@dataclass(frozen=True)
class _Candidate:
    """A paper that qualified for one or more profiles, before ranking."""

    paper: Paper
    scores: tuple[Score, ...]  # the qualifying scores, best first
    updated: bool


def select(
    papers: Sequence[Paper],
    scores: Mapping[str, Mapping[str, Score]],
    profiles: Sequence[Profile],
    thresholds: Mapping[str, float],
    *,
    period: str,
    start: date,
    end: date,
    channel: str,
    sent: Mapping[str, int] | None = None,
    flag_updated: bool = False,
    top_n: int | None = None,
) -> Digest:
    """Build one channel's digest from its candidates `papers` (see the module docstring).

    `scores` maps paper id -> profile name -> Score; `thresholds` maps profile name ->
    minimum score (a missing one falls back to `Profile.threshold`, then 0.5); `sent`
    maps paper id -> highest version already offered on this channel. An item is `late`
    when its paper was announced before `start`. A profile's size is
    `Profile.top_n` when set (non-zero), else `top_n`, else unlimited.
    """
    sent = sent or {}
    in_period = _latest_versions(papers)
    by_profile: dict[str, list[DigestItem]] = {profile.name: [] for profile in profiles}
    for paper in in_period:
        candidate = _candidate(paper, scores.get(paper.id, {}), profiles, thresholds, sent)
        if candidate is not None and (flag_updated or not candidate.updated):
            item = _item(candidate, late=paper.announced is not None and paper.announced < start)
            by_profile[item.profile].append(item)
    sections = tuple(
        DigestSection(profile, _rank(by_profile[profile.name], _size(profile, top_n))) for profile in profiles
    )
    return Digest(period, start, end, channel, sections, scanned=len(in_period))


def lowest_threshold(profiles: Sequence[Profile], thresholds: Mapping[str, float]) -> float:
    """The lowest threshold `select` applies among `profiles` (thresholds as for select); a
    score below it counts for nothing, so leaving it out of `scores` changes no digest.
    +inf without profiles."""
    return min((_threshold(profile, thresholds) for profile in profiles), default=math.inf)


def complete(
    digest: Digest, papers: Mapping[str, Paper], scores: Mapping[str, Mapping[str, Score]]
) -> Digest:
    """`digest` selected over light papers and scores (see the module docstring), its shown
    items given their whole papers (`papers`: id -> Paper) and the reasons of the score they
    are shown with (`scores`: id -> profile -> Score); everything else kept. Each shown id
    must be in both, with the version selected (KeyError, ValueError otherwise: the caller
    read them from another state of the store).
    """
    sections = tuple(
        replace(section, items=tuple(_completed(item, papers, scores) for item in section.items))
        for section in digest.sections
    )
    return replace(digest, sections=sections)


def _completed(
    item: DigestItem, papers: Mapping[str, Paper], scores: Mapping[str, Mapping[str, Score]]
) -> DigestItem:
    paper = papers[item.paper.id]
    if paper.version != item.paper.version:
        raise ValueError(f"{paper.id}: version {paper.version} stored, {item.paper.version} selected")
    return replace(item, paper=paper, reasons=scores[paper.id][item.profile].reasons)


def _latest_versions(papers: Iterable[Paper]) -> list[Paper]:
    """One paper per id, the highest version; first-seen order kept for stability."""
    latest: dict[str, Paper] = {}
    for paper in papers:
        kept = latest.get(paper.id)
        if kept is None or paper.version > kept.version:
            latest[paper.id] = paper
    return list(latest.values())


def _candidate(
    paper: Paper,
    paper_scores: Mapping[str, Score],
    profiles: Sequence[Profile],
    thresholds: Mapping[str, float],
    sent: Mapping[str, int],
) -> _Candidate | None:
    """The paper with its qualifying scores, or None when it is not to be sent."""
    if paper.id in sent and paper.version <= sent[paper.id]:
        return None
    qualifying = [
        paper_scores[profile.name]
        for profile in profiles
        if profile.name in paper_scores
        and paper_scores[profile.name].value >= _threshold(profile, thresholds)
        and _categories_match(paper, profile)
    ]
    if not qualifying:
        return None
    # sorted() is stable, so equal scores keep the profiles' order.
    best_first = tuple(sorted(qualifying, key=lambda s: -s.value))
    return _Candidate(paper, best_first, updated=paper.id in sent)


def _threshold(profile: Profile, thresholds: Mapping[str, float]) -> float:
    if profile.name in thresholds:
        return thresholds[profile.name]
    return profile.threshold if profile.threshold is not None else DEFAULT_THRESHOLD


def _categories_match(paper: Paper, profile: Profile) -> bool:
    if not profile.categories:
        return True
    return bool(set(paper.categories) & set(profile.categories))


def _item(candidate: _Candidate, *, late: bool) -> DigestItem:
    best, *others = candidate.scores
    return DigestItem(
        paper=candidate.paper,
        profile=best.profile,
        score=best.value,
        reasons=best.reasons,
        also=tuple((s.profile, s.value) for s in others),
        updated=candidate.updated,
        late=late,
    )


def _size(profile: Profile, top_n: int | None) -> int | None:
    # Falsy (0, or None should the model make it optional) means "not set by the profile".
    return profile.top_n or top_n


def _rank(items: list[DigestItem], size: int | None) -> tuple[DigestItem, ...]:
    ranked = sorted(items, key=lambda item: (-item.score, item.paper.id))
    return tuple(ranked if size is None else ranked[:size])
