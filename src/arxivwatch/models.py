"""The values that flow through arxivwatch, one direction only.

arXiv bytes -> Paper -> store -> Score -> Digest -> Message -> Receipt, and on the
learning side markdown -> CuratedEntry -> (labelled by a Profile) -> model.

This module is a leaf: it imports nothing of ours, and every class is a frozen
dataclass so that values can be shared between steps without surprises.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from urllib.parse import quote

ANNOUNCE_TYPES = ("new", "cross", "replace", "replace-cross")
ARXIV_ABS = "https://arxiv.org/abs/"
ARXIV_PDF = "https://arxiv.org/pdf/"


def abs_link(paper_id: str) -> str:
    """`https://arxiv.org/abs/<id>`: built from the id alone, never taken from a feed."""
    return ARXIV_ABS + quote(paper_id, safe="/.-")


def pdf_link(paper_id: str, version: int) -> str:
    """`https://arxiv.org/pdf/<id>v<N>`: built from the id and version alone."""
    return f"{ARXIV_PDF}{quote(paper_id, safe='/.-')}v{int(version)}"


@dataclass(frozen=True)
class Paper:
    """One arXiv paper as announced or as returned by the export API.

    `id` never carries a version (`2411.17735`, `hep-th/9901001`); the version is
    apart. `announce_type` is one of ANNOUNCE_TYPES, or "" when the source does not
    say (the export API). Text fields are whitespace-normalised by the parser.
    """

    id: str
    title: str
    abstract: str = ""
    version: int = 1
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    primary_category: str = ""
    submitted: datetime | None = None
    updated: datetime | None = None
    announced: date | None = None
    announce_type: str = ""
    abs_url: str = ""
    pdf_url: str = ""
    comment: str = ""
    journal_ref: str = ""
    doi: str = ""

    @property
    def text(self) -> str:
        """The text a classifier reads: title and abstract."""
        return f"{self.title}. {self.abstract}" if self.abstract else self.title


@dataclass(frozen=True)
class CuratedEntry:
    """One paper in a curated markdown list.

    `section` is the heading path plus, where the list has one, the plain group
    line above a bullet list. `text` is the inline abstract or notes ("" if none).
    `source` names the list (its path or URL).
    """

    title: str
    source: str
    urls: tuple[str, ...] = ()
    arxiv_id: str | None = None
    year: int | None = None
    venue: str | None = None
    section: tuple[str, ...] = ()
    text: str = ""

    def as_json(self) -> dict[str, object]:
        """The JSON form that `arxivwatch lists show` prints, one per line."""
        return {
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "urls": list(self.urls),
            "year": self.year,
            "venue": self.venue,
            "section": list(self.section),
            "text": self.text,
            "source": self.source,
        }


@dataclass(frozen=True)
class Profile:
    """A topic to watch.

    `sections` are regular expressions matched (case-insensitively, searched) against
    each element of an entry's section path; an entry matching any is a positive.
    `threshold` is None until training chose one (the model carries the chosen value).
    An empty `categories` means the profile applies to every configured category.
    """

    name: str
    title: str
    description: str = ""
    sections: tuple[str, ...] = ()
    seeds: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    top_n: int | None = None  # None: the configured [digest] top_n
    threshold: float | None = None


@dataclass(frozen=True)
class Score:
    """A paper's relevance to one profile: a calibrated value in [0, 1] and why."""

    paper_id: str
    profile: str
    value: float
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class DigestItem:
    """One paper in a digest, under its best profile, with badges for the others."""

    paper: Paper
    profile: str
    score: float
    reasons: tuple[str, ...] = ()
    also: tuple[tuple[str, float], ...] = ()  # (other profile, score), best first
    updated: bool = False  # a new version of a paper sent before
    late: bool = False  # announced before the digest's period: it arrived after that period's digest


@dataclass(frozen=True)
class DigestSection:
    """The ranked items of one profile."""

    profile: Profile
    items: tuple[DigestItem, ...] = ()


def digest_key(period: str, start: date, channel: str) -> str:
    """A digest's identity in the ledger: one digest per period, start day and channel."""
    return f"{period}:{start.isoformat()}:{channel}"


@dataclass(frozen=True)
class Digest:
    """The papers of one period, ranked per profile, for one channel.

    Its identity is (period, start, channel): `key` is what the ledger records, so a
    digest is sent once per channel.
    """

    period: str  # "day" | "week"
    start: date  # first day covered (inclusive)
    end: date  # last day covered (inclusive)
    channel: str
    sections: tuple[DigestSection, ...] = ()
    scanned: int = 0  # papers looked at in the period

    @property
    def key(self) -> str:
        return digest_key(self.period, self.start, self.channel)

    @property
    def items(self) -> tuple[DigestItem, ...]:
        return tuple(item for section in self.sections for item in section.items)

    @property
    def count(self) -> int:
        return len(self.items)


@dataclass(frozen=True)
class Message:
    """A digest rendered for delivery: every format a channel might want."""

    subject: str
    text: str
    html: str
    markdown: str
    slack: tuple[dict[str, object], ...] = ()  # one chat.postMessage payload per message
    slack_text: str = ""  # the `text` fallback

    def to_json(self) -> str:
        """The message as JSON text, as the ledger freezes it."""
        return json.dumps({**asdict(self), "slack": list(self.slack)}, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Message:
        """The inverse of to_json."""
        data = json.loads(text)
        return cls(**{**data, "slack": tuple(data.get("slack", ()))})


@dataclass(frozen=True)
class Receipt:
    """What a channel answered when it accepted a message."""

    channel: str
    digest_key: str
    accepted_at: datetime
    detail: str = ""  # Message-ID, Slack ts values, file paths
    extra: dict[str, str] = field(default_factory=dict)
