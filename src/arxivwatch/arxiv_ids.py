"""arXiv ids as curated lists spell them: every link form and citation, normalised to the id.

New-style ids are YYMM.NNNN(N), old-style ones archive[.SC]/YYMMNNN (hep-th/9901001,
math.GT/0309136); the version suffix (v2) is always dropped, and so is an old-style id's subject
class: arXiv's preferred form of math.GT/0309136 is math/0309136, the one its feeds and the export
API give, so a listed paper matches the stored one.
"""

from __future__ import annotations

import re

_NEW_ID = r"\d{4}\.\d{4,5}"
_OLD_ID = r"[a-z][a-z\-]+(?:\.[A-Z]{2})?/\d{7}"
_ID = rf"(?P<id>{_NEW_ID}|{_OLD_ID})(?:v\d+)?(?![\d])"

# Every host and path that names one arXiv paper (any host ending in arxiv.org: www., export., browse.).
URL_ID = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf|html|format)/(?:arxiv:)?"
    r"|huggingface\.co/papers/"
    r"|alphaxiv\.org/(?:abs|overview|pdf)/"
    r"|doi\.org/10\.48550/arxiv\.)" + _ID,
    re.IGNORECASE,
)
TEXT_ID = re.compile(rf"\barxiv\s*:\s*{_ID}", re.IGNORECASE)
_BARE_ID = re.compile(rf"^\s*{_ID}\s*$")
BARE_URL = re.compile(r"(?:https?|htps?)://[^\s<>()\[\]\"'`]+", re.IGNORECASE)
_SUBJECT_CLASS = re.compile(r"^([a-z][a-z\-]+)\.[A-Za-z]{2}/", re.IGNORECASE)


def _preferred(arxiv_id: str) -> str:
    """`arxiv_id` in arXiv's preferred form: an old-style id without its subject class."""
    return _SUBJECT_CLASS.sub(r"\1/", arxiv_id)


def normalize_arxiv_id(text: str) -> str | None:
    """The arXiv id (no version) that `text` names, or None.

    Accepts arxiv.org /abs/, /pdf/ and /html/ URLs (with or without .pdf, vN, an `arXiv:`
    prefix, any *.arxiv.org host, junk after the PDF name), huggingface.co/papers/ID,
    alphaxiv.org/abs/ID, doi.org/10.48550/arXiv.ID, `arXiv:ID` citations and bare ids;
    new style YYMM.NNNN(N) and old style archive/YYMMNNN.
    """
    for pattern in (URL_ID, TEXT_ID, _BARE_ID):
        match = pattern.search(text)
        if match:
            return _preferred(match.group("id"))
    return None


def url_id(url: str) -> str | None:
    """The arXiv id a link points at (see normalize_arxiv_id), or None for other links."""
    match = URL_ID.search(url)
    return _preferred(match.group("id")) if match else None


def text_ids(text: str) -> list[str]:
    """Ids named in running text, as `arXiv:ID` or as a URL of an arXiv page, in text order."""
    found = [(m.start(), m.group("id")) for pattern in (URL_ID, TEXT_ID) for m in pattern.finditer(text)]
    return [_preferred(arxiv_id) for _, arxiv_id in sorted(found)]
