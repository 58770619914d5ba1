"""Years of history: what each step costs with 1,000 to 300,000 papers stored.

Each store holds real papers (bench/data's 2,501 devset papers, replicated under new
ids: copy c of paper i is `1ccc.iiiii`), 400 announced (and stored) a day going back from
the day before the recorded feed's (2024-11-28), so 100,000 papers are about 250 days and
300,000 about two years. The poll is the real job against a loopback arXiv serving the
recorded feed of 2024-11-28 (407 items) with its ids rewritten on every request, so
every poll stores 407 new papers. `[storage] keep_days = 0`, so nothing is pruned.

Per store (bench/_history_child.py, one process each, so memory is its own):
train; then the daemon's day: the first poll with that model, four steady polls, four
dry-run week digests, a retrain in a child process, the first poll after it, a second
retrain and a dry-run digest (the database's growth from a retrain alone). Reported:
wall times, peak resident memory, the database's size per paper, how much a retrain
grows it, the daemon's resident memory after the retrain against its idle level, and
the worker processes left alive.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from typing import Any

import _workload
from _stats import Figure

sys.path.insert(0, str(_workload.ROOT / "tests"))

from arxiv_server import RESTRICTED_FEED, ArxivServer, Reply, Request, recorded

SIZES = (1_000, 10_000, 100_000, 300_000)
PER_DAY = 400  # papers announced a day in the stored history (three busy categories)
LAST_DAY = date(2024, 11, 27)  # the day before the recorded feed's announcement
_ID = re.compile(rb"(?<=[:/])(\d{2})(\d{2})\.(\d{5})")


class FreshFeed:
    """The recorded feed with its ids rewritten on every request: each poll stores 407 new papers."""

    def __init__(self) -> None:
        self.feed = recorded(RESTRICTED_FEED)
        self.count = 0

    def __call__(self, request: Request) -> Reply:
        self.count += 1
        prefix = b"%02d" % (self.count % 90 + 10)  # 10..99: never the history's "1ccc" ids
        body = _ID.sub(lambda m: prefix + m.group(2) + b"." + m.group(3), self.feed)
        return Reply(200, body, {"Content-Type": "application/rss+xml"})


def build_store(path: Path, size: int) -> float:
    """Fill a new store at `path` with `size` devset papers under new ids; seconds taken."""
    from dataclasses import replace

    from arxivwatch.clock import FakeClock
    from arxivwatch.store import Store

    papers = _workload.devset()
    began = time.perf_counter()
    with Store(path) as store:
        for start in range(0, size, PER_DAY):
            day = LAST_DAY - timedelta(days=start // PER_DAY)
            store.clock = FakeClock(datetime.combine(day, dt_time(6), UTC))  # stored that morning
            batch = [
                replace(
                    papers[k % len(papers)],
                    id=f"1{k // len(papers):03d}.{k % len(papers):05d}",
                    announced=day,
                    announce_type="new",
                )
                for k in range(start, min(size, start + PER_DAY))
            ]
            store.upsert_papers(batch, announced=day)
    return time.perf_counter() - began


def write_config(folder: Path, server: ArxivServer) -> Path:
    path = folder / "arxivwatch.toml"
    path.write_text(
        f'[arxiv]\napi_url = "{server.api_url}"\nfeed_url = "{server.feed_url}"\n'
        'contact = "bench@example.org"\n'
        f'[storage]\npath = "{folder / "arxivwatch.db"}"\nkeep_days = 0\n',
        encoding="utf-8",
    )
    return path


def _child(*args: str) -> dict[str, Any]:
    cmd = [sys.executable, str(_workload.BENCH / "_history_child.py"), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=_workload.ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"history child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def one_size(size: int, server: ArxivServer) -> dict[str, Any]:
    """Build a store of `size` papers and run train and the daemon's day on it."""
    with tempfile.TemporaryDirectory(prefix=f"arxivwatch-history-{size}-") as name:
        folder = Path(name)
        built = build_store(folder / "arxivwatch.db", size)
        config = str(write_config(folder, server))
        trained = _child("train", config)
        day = _child("daemon", config)
    return {"size": size, "build_s": round(built, 1), "train": trained, **day}


def history(sizes: Sequence[int] = SIZES) -> tuple[list[Figure], dict[str, Any]]:
    """The history table's figures, and every child's report by size."""
    runs: list[dict[str, Any]] = []
    with ArxivServer() as server:
        server.script("rss", FreshFeed())
        for size in sizes:
            print(f"[bench]   history: {size:,} papers ...", file=sys.stderr, flush=True)
            load = os.getloadavg()[0]
            runs.append({**one_size(size, server), "load_at_start": round(load, 2)})
    return figures(runs), {"runs": runs, "per_day": PER_DAY}


def figures(runs: Sequence[dict[str, Any]]) -> list[Figure]:
    """Per size: the figures; then each step's ratio to the smallest store's."""
    out: list[Figure] = []
    base = runs[0]
    for run in runs:
        n = f"history {_short(run['size'])}:"
        big = run["size"] >= 100_000
        idle = run["digest_rss_mb"][-1]
        growth = 100 * (run["db_bytes_after_retrain"] / run["db_bytes_before_retrain"] - 1)
        out += [
            Figure(f"{n} poll of 407, steady", "s", tuple(run["poll"])),
            Figure(f"{n} digest --dry-run (week)", "s", tuple(run["digest"])),
            Figure(f"{n} train --offline", "s", tuple(t["seconds"] for t in _trains(run))),
            Figure(f"{n} train, peak memory", "MB", tuple(t["peak_mb"] for t in _trains(run))),
            Figure(f"{n} train, background read", "s", tuple(t["background_read_s"] for t in _trains(run))),
            Figure(
                f"{n} first poll after retrain", "s", tuple(run["poll_after_retrain"]), 5.0 if big else None
            ),
            Figure(f"{n} daemon peak memory", "MB", (run["peak_mb"],), 300.0 if big else None),
            Figure(
                f"{n} daemon after retrain - idle", "MB", (run["poll_after_retrain_rss_mb"][-1] - idle,), 50.0
            ),
            Figure(f"{n} db size per paper", "KB", (run["db_bytes_after_retrain"] / run["papers"] / 1e3,)),
            Figure(f"{n} db growth from a retrain", "%", (growth,), 10.0),
            Figure(f"{n} worker processes left", "count", (float(run["children_alive"]),), 0.0),
        ]
        if run is not base:
            for key, label in (("poll", "poll"), ("digest", "digest")):
                ratio = _median(run[key]) / _median(base[key])
                out.append(Figure(f"{n} {label} / {_short(base['size'])}", "x", (ratio,), 1.5))
            trains = [t["seconds"] for t in _trains(run)]
            base_trains = [t["seconds"] for t in _trains(base)]
            ratio = _median(trains) / _median(base_trains)
            out.append(Figure(f"{n} train / {_short(base['size'])}", "x", (ratio,), 1.5))
    return out


def _trains(run: dict[str, Any]) -> list[dict[str, float]]:
    return [run["train"], run["retrain"], run["retrain_2"]]


def _median(values: Sequence[float]) -> float:
    import statistics

    return float(statistics.median(values))


def _short(size: int) -> str:
    return f"{size // 1000}k"
