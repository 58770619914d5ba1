"""The benchmark's inputs, all offline: devset papers, training background, curated entries.

The development set (bench/data/papers.jsonl.gz, 2,501 real papers) is the source of
real text. Where more papers are needed than it holds:
- scoring repeats it as is (10,000 = the devset four times, cut);
- training background varies it, so that repeats are not identical documents: copy k of
  paper i keeps paper i's title and takes the abstract of paper (i + 7919 k) mod n, which
  keeps real wording and lengths but makes every text distinct. The bundled sample feed
  (407 real papers of 2024-11-28) goes in first.
"""

from __future__ import annotations

import platform
import sys
from pathlib import Path

from arxivwatch.models import CuratedEntry, Paper

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
STRIDE = 7919  # a prime, so the abstract shifts wrap the devset without short cycles


def devset() -> list[Paper]:
    """The development-set papers, in file order."""
    import quality  # bench/quality.py (the learning helper's); bench/ is on sys.path

    papers, _days, _labels = quality.load_devset()
    return papers


def entries() -> list[CuratedEntry]:
    """The entries of the bundled curated lists."""
    import quality

    return quality.bundled_entries()


def score_papers(count: int) -> list[Paper]:
    """`count` devset papers, the devset repeated as often as needed."""
    papers = devset()
    return [papers[i % len(papers)] for i in range(count)]


def background(count: int) -> list[Paper]:
    """`count` background papers: the bundled sample feed, then the devset and varied copies."""
    from arxivwatch.jobs.learn import sample_papers

    papers = devset()
    chosen: list[Paper] = sample_papers()[:count]
    copy = 0
    while len(chosen) < count:
        for i, paper in enumerate(papers[: count - len(chosen)]):
            if copy == 0:
                chosen.append(paper)
                continue
            other = papers[(i + STRIDE * copy) % len(papers)]
            chosen.append(Paper(id=f"{paper.id}.{copy}", title=paper.title, abstract=other.abstract))
        copy += 1
    return chosen


def machine() -> dict[str, object]:
    """CPU model, cores, Python and library versions, and the load when the run began."""
    import os

    import numpy
    import scipy
    import sklearn

    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory": _meminfo("MemTotal"),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
    }


def _meminfo(key: str) -> str:
    try:
        for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
            if line.startswith(f"{key}:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
