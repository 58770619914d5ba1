"""Speed, memory, polling cost and ranking quality of arxivwatch, measured side by side.

    python bench/run.py [--quick] [--no-quality] [--history SIZES | --no-history] [--history-only]
                        [--out bench/results.json]

Offline and self-contained (loopback servers, bundled and recorded data). On a 2-core machine
the speed sections take about a minute, ranking quality one to eight minutes (the first run fills the
embedding cache), the history table four to eight: `--no-history` and `--no-quality` skip those;
`--quick` only lowers the repeats. Exits 1, with a NOT RUN line, when a part could not run
(ranking quality without the bench extras). Prints one table and writes bench/results.json
with the machine it ran on.
Every timing is the median of repeated runs, shown with its min and max; ratios are taken
within one repeat. Targets come from DESIGN.md ("Targets"). See bench/README.md for what
each figure means. Benchmarks, not tests: nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _workload
from _stats import Figure, format_table


@dataclass(frozen=True)
class Plan:
    """How many repeats and how big the workloads are."""

    repeats: int = 5
    startup_repeats: int = 7
    train_repeats: int = 3
    background: int = 5_000  # jobs.background.BACKGROUND_LIMIT: what `train` takes
    papers: int = 10_000
    quality: bool = True
    history: tuple[int, ...] = (1_000, 10_000, 100_000, 300_000)  # stored papers; () skips
    history_only: bool = False


def _section(title: str, run: Callable[[], tuple[list[Figure], dict[str, Any]]]) -> tuple[list[Figure], Any]:
    print(f"[bench] {title} ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    figures, details = run()
    print(f"[bench] {title}: {time.perf_counter() - began:.1f} s", file=sys.stderr, flush=True)
    return figures, details


def measure(plan: Plan) -> dict[str, Any]:
    """Run every section; the figures in table order and the details by section."""
    import _history
    import _learning
    import _polling
    import _rendering
    import _startup

    figures: list[Figure] = []
    details: dict[str, Any] = {}

    def add(key: str, title: str, run: Callable[[], tuple[list[Figure], dict[str, Any]]]) -> None:
        more, details[key] = _section(title, run)
        figures.extend(more)

    if plan.history_only:
        add("history", "history", lambda: _history.history(plan.history))
        return {"figures": figures, "details": details, "quality": [], "quality_table": "", "not_run": []}
    add("cold_start", "cold start", lambda: _startup.cold_start(plan.startup_repeats))
    folder, model_path = _learning.temp_model_path()
    with folder:
        add(
            "training",
            "training",
            lambda: _learning.train_runs(plan.train_repeats, plan.background, model_path),
        )
        from arxivwatch import model as model_io

        model = model_io.load(model_path)
        papers = _workload.score_papers(plan.papers)
        add("model_load", "model load", lambda: ([_learning.model_load(model_path, plan.repeats)], {}))
        add("scoring", "scoring", lambda: _learning.scoring(model, papers, plan.repeats))
        add("workers", "one worker vs two", lambda: _learning.workers(model, papers, plan.repeats))
        add("rendering", "rendering", lambda: _rendering.rendering(model, plan.repeats))
    add("polling", "polling", lambda: _polling.polling(plan.repeats))
    if plan.history:
        add("history", "history", lambda: _history.history(plan.history))
    quality: list[dict[str, Any]] = []
    table = ""
    not_run: list[str] = []
    if plan.quality:
        rows, table, seconds = _quality()
        quality = [asdict(r) for r in rows]
        details["quality"] = {"seconds": round(seconds, 1), "runs": 1}
        if not rows:
            not_run.append(f"ranking quality {table}")
    return {
        "figures": figures,
        "details": details,
        "quality": quality,
        "quality_table": table,
        "not_run": not_run,
    }


def _quality() -> tuple[Sequence[Any], str, float]:
    """bench/quality.py's rows and table (deterministic: one run)."""
    import quality

    print("[bench] ranking quality ...", file=sys.stderr, flush=True)
    began = time.perf_counter()
    try:
        rows = quality.quality_rows(holdout=True)
    except Exception as e:  # another helper's module: keep the timings when it breaks
        print(f"[bench] ranking quality failed: {type(e).__name__}: {e}", file=sys.stderr)
        return [], f"(bench/quality.py failed: {type(e).__name__}: {e})", time.perf_counter() - began
    seconds = time.perf_counter() - began
    print(f"[bench] ranking quality: {seconds:.1f} s", file=sys.stderr, flush=True)
    return rows, quality.format_table(rows), seconds


def code_version() -> str:
    """The commit measured; "-dirty" when the working tree (which is what runs) differs from it."""
    import subprocess

    done = subprocess.run(
        ["git", "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
        cwd=_workload.ROOT,
    )
    return done.stdout.strip() or "unknown"


def report(result: dict[str, Any], machine: dict[str, Any], began: datetime, plan: Plan) -> dict[str, Any]:
    """The JSON document written to results.json."""
    return {
        "date": began.isoformat(timespec="seconds"),
        "code": code_version(),
        "duration_s": round((datetime.now(UTC) - began).total_seconds(), 1),
        "machine": {**machine, "load_average_at_end": [round(x, 2) for x in os.getloadavg()]},
        "plan": asdict(plan),
        "figures": [f.as_json() for f in result["figures"]],
        "details": result["details"],
        "quality": result["quality"],
        "not_run": result["not_run"],
    }


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats (for trying the script out)")
    parser.add_argument("--no-quality", action="store_true", help="skip the ranking-quality table")
    parser.add_argument(
        "--out", type=Path, help="default: bench/results.json (history only: bench/results-history.json)"
    )
    parser.add_argument(
        "--history",
        type=_sizes,
        default=Plan.history,
        metavar="SIZES",
        help="stored papers of the history table, comma-separated (default: 1000,10000,100000,300000)",
    )
    parser.add_argument("--no-history", action="store_true", help="skip the history table")
    parser.add_argument("--history-only", action="store_true", help="only the history table")
    args = parser.parse_args(argv)
    history = () if args.no_history else args.history
    plan = Plan(quality=not args.no_quality, history=history, history_only=args.history_only)
    if args.quick:
        plan = replace(plan, repeats=2, startup_repeats=3, train_repeats=1)
    if args.out is None:
        args.out = _workload.BENCH / ("results-history.json" if args.history_only else "results.json")
    began = datetime.now(UTC)
    machine = _workload.machine()
    result = measure(plan)
    document = report(result, machine, began, plan)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(
        f"arxivwatch bench, {document['date']}, code {document['code']}, "
        f"{machine['cpu']}, {machine['cores']} cores, "
        f"Python {machine['python']} (load at start: {machine['load_average_at_start']})"
    )
    print()
    print(format_table(result["figures"]))
    if result["quality_table"]:
        print()
        print("Ranking quality (bench/quality.py): average precision; share of labelled papers in top 10")
        print(result["quality_table"])
    print()
    print(f"Wrote {args.out}")
    return exit_status(result["not_run"], sys.stdout)


def exit_status(not_run: Sequence[str], out: Any) -> int:
    """0 when every part ran; else 1, after a NOT RUN line per part that could not run."""
    for part in not_run:
        print(f"NOT RUN: {part}", file=out)
    return 1 if not_run else 0


if __name__ == "__main__":
    sys.exit(main())
