"""Rebuild the bundled sample feed (also the tests' restricted feed) from the recorded all-archives feed.

    python bench/make_sample_feed.py ../shared/fixtures/arxiv/rss_all-archives_2024-11-28.xml.gz

Keeps the channel header and, byte for byte, the items carrying cs.CV, eess.IV or cs.LG
(announce types as recorded), then gzips with no name or time stamp (reproducible).
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

from arxivwatch.arxiv.restrict import gzip_bytes, restrict_feed

CATEGORIES = ("cs.CV", "eess.IV", "cs.LG")
ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "src/arxivwatch/data/sample-feed.xml.gz"  # tests/arxiv_server.py reads it too


def main(source: Path) -> None:
    restricted = gzip_bytes(restrict_feed(gzip.decompress(source.read_bytes()), CATEGORIES))
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(restricted)
    print(f"wrote {TARGET} ({len(restricted)} bytes)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
