"""Recovery of curated lists: per markdown file of a folder, the share of mentioned arXiv ids
that the list parser returns as entries with a real title.

    python bench/lists.py [FOLDER] [-v]

FOLDER defaults to ../shared/lists-wild (beside the repository) when it exists. "Mentioned"
is the regex count of that folder's README: distinct new-style ids after `arxiv.org/abs|pdf|html/`
or `arXiv:`. A title is real when it is not a decoration ("arXiv", "paper", "pdf", "code"), not
a venue ("CVPR 2025") and has at least two words. Prints a markdown table; -v lists the misses.
Exits 1 when any file is under the 95% target, 2 when there is no folder to read.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from arxivwatch import curated

TARGET = 0.95
MENTION = re.compile(r"(?:arxiv\.org/(?:abs|pdf|html)/|arXiv:\s?)(\d{4}\.\d{4,5})", re.IGNORECASE)
DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "lists-wild"


def mentioned(text: str) -> set[str]:
    """The distinct new-style arXiv ids the text mentions (the lists-wild README's regex)."""
    return set(MENTION.findall(text))


def recovered(text: str, source: str) -> dict[str, str]:
    """Mentioned id -> the real title of the first entry the parser gave it."""
    found: dict[str, str] = {}
    for entry in curated.parse(text, source):
        if entry.arxiv_id and entry.arxiv_id not in found and curated.is_real_title(entry.title):
            found[entry.arxiv_id] = entry.title
    return found


def main(argv: list[str] | None = None) -> int:
    """Print the recovery table; 0 when every file meets the target, 1 if not, 2 without a folder."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("-v", "--verbose", action="store_true", help="list the ids not recovered")
    args = parser.parse_args(argv)
    files = sorted(p for p in args.folder.glob("*.md") if p.name.lower() != "readme.md")
    if not files:
        print(f"bench/lists.py: no markdown lists in {args.folder}; give a folder of lists", file=sys.stderr)
        return 2
    print("| file | ids mentioned | recovered with a title | share |")
    print("|---|---:|---:|---:|")
    ok = True
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            print(f"| {path.name} | unreadable | | |")
            print(f"bench/lists.py: cannot read {path}: {e}; give UTF-8 markdown files", file=sys.stderr)
            ok = False
            continue
        wanted = mentioned(text)
        got = recovered(text, path.name)
        hit = wanted & got.keys()
        share = len(hit) / len(wanted) if wanted else 1.0
        ok &= share >= TARGET
        print(f"| {path.name} | {len(wanted)} | {len(hit)} | {share:.1%} |")
        if args.verbose:
            for missing in sorted(wanted - hit):
                print(f"    missing {missing}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
