"""Why a devset row reads as it does: arxivwatch's and the embedding method's ranks of one topic.

    python bench/_explain.py medical-imaging

On the development days only (the held-out days are never read), with the same day
groups, training and texts as bench/quality.py: the rank (over all dev days) that each
system gives every labelled paper, the unlabelled papers each puts highest, and how much
each system's average precision rests on single papers (AP with each labelled paper left
out, and without the two labelled papers the system ranks best). Needs the bench extra
(the embedding baseline); its vectors come from bench/.cache.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import average_precision_score

sys.path.insert(0, str(Path(__file__).parent))
import quality
from _embed import Embedder
from arxivwatch import profiles

SHOWN = 40  # unlabelled papers listed per system


def main(argv: Sequence[str]) -> int:
    known = [p.name for p in profiles.load_profiles(None)]
    if len(argv) != 1 or argv[0] not in known:
        print(f"usage: python bench/_explain.py TOPIC (one of {', '.join(known)})", file=sys.stderr)
        return 2
    topic = argv[0]
    profile = next(p for p in profiles.load_profiles(None) if p.name == topic)
    papers, days, labels = quality.load_devset()
    dev, _ = quality.split_days(days)
    entries = quality.bundled_entries()
    embedder = Embedder()
    ordered = sorted(dev)
    scores = {"arxivwatch": np.zeros(len(papers)), "embedding": np.zeros(len(papers))}
    for g in range(quality.DAY_GROUPS):
        scored = {d for i, d in enumerate(ordered) if i % quality.DAY_GROUPS == g}
        background = [p for p, d in zip(papers, days, strict=True) if d in dev - scored]
        rankers = quality.rankers(entries, profile, background, embedder)
        test = [i for i, d in enumerate(days) if d in scored]
        abstract_only = topic in quality.TITLE_RULE_TOPICS
        texts = [papers[i].abstract if abstract_only else papers[i].text for i in test]
        for name in scores:
            scores[name][test] = rankers[name](texts)
    rows = np.array([i for i, d in enumerate(days) if d in dev])
    truth = np.array([papers[i].id in labels.get(topic, set()) for i in rows])
    ranks = {}
    for name, values in scores.items():
        order = np.argsort(-values[rows], kind="stable")
        ranks[name] = np.empty(len(rows), int)
        ranks[name][order] = np.arange(1, len(rows) + 1)
    print(f"{topic}: {int(truth.sum())} labelled of {len(rows)} dev papers; ranks over all dev days")
    print("labelled papers: arxivwatch rank, embedding rank, title")
    for j in sorted(np.flatnonzero(truth), key=lambda j: ranks["arxivwatch"][j]):
        print(f"  {ranks['arxivwatch'][j]:5d} {ranks['embedding'][j]:5d}  {papers[rows[j]].title[:100]}")
    for name, other in (("arxivwatch", "embedding"), ("embedding", "arxivwatch")):
        print(f"unlabelled papers {name} ranks highest (its rank, {other}'s rank, title)")
        for j in [j for j in np.argsort(ranks[name]) if not truth[j]][:SHOWN]:
            print(f"  {ranks[name][j]:5d} {ranks[other][j]:5d}  {papers[rows[j]].title[:100]}")
    print("how much AP rests on single papers")
    for name, values in scores.items():
        v = values[rows]
        left_out = []
        for j in np.flatnonzero(truth):
            keep = np.arange(len(rows)) != j
            left_out.append(average_precision_score(truth[keep], v[keep]))
        best = [j for j in np.argsort(ranks[name]) if truth[j]][:2]
        keep = ~np.isin(np.arange(len(rows)), best)
        others = {n: average_precision_score(truth[keep], s[rows][keep]) for n, s in scores.items()}
        print(
            f"  {name}: AP {average_precision_score(truth, v):.3f}; one labelled paper left out: "
            f"{min(left_out):.3f} to {max(left_out):.3f}; without its two best-ranked labelled papers: "
            + ", ".join(f"{n} {a:.3f}" for n, a in others.items())
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
