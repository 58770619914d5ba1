"""Render a Digest into a Message: HTML email, plain text, markdown and Slack blocks.

HTML, text and markdown come from Jinja2 templates shipped in `arxivwatch/templates`
(digest.html.j2, digest.txt.j2, digest.md.j2); a user folder given as `templates_dir`
overrides any of them by name. The HTML template carries a <style> block that is
inlined (css-inline) so the table layout survives Gmail and Outlook; a block marked
`data-css-inline="keep"` stays for phones. Slack Block Kit payloads are built in Python
(arxivwatch.slackblocks), because Slack's limits (50 blocks and about 13,000 characters
of blocks a message, 3,000 characters a text field, 150 a header) are easier to keep in
code than in a template.

Titles, author names and the abstract's lead have their TeX turned into Unicode
(arxivwatch.titles).
Untrusted text (titles, authors, abstracts, reasons, profile titles) is escaped for each
format: autoescape in HTML, the characters that make links, HTML, code or emphasis in
markdown; in Slack it is never mrkdwn but rich_text elements, shown verbatim (see
arxivwatch.slackblocks). Links are only ever http(s), built from arXiv ids.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from arxivwatch import slackblocks
from arxivwatch.models import (
    ARXIV_ABS,
    ARXIV_PDF,
    Digest,
    DigestItem,
    Message,
    Profile,
    abs_link,
    pdf_link,
)
from arxivwatch.titles import cut, unicode_text, visible

if TYPE_CHECKING:
    import jinja2

TEMPLATES = Path(__file__).parent / "templates"
MAX_AUTHORS = 4  # more than this shows the first three and "et al."
LEAD_SENTENCES = 2
LEAD_CHARS = 320
MAX_TITLE = 400  # with MAX_REASONS, keeps a Slack paper block far below 3,000 characters
MAX_REASONS = 800
FOOTER = (
    "Picked from arXiv's announcements for your group's topics. A score runs from 0 to 1; "
    "\u201cwhy\u201d names the terms that counted most and the closest paper in your group's "
    "reading lists. To change the topics or how many papers you get, write to whoever runs "
    "arxivwatch for your group."
)
NO_ANNOUNCEMENT = (
    "arXiv announced no papers for {when} (there are no announcements on Saturdays, Sundays "
    "and arXiv holidays), or they have not reached arxivwatch yet; any that arrive later will "
    "be in the next digest."
)
NOTHING_ARRIVED = (
    "No papers announced on arXiv this week have reached arxivwatch yet; any that arrive later "
    "will be in the next digest."
)


@dataclass(frozen=True)
class ItemView:
    """One paper as every format shows it; the strings are raw (escaped per format)."""

    rank: int
    title: str
    abs_url: str
    pdf_url: str
    authors: str
    categories: str
    score: str
    badges: tuple[str, ...]
    reasons: str
    lead: str
    updated: bool
    late: str  # "announced Jun 10, arrived late", or ""


@dataclass(frozen=True)
class SectionView:
    """One profile's papers."""

    name: str
    title: str
    description: str
    items: tuple[ItemView, ...]


def render(digest: Digest, *, templates_dir: Path | None = None, send_empty: bool = True) -> Message:
    """Every format of `digest`. An empty digest renders a short "nothing above" message.

    `send_empty` does not change the output: whether to send an empty digest is the
    caller's decision; it is accepted so callers can pass their configuration through.
    """
    del send_empty  # rendering is the same either way (see the docstring)
    env = _environment(templates_dir)
    context = _context(digest)
    html = _inline_css(env.get_template("digest.html.j2").render(context))
    return Message(
        subject=context["subject"],
        text=env.get_template("digest.txt.j2").render(context),
        html=html,
        markdown=env.get_template("digest.md.j2").render(context),
        slack=slack_payloads(digest, context["sections"]),
        slack_text=context["subject"],
    )


@lru_cache(maxsize=8)
def _environment(templates_dir: Path | None) -> jinja2.Environment:
    """One environment per templates folder, kept: Jinja2 compiles each template once and
    recompiles it when its file changes (auto_reload), instead of on every render."""
    import jinja2  # lazy: the CLI's --help must not pay for Jinja2

    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "html.j2", "htm")),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = markdown_escape
    return env


def _inline_css(html: str) -> str:
    import css_inline

    inlined = str(css_inline.inline(html))
    return inlined if inlined.endswith("\n") else inlined + "\n"  # the inliner drops it


