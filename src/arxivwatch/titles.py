"""Titles and names as a reader should see them: TeX turned into Unicode, list notes dropped.

arXiv metadata keeps authors' TeX (`Niccol\\`o`, `Mar{\\aa}k`, `$\\alpha$-divergence`);
pylatexenc is the well-kept converter (accents, special letters, math symbols), used
here rather than a table of our own. Math stays readable: `$O(n^2)$` becomes `O(n^2)`,
`$\\alpha$` becomes `α`. Text without TeX markup is returned unchanged, `%` is never
read as a comment and `&` never as a table's column separator.

Curated lists annotate titles ("MICCAI'19 Best Paper - ...", "(Just notes)", "[website]");
`clean_title` drops those notes, so "like: <title>" names the paper itself.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_TEX_MARKUP = re.compile(r"[\\$]|\{|\}")
# pylatexenc takes about 30 ms per 1,000 characters: a feed's title or name past this length
# (arXiv's are under 1,000) is cut here, so a hostile 1 MB title cannot stall a digest.
MAX_TEX_CHARS = 4000
# A trailing note of a curated list: "(Just notes)", "(WIP)", "[website]", "(paper)", "(Notes only ...)".
_TRAILING_NOTE = re.compile(
    r"\s*[\(\[]\s*(?:just notes|notes? only[^)]*|wip|website|paper|original paper|code|slides|video|blog)"
    r"\s*(?:[\)\]]|$)",
    re.IGNORECASE,
)
# A leading award or venue note: "MICCAI'19 Best Paper - ", "ISIC17 Winner: ", "NeurIPS 2020 Workshop: ".
_LEADING_NOTE = re.compile(
    r"^[^:]{0,40}?\b(?:best (?:student )?paper|winner|award|workshop|oral|spotlight)\b"
    r"[^:]{0,20}?\s*(?:-|:)\s+",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _converter() -> Any:
    from pylatexenc.latex2text import LatexNodes2Text  # lazy: only digests and tables need it

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


def unicode_text(text: str) -> str:
    """`text` with its TeX markup turned into Unicode, whitespace collapsed.

    "Niccol\\`o Rossi" -> "Niccolò Rossi"; "$\\alpha$-divergence" -> "α-divergence".
    Plain text comes back as it was; text pylatexenc cannot parse comes back unchanged.
    Only the first MAX_TEX_CHARS characters are read (the digest cuts titles far shorter).
    """
    if len(text) > MAX_TEX_CHARS:
        text = text[:MAX_TEX_CHARS]
    if not _TEX_MARKUP.search(text):
        return text
    # A bare % is a percent sign here, not a comment; a bare & is "and" (Q&A, R&D), not a column.
    protected = re.sub(r"(?<!\\)([%&])", r"\\\1", text)
    try:
        converted = str(_converter().latex_to_text(protected))
    except Exception:
        return " ".join(text.split())
    return " ".join(converted.replace("\xa0", " ").split())


def clean_title(title: str) -> str:
    """A curated title without the list's notes, TeX turned into Unicode.

    "MICCAI'19 Best Paper - Segmentation of the Prostate" -> "Segmentation of the Prostate";
    "One cycle (Just notes)" -> "One cycle"; "Microsoft [COCO]: Common Objects" ->
    "Microsoft COCO: Common Objects".
    """
    text = _TRAILING_NOTE.sub("", unicode_text(title))
    text = _LEADING_NOTE.sub("", text, count=1)
    text = re.sub(r"\[([^\]]*)\]", r"\1", text)
    text = re.sub(r"^(.{2,40}?): \1: ", r"\1: ", text)  # "Dropout: Dropout: a simple way"
    if text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1]
    return " ".join(text.split()) or " ".join(title.split())
