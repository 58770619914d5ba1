"""Selecting and ranking the digest from hand-made papers and scores."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from arxivwatch import digest
from arxivwatch.models import Digest, Profile
from digest_samples import PAPERS, PROFILES, SCORES, THRESHOLDS, TODAY, paper, s, sample_digest


def _select(papers=PAPERS, scores=SCORES, profiles=PROFILES, thresholds=THRESHOLDS, **kw) -> Digest:  # type: ignore[no-untyped-def]
    start, end = digest.period_bounds("week", TODAY)
    args = {"period": "week", "start": start, "end": end, "channel": "email", **kw}
    return digest.select(papers, scores, profiles, thresholds, **args)


def _ids(d: Digest, profile: str) -> list[str]:
    section = next(sec for sec in d.sections if sec.profile.name == profile)
    return [item.paper.id for item in section.items]


def test_day_period_is_the_announcement_day_itself() -> None:
    """A daily digest sent on D covers the papers announced on D."""
    assert digest.period_bounds("day", date(2024, 11, 28)) == (date(2024, 11, 28), date(2024, 11, 28))


def test_week_period_is_the_seven_days_ending_today() -> None:
    """A weekly digest sent on D covers D-6 .. D, both included."""
    assert digest.period_bounds("week", date(2024, 11, 28)) == (date(2024, 11, 22), date(2024, 11, 28))


def test_unknown_period_is_refused() -> None:
    """A period other than day or week raises ValueError naming it."""
    with pytest.raises(ValueError, match="fortnight"):
        digest.period_bounds("fortnight", TODAY)


def test_each_profile_ranks_its_papers_by_score() -> None:
    """Sections follow the profiles' order and list their papers best first."""
    d = sample_digest()
    assert [sec.profile.name for sec in d.sections] == [p.name for p in PROFILES]
    assert _ids(d, "segmentation") == ["1505.04597", "2304.02643"]
    assert _ids(d, "semi-supervised") == ["2001.07685", "1703.01780"]
    assert _ids(d, "medical-imaging") == ["1809.10486"]
    assert d.count == 5 and d.key == "week:2024-11-22:email"


def test_a_paper_appears_once_under_its_best_profile_with_badges() -> None:
    """A paper relevant to two profiles sits under the higher score, the other as a badge."""
    d = sample_digest()
    unet = next(i for i in d.items if i.paper.id == "1505.04597")
    nnunet = next(i for i in d.items if i.paper.id == "1809.10486")
    assert (unet.profile, unet.also) == ("segmentation", (("medical-imaging", 0.81),))
    assert (nnunet.profile, nnunet.also) == ("medical-imaging", (("segmentation", 0.86),))
    assert [i.paper.id for i in d.items].count("1505.04597") == 1


def test_reasons_come_from_the_best_profile() -> None:
    """An item carries the reasons of the score that placed it."""
    unet = next(i for i in sample_digest().items if i.paper.id == "1505.04597")
    assert unet.reasons == SCORES["1505.04597"]["segmentation"].reasons


def test_categories_outside_a_profile_do_not_qualify() -> None:
    """A paper whose categories miss a profile's list is neither selected nor badged for it."""
    mean_teacher = next(i for i in sample_digest().items if i.paper.id == "1703.01780")
    assert mean_teacher.also == ()  # its medical-imaging 0.70 is in cs.NE/cs.LG/stat.ML


def test_threshold_is_inclusive_and_per_profile() -> None:
    """A score equal to the threshold qualifies; a higher threshold drops the paper."""
    at = _select(thresholds={**THRESHOLDS, "semi-supervised": 0.77})
    above = _select(thresholds={**THRESHOLDS, "semi-supervised": 0.78})
    assert "1703.01780" in _ids(at, "semi-supervised")
    assert "1703.01780" not in _ids(above, "semi-supervised")


def test_missing_threshold_falls_back_to_the_profile_then_half() -> None:
    """Without a caller threshold, Profile.threshold applies, else 0.5."""
    strict = tuple(replace(p, threshold=0.9) if p.name == "segmentation" else p for p in PROFILES)
    d = _select(profiles=strict, thresholds={})
    assert _ids(d, "segmentation") == ["1505.04597"]  # 0.88 < 0.9
    assert _ids(d, "semi-supervised") == ["2001.07685", "1703.01780"]  # default 0.5


