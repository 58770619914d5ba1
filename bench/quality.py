"""Ranking quality of arxivwatch against two baselines, computed side by side in one run.

    python bench/quality.py [--json FILE]

Two evaluations per topic (profile):
- "curated": cross-validated on the curated lists. Positives are the entries the profile
  labels, negatives the development-set papers (untagged, as arxiv-sanity-lite does)
  except those whose title names one of the profile's seed phrases (unknown, so left
  out for every system); 5 stratified folds, the same folds for every system.
- "devset": ranking on 20 real announcement days with rule-made labels (bench/data,
  see its README). Days are split into 5 groups; each group is scored by systems trained
  on the bundled lists with the papers of the OTHER days as background. Silver labels
  are never used for training. Segmentation and semi-supervised labels come from title
  keywords, so those topics are scored on the abstract alone.

Systems: arxivwatch (train.train + score.Scorer); the arxiv-sanity-lite method
(TfidfVectorizer ngram (1,2), max_df 0.1, min_df 5, 20,000 features, sublinear tf,
English stop words; LinearSVC C=0.01, balanced; untagged papers as negatives); and
keyword matching on the profile's seed phrases.

Metrics: average precision (AP) and, on the devset, the share of each day's labelled
papers that sit in that day's top 10 (summed over days).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

from arxivwatch import curated, lists, profiles, score, train
from arxivwatch.models import CuratedEntry, Paper, Profile

DATA = Path(__file__).parent / "data"
SYSTEMS = ("arxivwatch", "sanity-lite", "keywords")
TITLE_RULE_TOPICS = ("segmentation", "semi-supervised")
DAY_GROUPS = 5


@dataclass(frozen=True)
class Row:
    """One topic under one evaluation: each system's numbers."""

    topic: str
    evaluation: str  # "curated" | "devset"
    positives: int
    ap: dict[str, float]
    top10: dict[str, float | None]


Ranker = Callable[[Sequence[str]], np.ndarray]


