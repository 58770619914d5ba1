"""Cut a recorded rss.arxiv.org feed down to the items of some categories, byte for byte.

This is how the bundled sample (`arxivwatch/data/sample-feed.xml.gz`, also the tests'
cs.CV+eess.IV+cs.LG feed) was made from the real all-archives feed of 2024-11-28
(see `bench/make_sample_feed.py`). The channel
header and every kept `<item>` are copied unchanged, so the result goes through the
same parser as a live feed. Announce types stay as recorded: they were computed by
arXiv relative to the requested set (all archives), so a cross-list into cs.CV from
math stays "new" here, where a live cs.CV+eess.IV+cs.LG feed would say "cross".
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable

_ITEM = re.compile(rb"[ \t]*<item>.*?</item>\r?\n?", re.DOTALL)
_CATEGORY = re.compile(rb"<category>([^<]+)</category>")


def restrict_feed(data: bytes, categories: Iterable[str]) -> bytes:
    """The feed with only the items that carry at least one of `categories`."""
    wanted = {c.encode() for c in categories}
    items = list(_ITEM.finditer(data))
    if not items:
        return data
    head, tail = data[: items[0].start()], data[items[-1].end() :]
    kept = [m.group(0) for m in items if wanted & set(_CATEGORY.findall(m.group(0)))]
    return head + b"".join(kept) + tail


def gzip_bytes(data: bytes) -> bytes:
    """gzip -9 -n: no file name, no time stamp, so the same input gives the same bytes."""
    return gzip.compress(data, compresslevel=9, mtime=0)