def test_profile_size_cuts_the_ranking() -> None:
    """A profile's top_n keeps its best papers only; top_n=0 falls back to the default."""
    one = tuple(replace(p, top_n=1) for p in PROFILES)
    assert _ids(_select(profiles=one), "semi-supervised") == ["2001.07685"]
    unset = tuple(replace(p, top_n=0) for p in PROFILES)
    assert _ids(_select(profiles=unset, top_n=1), "segmentation") == ["1505.04597"]
    assert len(_ids(_select(profiles=unset), "segmentation")) == 2  # no default: unlimited


def test_sent_papers_are_not_sent_again_even_as_new_versions() -> None:
    """A paper already sent on the channel is dropped, a newer version too by default."""
    newer = [replace(p, version=2) if p.id == "2304.02643" else p for p in PAPERS]
    d = _select(papers=newer, sent={"1505.04597": 1, "2304.02643": 1})
    assert _ids(d, "segmentation") == []


def test_new_versions_come_back_flagged_when_asked() -> None:
    """With flag_updated, a higher version of a sent paper appears marked updated."""
    newer = [replace(p, version=2) if p.id == "2304.02643" else p for p in PAPERS]
    d = _select(papers=newer, sent={"1505.04597": 1, "2304.02643": 1}, flag_updated=True)
    (item,) = next(sec for sec in d.sections if sec.profile.name == "segmentation").items
    assert (item.paper.id, item.paper.version, item.updated) == ("2304.02643", 2, True)
    assert not any(i.updated for i in d.items if i.paper.id != "2304.02643")


def test_scanned_counts_every_candidate_once_and_keeps_late_papers() -> None:
    """A paper announced before the period is kept and marked late; versions of one id count once."""
    extra = [
        paper("2411.99999", "Announced long before", announced=date(2024, 10, 1)),
        replace(PAPERS[0], version=2),
    ]
    scores = {**SCORES, "2411.99999": {"segmentation": s("2411.99999", "segmentation", 0.99)}}
    d = _select(papers=[*PAPERS, *extra], scores=scores)
    assert d.scanned == len(PAPERS) + 1
    assert next(i for i in d.items if i.paper.id == "1505.04597").paper.version == 2
    late = [i.paper.id for i in d.items if i.late]
    assert late == ["2411.99999"]


def test_ties_rank_by_id_and_go_to_the_first_profile() -> None:
    """Equal scores rank by arXiv id, and a paper tied between profiles goes to the first."""
    papers = [paper("2411.00002", "B"), paper("2411.00001", "A")]
    scores = {p.id: {"a": s(p.id, "a", 0.7), "b": s(p.id, "b", 0.7)} for p in papers}
    profiles = (Profile("a", "A"), Profile("b", "B"))
    d = _select(papers=papers, scores=scores, profiles=profiles, thresholds={})
    assert _ids(d, "a") == ["2411.00001", "2411.00002"]
    assert _ids(d, "b") == []
    assert d.items[0].also == (("b", 0.7),)


def test_papers_without_scores_are_scanned_but_not_selected() -> None:
    """A paper the model has not scored counts as scanned and is not picked."""
    d = _select(scores={})
    assert (d.count, d.scanned) == (0, len(PAPERS))


def test_also_badge_only_above_the_other_profiles_threshold() -> None:
    """A paper shows "also B" only when its B score reaches B's threshold (the reported 0.20 under 0.5)."""
    papers = [paper("2411.00001", "A")]
    profiles = (Profile("a", "A"), Profile("b", "B"))
    below = {"2411.00001": {"a": s("2411.00001", "a", 0.9), "b": s("2411.00001", "b", 0.20)}}
    d = _select(papers=papers, scores=below, profiles=profiles, thresholds={"a": 0.5, "b": 0.5})
    assert d.items[0].also == ()
    at = {"2411.00001": {"a": s("2411.00001", "a", 0.9), "b": s("2411.00001", "b", 0.5)}}
    d = _select(papers=papers, scores=at, profiles=profiles, thresholds={"a": 0.5, "b": 0.5})
    assert d.items[0].also == (("b", 0.5),)
    # each profile's own threshold counts: 0.20 is enough for a profile whose threshold is 0.15
    d = _select(papers=papers, scores=below, profiles=profiles, thresholds={"a": 0.5, "b": 0.15})
    assert d.items[0].also == (("b", 0.20),)