def load_devset(folder: Path = DATA) -> tuple[list[Paper], list[str], dict[str, set[str]]]:
    """The devset papers, their days, and the silver labels (topic -> ids)."""
    papers, days = [], []
    with gzip.open(folder / "papers.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            item = json.loads(line)
            papers.append(Paper(id=item["id"], title=item["title"], abstract=item["abstract"]))
            days.append(item["day"])
    labels: dict[str, set[str]] = {}
    for line in (folder / "silver-labels.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        labels.setdefault(item["topic"], set()).add(item["id"])
    return papers, days, labels


def bundled_entries() -> list[CuratedEntry]:
    """The entries of the bundled curated lists."""
    entries: list[CuratedEntry] = []
    for path in lists.BUNDLED:
        entries.extend(curated.parse(path.read_text(encoding="utf-8"), path.name))
    return entries


def rankers(
    entries: Sequence[CuratedEntry], profile: Profile, background: Sequence[Paper]
) -> dict[str, Ranker]:
    """One scoring function per system, trained on `entries` against `background`."""
    model = train.train(entries, [profile], metadata={}, background=background, sources=[])
    scorer = score.Scorer(model, workers=1)

    def ours(texts: Sequence[str]) -> np.ndarray:
        return scorer.probabilities(scorer.features(texts))[:, 0]

    return {
        "arxivwatch": ours,
        "sanity-lite": _sanity(entries, profile, background),
        "keywords": lambda texts: np.array(
            [profiles.count_seeds(t, profile.seeds) for t in texts], dtype=float
        ),
    }


def _sanity(entries: Sequence[CuratedEntry], profile: Profile, background: Sequence[Paper]) -> Ranker:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    positives = [f"{e.title}. {e.text}" for e in entries if profiles.is_positive(e, profile)]
    texts = positives + [p.text for p in background]
    vectorizer = TfidfVectorizer(
        ngram_range=(1, 2),
        max_df=0.1,
        min_df=5,
        max_features=20000,
        sublinear_tf=True,
        stop_words="english",
        strip_accents="unicode",
    )
    x = vectorizer.fit_transform(texts)
    y = np.r_[np.ones(len(positives)), np.zeros(len(background))]
    svm = LinearSVC(C=0.01, class_weight="balanced").fit(x, y)
    return lambda t: svm.decision_function(vectorizer.transform(t))


def curated_rows(entries: Sequence[CuratedEntry], everything: Sequence[Paper]) -> list[Row]:
    """Cross-validated AP of each system on each profile's curated positives."""
    from sklearn.model_selection import StratifiedKFold

    rows = []
    for profile in profiles.load_profiles(None):
        # A background paper whose title names a seed phrase is not a known negative.
        background = [p for p in everything if not profiles.matches_seeds(p.title, profile.seeds)]
        positive = [e for e in entries if profiles.is_positive(e, profile)]
        others = [e for e in entries if not profiles.is_positive(e, profile)]
        y = np.r_[np.ones(len(positive)), np.zeros(len(background))]
        scores = {name: np.zeros(len(y)) for name in SYSTEMS}
        folds = StratifiedKFold(5, shuffle=True, random_state=0).split(np.zeros(len(y)), y)
        for train_rows, test_rows in folds:
            train_pos = [positive[i] for i in train_rows if i < len(positive)]
            train_bg = [background[i - len(positive)] for i in train_rows if i >= len(positive)]
            texts = [
                _entry_text(positive[i]) if i < len(positive) else background[i - len(positive)].text
                for i in test_rows
            ]
            for name, rank in rankers([*train_pos, *others], profile, train_bg).items():
                scores[name][test_rows] = rank(texts)
        ap = {name: round(float(average_precision_score(y, s)), 4) for name, s in scores.items()}
        rows.append(Row(profile.name, "curated", len(positive), ap, dict.fromkeys(SYSTEMS)))
    return rows


def devset_rows(
    entries: Sequence[CuratedEntry],
    papers: Sequence[Paper],
    days: Sequence[str],
    labels: dict[str, set[str]],
) -> list[Row]:
    """AP and top-10 share of each system per topic on the development days."""
    ordered = sorted(set(days))
    group_of = {day: i % DAY_GROUPS for i, day in enumerate(ordered)}
    rows = []
    for profile in profiles.load_profiles(None):
        scores = {name: np.zeros(len(papers)) for name in SYSTEMS}
        abstract_only = profile.name in TITLE_RULE_TOPICS
        for group in range(DAY_GROUPS):
            test = [i for i, d in enumerate(days) if group_of[d] == group]
            background = [p for p, d in zip(papers, days, strict=True) if group_of[d] != group]
            texts = [papers[i].abstract if abstract_only else papers[i].text for i in test]
            for name, rank in rankers(entries, profile, background).items():
                scores[name][test] = rank(texts)
        truth = np.array([p.id in labels.get(profile.name, set()) for p in papers])
        ap = {n: round(float(average_precision_score(truth, s)), 4) for n, s in scores.items()}
        top10: dict[str, float | None] = {
            n: round(_top10_share(s, truth, days), 4) for n, s in scores.items()
        }
        rows.append(Row(profile.name, "devset", int(truth.sum()), ap, top10))
    return rows


def _top10_share(values: np.ndarray, truth: np.ndarray, days: Sequence[str]) -> float:
    """The share of each day's labelled papers that its top 10 holds, summed over days.

    Papers tied at the 10th place share the places left fractionally, so a system with
    many tied scores (keyword counts) is not helped or hurt by the order of the file.
    """
    hits = 0.0
    total = 0
    for day in set(days):
        rows = np.array([i for i, d in enumerate(days) if d == day])
        v, t = values[rows], truth[rows]
        cut = np.sort(v)[::-1][min(10, len(v)) - 1]
        above, tied = v > cut, v == cut
        hits += float(t[above].sum()) + float(t[tied].sum()) * (min(10, len(v)) - above.sum()) / tied.sum()
        total += int(t.sum())
    return hits / total if total else 0.0


def _entry_text(entry: CuratedEntry) -> str:
    return f"{entry.title}. {entry.text}".strip()


def quality_rows(data: Path = DATA) -> list[Row]:
    """Every row of the quality table (importable by bench/run.py)."""
    papers, days, labels = load_devset(data)
    entries = bundled_entries()
    return curated_rows(entries, papers) + devset_rows(entries, papers, days, labels)


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table; the best AP of each row is starred."""
    head = f"{'topic':<16} {'eval':<8} {'pos':>4}  " + "  ".join(f"{s + ' AP':>15}" for s in SYSTEMS)
    head += "  " + "  ".join(f"{s + ' top10':>17}" for s in SYSTEMS)
    lines = [head, "-" * len(head)]
    for row in rows:
        best = max(row.ap.values())
        aps = "  ".join(f"{(('*' if row.ap[s] == best else '') + f'{row.ap[s]:.3f}'):>15}" for s in SYSTEMS)
        tops = "  ".join(f"{'-' if row.top10[s] is None else f'{row.top10[s]:.3f}':>17}" for s in SYSTEMS)
        lines.append(f"{row.topic:<16} {row.evaluation:<8} {row.positives:>4}  {aps}  {tops}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    args = parser.parse_args(argv)
    rows = quality_rows()
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
