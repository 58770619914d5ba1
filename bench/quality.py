"""Ranking quality of arxivwatch against three baselines, computed side by side in one run.

    python bench/quality.py [--holdout] [--json FILE]

Two evaluations per topic (profile):
- "curated": cross-validated on the curated lists. Positives are the entries the profile
  labels, negatives the development-set papers (untagged, as arxiv-sanity-lite does)
  except those whose title names one of the profile's seed phrases (unknown, so left
  out for every system); 5 stratified folds, the same folds for every system.
- "devset": ranking on the first 15 of the 20 real announcement days with rule-made
  labels (bench/data, see its README). Days are split into 5 groups; each group is
  scored by systems trained on the bundled lists with the papers of the OTHER dev days
  as background. Silver labels are never used for training. Segmentation and
  semi-supervised labels come from title keywords, so those topics are scored on the
  abstract alone.
- "holdout": the last 5 days, kept untouched while the ranking was developed (not even
  as background of the other evaluations); scored only with --holdout, by systems
  trained with all 15 dev days as background.

Systems: arxivwatch (train.train + score.Scorer); the arxiv-sanity-lite method
(TfidfVectorizer ngram (1,2), max_df 0.1, min_df 5, 20,000 features, sublinear tf,
English stop words; LinearSVC C=0.01, balanced; untagged papers as negatives);
zotero-arxiv-daily's method (mean cosine similarity to the profile's curated papers,
all-MiniLM-L6-v2 sentence embeddings; bench/_embed.py, cached); and keyword matching on
the profile's seed phrases.

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

sys.path.insert(0, str(Path(__file__).parent))
from _embed import Embedder, MissingEmbeddings, mean_similarity

DATA = Path(__file__).parent / "data"
SYSTEMS = ("arxivwatch", "sanity-lite", "embedding", "keywords")
BASELINES = SYSTEMS[1:]
TITLE_RULE_TOPICS = ("segmentation", "semi-supervised")
DAY_GROUPS = 5
HOLDOUT_DAYS = 5  # the last days of the devset, untouched until the end


@dataclass(frozen=True)
class Row:
    """One topic under one evaluation: each system's numbers."""

    topic: str
    evaluation: str  # "curated" | "devset" | "holdout"
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


def split_days(days: Sequence[str]) -> tuple[set[str], set[str]]:
    """(development days, held-out days): the last HOLDOUT_DAYS days are held out."""
    ordered = sorted(set(days))
    return set(ordered[:-HOLDOUT_DAYS]), set(ordered[-HOLDOUT_DAYS:])


