"""arXiv's category taxonomy: the codes the feed and the export API accept.

The list ships in the package (`data/categories.txt`, one code a line, with its source),
so a typo such as `cs.CVV` is refused when the configuration loads instead of costing a
poll, or silently matching nothing in the export API.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def codes() -> frozenset[str]:
    """Every known category and archive code, e.g. "cs.CV", "eess.IV", "hep-th", "math"."""
    text = (resources.files("arxivwatch") / "data" / "categories.txt").read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def unknown(categories: tuple[str, ...]) -> list[str]:
    """The given codes arXiv does not know, in the order given (case matters: `cs.cv` is unknown)."""
    known = codes()
    return [c for c in categories if c not in known]


def closest(code: str) -> str | None:
    """The known code most like `code` (for "did you mean"), or None when nothing is close."""
    import difflib

    match = difflib.get_close_matches(code, sorted(codes()), n=1, cutoff=0.75)
    return match[0] if match else None
