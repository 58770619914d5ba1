"""Which text can be a paper's title, and how a title is cleaned: our own rules.

A title is never a decoration ("arXiv", "paper", "[pdf]", "code", "Download PDF"), a venue
("CVPR 2025", "ICLR 2024 (Oral)", "AAAI-24", "IEEE TMI"), a date, a label, an author list or
a URL; a bracketed venue or year tag before or after it (`[CVPR 2024] Title`) is not part of it.
"""

from __future__ import annotations

import re

_DECORATION_WORDS = (
    "paper papers pdf notes note github code site link repo vid video talk slides blog tbp playlist "
    "playlists coursera followlist sub project projectpage page web website arxiv demo checkpoint source "
    "dataset data model homepage supp suppl supplementary poster bib bibtex abstract openreview youtube "
    "huggingface hf doi html official unofficial pytorch tensorflow none here more torch keras jax caffe "
    "mxnet tf paddle implementation leaderboard benchmark download abs preprint tech technical report "
    "alphaxiv"
)
# Link texts that decorate an entry rather than name a paper.
DECORATIONS = frozenset(_DECORATION_WORDS.split())
# Words that only join decorations in a link text ("Read the paper", "Full paper"); never a key.
_FILLER = frozenset(("the", "read", "full", "this", "our", "see", "view", "open"))
_VENUES = (
    "arxiv|preprint|cvpr|cvprw|iccv|iccvw|eccv|eccvw|wacv|bmvc|accv|neurips|nips|iclr|icml|aaai|ijcai|"
    "miccai|isbi|midl|tpami|pami|tip|tmi|media|ijcv|jmlr|tmlr|tog|siggraph|acl|emnlp|naacl|coling|kdd|"
    "www|sigir|wsdm|cikm|icra|iros|rss|corl|icassp|interspeech|mm|acmmm|tcsvt|tnnls|nature|science|"
    "nature communications|nature methods|nature machine intelligence|scientific reports|"
    "medical image analysis|pattern recognition|neurocomputing"
)
_VENUE_TAGS = (
    "oral|highlight|spotlight|workshop|findings|poster|demo|best paper|best student paper|"
    "datasets and benchmarks|datasets & benchmarks|main|main track|short|long"
)
# A venue, with an optional IEEE/ACM prefix, a year ('24, -24, 2024) and a track or award: never a title.
_VENUE = re.compile(
    rf"^(?:ieee\s+|acm\s+)?(?:{_VENUES})[\s\-'’]*(?:19|20)?(?:\d{{2}})?(?:\s+(?:{_VENUE_TAGS}))*$",
    re.IGNORECASE,
)
_BRACKETED = re.compile(r"\s*[(\[（【][^()\[\]（）【】]*[)\]）】]\s*")
# A venue or year tag in brackets before or after the title: `[CVPR 2024] Title`, `Title (ECCV 2022)`.
_TAG_BEFORE = re.compile(r"^\s*[(\[（【](?P<tag>[^()\[\]（）【】]{1,60})[)\]）】]\s*[:\-–—|]?\s*")
_TAG_AFTER = re.compile(r"\s*[(\[（【](?P<tag>[^()\[\]（）【】]{1,60})[)\]）】]\s*$")
_DATE = re.compile(r"^[\d\s./\-:]+$")
_LABEL = re.compile(r"^[^:]{1,30}:$")
_LEADING = re.compile(r"^[^\w\"“(\[]+|^\d+\s*[.)]\s+|^\[+\s*\d*\s*\]+\s*")
SENTENCE = re.compile(r"(?:(?<=\w\w)|(?<=[)\]?!]))[.?!](?:\s+|$)(?=[A-Z\[(]|ar[Xx]iv|$)")
YEAR_AFTER = re.compile(r"\s*\(?(?:19|20)\d\d[a-z]?\)?\s*$")
AUTHORS = re.compile(r"\bet al\b|^(?:[A-Z][\w'\-]+,\s*(?:[A-Z]\.\s*)+,?\s*)+$")


def is_real_title(text: str) -> bool:
    """True when `text` can name a paper: not a decoration, a venue, a date, a label or a URL."""
    value = " ".join(text.split()).strip(" .,;:*[]()\"'“”")
    letters = sum(ch.isalpha() for ch in value)
    if (
        not letters
        or sum(ch.isalnum() for ch in value) < 2
        or "://" in value
        or value.lower().startswith("www.")
    ):
        return False
    words = re.findall(r"[a-z]+", value.lower())
    if not words or "".join(words) in DECORATIONS or set(words) <= DECORATIONS:
        return False
    if set(words) <= DECORATIONS | _FILLER and set(words) & DECORATIONS:
        return False
    if _DATE.match(value) or _LABEL.match(text.strip()) or AUTHORS.search(value):
        return False
    untagged = _BRACKETED.sub(" ", " ".join(text.split())).strip(" .,;:*\"'“”")
    return not (_VENUE.match(value) or _VENUE.match(untagged))


def _is_tag(text: str) -> bool:
    value = " ".join(text.split())
    return bool(_VENUE.match(value) or _DATE.match(value))


def clean_title(text: str) -> str:
    """Whitespace folded; list numbers, emoji, quotes and the closing full stop dropped."""
    value = " ".join(text.split())
    for tag in (_TAG_BEFORE, _TAG_AFTER):
        match = tag.search(value)
        rest = (value[: match.start()] + value[match.end() :]).strip() if match else ""
        if match and _is_tag(match["tag"]) and len(rest.split()) >= 2:
            value = rest
    value = _unquote(_LEADING.sub("", value).strip(" *_"))
    if value.endswith(".") and not value.endswith(".."):
        value = value[:-1]
    return _unquote(value.strip(" ,;:")).strip()


def _unquote(value: str) -> str:
    """Quotes around the title dropped; a closing quote of a quoted last word kept (`More "Attention"`)."""
    inner = value.strip(" \"“”'")
    if value.endswith('"') and inner.count('"') % 2:
        inner += '"'
    elif value.endswith("”") and inner.count("“") > inner.count("”"):
        inner += "”"
    return inner
