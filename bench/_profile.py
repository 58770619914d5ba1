"""cProfile one workload of the benchmark, to find where a missed target's time goes.

    .venv/bin/python bench/_profile.py score [--workers N] [--top 25]
    .venv/bin/python bench/_profile.py train [--top 25]

`score` trains a model first (unprofiled), then profiles Scorer.score on the 10,000 papers;
with the default workers the profile shows the parent only (time in the worker processes
appears as waiting on a lock), so pass `--workers 1` to see the tokenizer's own cost.
`train` profiles train.train on the bundled lists plus 5,000 background papers (the size `train` takes).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys

import _workload


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=("score", "train"))
    parser.add_argument("--workers", type=int)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()

    from arxivwatch import profiles, score, train

    entries, background = _workload.entries(), _workload.background(5_000)
    chosen = profiles.load_profiles(None)
    profiler = cProfile.Profile()
    if args.what == "train":
        profiler.runcall(train.train, entries, chosen, metadata={}, background=background, sources=[])
    else:
        model = train.train(entries, chosen, metadata={}, background=background, sources=[])
        papers = _workload.score_papers(10_000)
        with score.Scorer(model, workers=args.workers) as scorer:
            profiler.runcall(scorer.score, papers)
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