def _context(digest: Digest) -> dict[str, Any]:
    label = period_label(digest)
    titles = {section.profile.name: profile_title(section.profile) for section in digest.sections}
    sections = [
        SectionView(
            name=section.profile.name,
            title=titles[section.profile.name],
            description=clean(section.profile.description),
            items=tuple(
                _item_view(i, item, titles, digest.end.year) for i, item in enumerate(section.items, 1)
            ),
        )
        for section in digest.sections
        if section.items
    ]
    return {
        "subject": subject(digest),
        "label": label,
        "start": digest.start.isoformat(),
        "end": digest.end.isoformat(),
        "span": period_span(digest),
        "heading": heading(digest),
        "dates": date_range(digest),
        "count": digest.count,
        "scanned": digest.scanned,
        "summary": summary(digest),
        "empty_line": empty_line(digest),
        "sections": sections,
        "footer": FOOTER,
    }


def _item_view(rank: int, item: DigestItem, titles: dict[str, str], year: int) -> ItemView:
    paper = item.paper
    return ItemView(
        rank=rank,
        title=cut(clean(unicode_text(paper.title)), MAX_TITLE),
        # built from the id, whatever the stored row says: links never come from a feed
        abs_url=safe_url(abs_link(paper.id), ARXIV_ABS),
        pdf_url=safe_url(pdf_link(paper.id, paper.version), ARXIV_PDF),
        authors=short_authors(paper.authors),
        categories=", ".join(clean(c) for c in paper.categories),
        score=f"{item.score:.2f}",
        badges=tuple(f"{titles.get(name) or clean(name)} {value:.2f}" for name, value in item.also),
        reasons=cut(format_reasons(item.reasons), MAX_REASONS),
        lead=lead(paper.abstract),
        updated=item.updated,
        late=late_note(item, year),
    )


def profile_title(profile: Profile) -> str:
    """The profile's title as a heading or badge shows it: cleaned, cut to MAX_TITLE characters,
    and its name when the title is blank (a Slack text element must not be empty)."""
    return cut(clean(profile.title), MAX_TITLE) or profile.name


def late_note(item: DigestItem, year: int) -> str:
    """ "announced Jun 10, arrived late" for a late item, else ""; the year is named when it is
    not `year` (the digest's): "announced Dec 30 2025, arrived late" in a January digest."""
    day = item.paper.announced
    if not item.late or day is None:
        return ""
    named = f"{day:%b} {day.day}" if day.year == year else f"{day:%b} {day.day} {day.year}"
    return f"announced {named}, arrived late"


def format_reasons(reasons: tuple[str, ...]) -> str:
    """Terms joined by commas, labelled reasons ("like: <title>") after semicolons.

    ("segmentation", "mask", "like: U-Net") -> "segmentation, mask; like: U-Net".
    """
    clauses: list[list[str]] = []
    for reason in (clean(r) for r in reasons):
        if not reason:
            continue
        if ": " in reason or not clauses or ": " in clauses[-1][-1]:
            clauses.append([reason])
        else:
            clauses[-1].append(reason)
    return "; ".join(", ".join(clause) for clause in clauses)