def rankers(
    entries: Sequence[CuratedEntry],
    profile: Profile,
    background: Sequence[Paper],
    embedder: Embedder,
) -> dict[str, Ranker]:
    """One scoring function per system, trained on `entries` against `background`."""
    model = train.train(entries, [profile], metadata={}, background=background, sources=[])
    scorer = score.Scorer(model, workers=1)

    def ours(texts: Sequence[str]) -> np.ndarray:
        return scorer.probabilities(scorer.features(texts))[:, 0]

    return {
        "arxivwatch": ours,
        "sanity-lite": _sanity(entries, profile, background),
        "embedding": _embedding(entries, profile, embedder),
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


def _embedding(entries: Sequence[CuratedEntry], profile: Profile, embedder: Embedder) -> Ranker:
    library = embedder.encode([_entry_text(e) for e in entries if profiles.is_positive(e, profile)])
    return lambda t: mean_similarity(library, embedder.encode(t))


def curated_rows(
    entries: Sequence[CuratedEntry], everything: Sequence[Paper], embedder: Embedder
) -> list[Row]:
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
            for name, rank in rankers([*train_pos, *others], profile, train_bg, embedder).items():
                scores[name][test_rows] = rank(texts)
        ap = {name: round(float(average_precision_score(y, s)), 4) for name, s in scores.items()}
        rows.append(Row(profile.name, "curated", len(positive), ap, dict.fromkeys(SYSTEMS)))
    return rows


def devset_rows(
    entries: Sequence[CuratedEntry],
    papers: Sequence[Paper],
    days: Sequence[str],
    labels: dict[str, set[str]],
    embedder: Embedder,
    *,
    holdout: bool = False,
) -> list[Row]:
    """AP and top-10 share of each system per topic on the development days.

    With `holdout`, on the held-out days instead, trained with every development day as
    background; without it, the held-out days are not read at all.
    """
    dev_days, held_days = split_days(days)
    if holdout:
        test_days = held_days
        groups = [(held_days, dev_days)]  # (days scored, days used as background)
    else:
        test_days = dev_days
        ordered = sorted(dev_days)
        groups = [
            (
                {d for i, d in enumerate(ordered) if i % DAY_GROUPS == g},
                {d for i, d in enumerate(ordered) if i % DAY_GROUPS != g},
            )
            for g in range(DAY_GROUPS)
        ]
    chosen = [i for i, d in enumerate(days) if d in test_days]
    rows = []
    for profile in profiles.load_profiles(None):
        scores = {name: np.zeros(len(papers)) for name in SYSTEMS}
        abstract_only = profile.name in TITLE_RULE_TOPICS
        for scored, known in groups:
            test = [i for i, d in enumerate(days) if d in scored]
            background = [p for p, d in zip(papers, days, strict=True) if d in known]
            texts = [papers[i].abstract if abstract_only else papers[i].text for i in test]
            for name, rank in rankers(entries, profile, background, embedder).items():
                scores[name][test] = rank(texts)
        truth = np.array([papers[i].id in labels.get(profile.name, set()) for i in chosen])
        chosen_days = [days[i] for i in chosen]
        ap = {n: round(float(average_precision_score(truth, s[chosen])), 4) for n, s in scores.items()}
        top10: dict[str, float | None] = {
            n: round(_top10_share(s[chosen], truth, chosen_days), 4) for n, s in scores.items()
        }
        evaluation = "holdout" if holdout else "devset"
        rows.append(Row(profile.name, evaluation, int(truth.sum()), ap, top10))
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


def quality_rows(data: Path = DATA, *, holdout: bool = False) -> list[Row]:
    """Every row of the quality table (importable by bench/run.py); held-out rows if asked."""
    papers, days, labels = load_devset(data)
    dev_days, _ = split_days(days)
    development = [p for p, d in zip(papers, days, strict=True) if d in dev_days]
    entries = bundled_entries()
    embedder = Embedder()
    rows = curated_rows(entries, development, embedder)
    rows += devset_rows(entries, papers, days, labels, embedder)
    if holdout:
        rows += devset_rows(entries, papers, days, labels, embedder, holdout=True)
    return rows


def lead(row: Row, metric: str = "ap") -> float | None:
    """arxivwatch's figure divided by the best baseline's (above 1: arxivwatch leads)."""
    values = row.ap if metric == "ap" else row.top10
    ours = values["arxivwatch"]
    best = max((v for s in BASELINES if (v := values[s]) is not None), default=None)
    if ours is None or not best:
        return None
    return ours / best


def format_table(rows: Sequence[Row]) -> str:
    """The rows as a plain-text table; the best figure of each row and metric is starred."""
    names = {"arxivwatch": "ours", "sanity-lite": "sanity", "embedding": "embed", "keywords": "keyw"}
    head = f"{'topic':<16} {'eval':<8} {'pos':>4} " + "".join(f"{names[s] + ' AP':>11}" for s in SYSTEMS)
    head += f"{'lead':>7} " + "".join(f"{names[s] + ' t10':>11}" for s in SYSTEMS) + f"{'lead':>7}"
    lines = [head, "-" * len(head)]
    for row in rows:
        cells = []
        for values, metric in ((row.ap, "ap"), (row.top10, "top10")):
            known = [v for v in values.values() if v is not None]
            best = max(known) if known else None
            for s in SYSTEMS:
                v = values[s]
                cells.append(f"{'-' if v is None else ('*' if v == best else '') + f'{v:.3f}':>11}")
            ratio = lead(row, metric)
            cells.append(f"{'-' if ratio is None else f'{ratio:.2f}x':>7} ")
        lines.append(f"{row.topic:<16} {row.evaluation:<8} {row.positives:>4} " + "".join(cells))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the rows as JSON to this file")
    parser.add_argument("--holdout", action="store_true", help="also score the held-out last days")
    args = parser.parse_args(argv)
    try:
        rows = quality_rows(holdout=args.holdout)
    except MissingEmbeddings as e:
        print(f"quality: {e}", file=sys.stderr)
        return 2
    print(format_table(rows))
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in rows], indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
