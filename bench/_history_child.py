"""One process of the history benchmark (run by bench/_history.py), so its memory is its own.

    python bench/_history_child.py train CONFIG
    python bench/_history_child.py daemon CONFIG

`train` runs `arxivwatch train --offline` in-process and prints one JSON line: wall
seconds, the peak resident set, and the time of the read of the newest BACKGROUND_LIMIT papers
that training makes (timed apart, before training). `daemon` plays the daemon's day: a first poll (the
model is new to the store), four steady polls and four dry-run digests, then `arxivwatch
train` in a child process (a retrain, as a user would run it beside the daemon), then
the first poll after the retrain, then a second retrain and a dry-run digest (which
re-scores the horizon and adds no paper); it prints one JSON line with each step's wall
time, the resident set after each job (VmRSS), the database size across the second
retrain, its own peak and the worker processes left alive. Time is a FakeClock at the
announcement the loopback feed serves, so the delivery horizon ends on that day.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import multiprocessing
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

NOW = datetime(2024, 11, 28, 6, 0, tzinfo=UTC)  # the recorded feed's announcement day
REPEATS = 4  # steady polls and digests


def rss_mb() -> float:
    """This process's resident set now, in MB (VmRSS)."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """This process's peak resident set, in MB (VmHWM). Not ru_maxrss: Linux keeps that across
    exec, so a child of a large parent (bench/run.py after its scoring section) would report
    the parent's size as its own."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def train(config_path: str) -> dict[str, float]:
    from arxivwatch import config
    from arxivwatch.clock import FakeClock
    from arxivwatch.jobs import learn, open_store
    from arxivwatch.jobs.background import BACKGROUND_LIMIT

    cfg = config.load(config_path, env={})
    with open_store(cfg, FakeClock(NOW)) as store:  # the read train makes, timed on its own
        began = time.perf_counter()
        store.recent_papers(BACKGROUND_LIMIT)
        read = time.perf_counter() - began
    gc.collect()
    began = time.perf_counter()
    learn.train(cfg, offline=True, out=io.StringIO())
    return {"seconds": time.perf_counter() - began, "peak_mb": peak_mb(), "background_read_s": read}


def retrain(config_path: str) -> dict[str, float]:
    """`arxivwatch train --offline` in a child process, as a user runs it beside the daemon."""
    done = subprocess.run(
        [sys.executable, __file__, "train", config_path], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def daemon(config_path: str) -> dict[str, object]:
    from arxivwatch import config
    from arxivwatch.clock import FakeClock
    from arxivwatch.jobs import digest, open_store, poll

    cfg = config.load(config_path, env={})
    clock = FakeClock(NOW)
    report: dict[str, object] = {"rss_start_mb": rss_mb()}

    def job(name: str, run: object) -> None:
        began = time.perf_counter()
        assert callable(run)
        run()
        gc.collect()
        report.setdefault(name, []).append(time.perf_counter() - began)  # type: ignore[union-attr]
        report.setdefault(f"{name}_rss_mb", []).append(rss_mb())  # type: ignore[union-attr]

    job("first_poll", lambda: poll.poll(cfg, clock=clock))
    for _ in range(REPEATS):
        job("poll", lambda: poll.poll(cfg, clock=clock))

    def dry_run() -> None:
        digest.digest(cfg, dry_run=True, channels=["stdout"], clock=clock, out=io.StringIO())

    for _ in range(REPEATS):
        job("digest", dry_run)
    with open_store(cfg, clock) as store:
        report["papers"] = store.count_papers()
    report["retrain"] = retrain(config_path)
    job("poll_after_retrain", lambda: poll.poll(cfg, clock=clock))
    # A second retrain, then a digest (which scores the horizon, adding no paper): what a
    # retrain alone adds to the file.
    with open_store(cfg, clock) as store:
        report["db_bytes_before_retrain"] = store.size_bytes()
    report["retrain_2"] = retrain(config_path)
    job("digest_after_retrain", dry_run)
    with open_store(cfg, clock) as store:
        report["db_bytes_after_retrain"] = store.size_bytes()
    report["peak_mb"] = peak_mb()
    report["children_alive"] = len(multiprocessing.active_children())
    return report


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["train", "daemon"])
    parser.add_argument("config")
    args = parser.parse_args()
    result = train(args.config) if args.what == "train" else daemon(args.config)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
