"""One training run in its own process, so its peak memory is its own (run by bench/run.py).

    .venv/bin/python bench/_train_child.py --background 5000 [--save MODEL.npz] [--no-self-training]

Prints one JSON line: the wall time of train.train alone, the peak resident set of
the whole process (VmHWM: imports, data and training), the peak before training
began, and the training set's shape.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _workload


def _peak_mb(who: int = resource.RUSAGE_SELF) -> float:
    """Peak resident set in MB: this process's VmHWM (ru_maxrss survives exec on Linux, so it
    would report the parent's peak), or the largest child's ru_maxrss (RUSAGE_CHILDREN)."""
    if who == resource.RUSAGE_SELF:
        for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(who).ru_maxrss / 1024  # Linux reports KiB


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--background", type=int, default=5_000)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--no-self-training", action="store_true", help="what self-training costs")
    args = parser.parse_args()

    from arxivwatch import model as model_io
    from arxivwatch import profiles, train

    train.SELF_TRAINING = not args.no_self_training

    entries = _workload.entries()
    background = _workload.background(args.background)
    chosen = profiles.load_profiles(None)
    before = _peak_mb()
    began = time.perf_counter()
    model = train.train(entries, chosen, metadata={}, background=background, sources=[])
    seconds = time.perf_counter() - began
    if args.save:
        model_io.save(model, args.save)
    report = {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "peak_mb_before_training": before,
        # Worker processes, if training ever starts any, are not in peak_mb: their own
        # largest peak is reported apart (0 when training ran in this process alone).
        "peak_mb_worker_processes": _peak_mb(resource.RUSAGE_CHILDREN),
        "entries": len(entries),
        "background": len(background),
        "features": model.features.size,
        "positives": {name: m.positives for name, m in model.metrics.items()},
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