def period_label(digest: Digest) -> str:
    """ "week 47" (the ISO week most of the period lies in) or "day 2024-11-28"."""
    if digest.period == "day":
        return f"day {digest.end.isoformat()}"
    middle = digest.start + timedelta(days=(digest.end - digest.start).days // 2)
    return f"week {middle.isocalendar().week}"


def period_span(digest: Digest) -> str:
    """The dates covered: "2024-11-22 to 2024-11-28", or one date for a single day."""
    if digest.start == digest.end:
        return digest.start.isoformat()
    return f"{digest.start.isoformat()} to {digest.end.isoformat()}"


def date_range(digest: Digest, *, short: bool = False) -> str:
    """The dates covered, for a reader: "22–28 November 2024", "29 November – 5 December 2024",
    "29 December 2024 – 4 January 2025", or one day, "Thursday 28 November 2024".

    `short` abbreviates the months and drops the weekday ("22–28 Nov 2024"), for subjects.
    """
    start, end = digest.start, digest.end

    def day(d: date, *, year: bool = True) -> str:
        month = d.strftime("%b" if short else "%B")
        return f"{d.day} {month} {d.year}" if year else f"{d.day} {month}"

    if start == end:
        return day(end) if short else f"{end.strftime('%A')} {day(end)}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}\u2013{day(end)}"
    return f"{day(start, year=start.year != end.year)} \u2013 {day(end)}"


def heading(digest: Digest) -> str:
    """The digest's title line: "arxivwatch · 22–28 November 2024"."""
    return f"arxivwatch \u00b7 {date_range(digest)}"


def subject(digest: Digest) -> str:
    """The email subject and Slack fallback, e.g. "arxivwatch: 12 papers, 22–28 Nov 2024"."""
    return f"arxivwatch: {_papers(digest.count)}, {date_range(digest, short=True)}"


def summary(digest: Digest) -> str:
    """The header line with the counts: "12 papers picked for you from 300 announced on arXiv."."""
    return f"{_papers(digest.count).capitalize()} picked for you from {digest.scanned} announced on arXiv."


def empty_line(digest: Digest) -> str:
    """The whole body of an empty digest, saying why it is empty."""
    when = "today" if digest.period == "day" else "this week"
    if digest.scanned == 0 and digest.period == "day":
        return NO_ANNOUNCEMENT.format(when=date_range(digest))
    if digest.scanned == 0:
        return NOTHING_ARRIVED  # for the reader; the operator sees why in `arxivwatch status`
    return f"Nothing matched your topics {when}, of the {_scanned(digest.scanned)}."


def _scanned(n: int) -> str:
    return "1 paper announced" if n == 1 else f"{n} papers announced"


def _papers(n: int) -> str:
    if n == 0:
        return "no papers"
    return "1 paper" if n == 1 else f"{n} papers"


_STRAY_JOINERS = re.compile(r"(?<!\S)[\u200c\u200d]+|[\u200c\u200d]+(?!\S)")  # ZWNJ/ZWJ joining nothing


def clean(text: str) -> str:
    """Whitespace (newlines, tabs, control characters) collapsed to single spaces; invisible
    format characters (soft hyphens, zero-width spaces, bidi overrides) dropped (`visible`), and
    the joiners `visible` keeps dropped too unless they join two characters."""
    return " ".join(_STRAY_JOINERS.sub("", " ".join(visible(text).split())).split())


def short_authors(authors: tuple[str, ...] | list[str]) -> str:
    """ "A, B, C et al." when there are more than MAX_AUTHORS authors, else all of them.

    Only the names shown have their TeX converted (a collaboration lists thousands).
    """
    if len(authors) > MAX_AUTHORS:
        return ", ".join(clean(unicode_text(a)) for a in authors[:3]) + " et al."
    return ", ".join(clean(unicode_text(a)) for a in authors)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(\"'])")


def lead(abstract: str) -> str:
    """The first sentences of an abstract, its TeX as Unicode, cut at a word near LEAD_CHARS.

    Only the first 3 * LEAD_CHARS characters are converted (TeX rarely triples the length).
    """
    sentences = _SENTENCE_END.split(clean(unicode_text(abstract[: 3 * LEAD_CHARS])))
    text = " ".join(sentences[:LEAD_SENTENCES])
    if len(text) <= LEAD_CHARS:
        return text
    return text[:LEAD_CHARS].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def safe_url(url: str, fallback: str) -> str:
    """`url` if it is http(s), else `fallback`; characters that break links percent-encoded."""
    url = clean(url)
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc:
        url = fallback
    return quote(url, safe=":/?#@!$&'*+,;=%~.-_")


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~&])")
_MARKDOWN_LINE_START = re.compile(r"^(?:(\d+)([.)])(?=\s|$)|([#+=-]))")


def markdown_escape(text: object) -> str:
    """Backslash-escape what markdown would read as links, HTML, code or emphasis, and a
    leading `#`, `-`, `+`, `=` or "1." that would make a heading or a list at a line's start."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", clean(str(text)))
    return _MARKDOWN_LINE_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[2] else f"\\{m[3]}", escaped)


def slack_payloads(digest: Digest, sections: Sequence[Any] | None = None) -> tuple[dict[str, object], ...]:
    """chat.postMessage payloads (no channel), each with a fallback text: at most 50 blocks and
    slackblocks.MAX_MESSAGE_BYTES of blocks each (slackblocks.split).

    A profile's heading stays in the same message as its first paper, the closing small print
    with the last paper; a paper is never split.
    `sections` are the rendered sections of _context(digest) when the caller has them already.
    """
    chunks = slackblocks.split(
        _slack_units(digest, _context(digest)["sections"] if sections is None else sections)
    )
    fallback = subject(digest)
    return tuple(
        {
            "text": fallback if len(chunks) == 1 else f"{fallback} ({n}/{len(chunks)})",
            "blocks": chunk,
            "unfurl_links": False,
            "unfurl_media": False,
        }
        for n, chunk in enumerate(chunks, 1)
    )


def _slack_units(digest: Digest, sections: Sequence[Any]) -> list[list[dict[str, Any]]]:
    """The blocks in groups that must not be split across messages."""
    header = slackblocks.header(heading(digest))
    if digest.count == 0:
        return [[header, slackblocks.note(empty_line(digest))]]
    units = [[header, slackblocks.small_print(summary(digest))]]
    for section in sections:
        heading_block = slackblocks.profile_heading(section.title, _papers(len(section.items)))
        first, *rest = (slackblocks.paper(item) for item in section.items)
        units.append([slackblocks.divider(), heading_block, first])
        units.extend([block] for block in rest)
    units[-1] = [*units[-1], slackblocks.divider(), slackblocks.small_print(FOOTER)]  # never alone
    return units
