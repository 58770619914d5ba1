"""Curated markdown lists -> CuratedEntry values, and what a list mentions but gave no entry.

Two readers, and parse() keeps the better: the block reader (listblocks + listentries:
GFM tables, inline and block HTML, bold title blocks, "Papers with Code" lines, plain
citations, numbered and nested lists) and the link-entry reader of this module, which
also keeps the notes, quotes and `<kbd>` venues of the three bundled lists. The reader
that recovers more arXiv ids with a real title is the primary (a tie keeps this module's
reader); entries of the other for ids the primary missed are added.

markdown-it-py gives the block structure (headings, paragraphs, bullet lists, quotes);
this module's own reader reads three shapes of list out of it:

1. heading-sectioned link entries, `[2019 - **[Name]**: Title](url)` or `[Title (2018)](url)`,
   sometimes a bare title line above a bare URL, followed by `<sub>` abstracts and `> quotes`;
2. numbered bold entries, `**[N]** Name`, whose list item cites `arXiv:ID` and links [Paper];
3. weekly headings with a plain group line ("Biomedical Semi-Supervised Learning") above a
   bullet list of `* [Title](url) [[Notes](...)] <kbd>VENUE YEAR</kbd>`.

Parsing is pure: text in, entries out. Entries without an arXiv id are kept, since their
titles are still training text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token

from arxivwatch import listblocks, listentries
from arxivwatch.arxiv_ids import BARE_URL, TEXT_ID, normalize_arxiv_id, text_ids, url_id
from arxivwatch.listentries import LOOKED_FOR, ListReading
from arxivwatch.listtitles import is_real_title
from arxivwatch.models import CuratedEntry

__all__ = ["LOOKED_FOR", "ListReading", "is_real_title", "normalize_arxiv_id", "parse", "read", "with_source"]

_TEXT_ID = TEXT_ID

# Link texts that decorate an entry rather than name a paper.
_DECORATIONS = frozenset(
    (
        "paper",
        "pdf",
        "notes",
        "note",
        "github",
        "code",
        "site",
        "link",
        "repo",
        "vid",
        "video",
        "talk",
        "slides",
        "blog",
        "tbp",
        "playlist",
        "playlists",
        "coursera",
        "followlist",
        "sub",
        "project",
        "web",
        "website",
        "arxiv",
    )
)
# Hosts whose links are resources (code, videos, forums), not papers.
_RESOURCE_HOSTS = ("github.com", "youtube.com", "youtu.be", "reddit.com", "twitter.com")

_YEAR_PREFIX = re.compile(r"^\s*((?:19|20)\d\d)\s*[-–:]\s*")
_YEAR_SUFFIX = re.compile(r"\s*\(((?:19|20)\d\d)\)\s*$")
_BOLD_TAG = re.compile(r"^\s*\*\*\s*\[([^\]]*)\]\s*\*\*\s*:?\s*")
_NUMBERED = re.compile(r"^\s*\*\*\[\d+\]\*\*\s*(?P<name>.+)$")
_QUOTED_TITLE = re.compile(r"[\"“](?P<t>[^\"“”]{12,})[\"”]")
_CITED_YEAR = re.compile(r"\((?:19|20)\d\d[^)]*\)|\b(?:19|20)\d\d\b")
_URL_LINE = re.compile(r"^\s*(https?://\S+)\s*$")
_SCHEME = re.compile(r"^[a-z]+://", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_KBD = re.compile(r"<kbd>(.*?)</kbd>", re.IGNORECASE)


@dataclass
class _Draft:
    """An entry being assembled while the walk goes on."""

    title: str
    section: tuple[str, ...]
    urls: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str | None = None
    text: list[str] = field(default_factory=list)
    cited_id: str | None = None


@dataclass
class _Line:
    """One line of an inline token: its plain text and the links on it."""

    text: str
    raw: str
    links: list[tuple[str, str]]  # (link text, href)


@dataclass
class _Walk:
    """The state of one pass over a document's block tokens."""

    headings: list[tuple[int, str]] = field(default_factory=list)
    group: str | None = None
    drafts: list[_Draft] = field(default_factory=list)
    open: _Draft | None = None
    depth: dict[str, int] = field(default_factory=lambda: {"bullet": 0, "ordered": 0, "blockquote": 0})

    @property
    def in_list(self) -> bool:
        return self.depth["bullet"] + self.depth["ordered"] > 0

    @property
    def section(self) -> tuple[str, ...]:
        path = tuple(title for _, title in self.headings)
        return (*path, self.group) if self.group else path


def read(markdown: str, source: str) -> ListReading:
    """Every paper entry of one curated list and the lines that gave none (see ListReading)."""
    entries = parse(markdown, source)
    mentioned = frozenset(text_ids(markdown)) | {i for i in map(url_id, BARE_URL.findall(markdown)) if i}
    return ListReading(tuple(entries), tuple(listentries.skipped_lines(markdown, entries)), mentioned)


def parse(markdown: str, source: str) -> list[CuratedEntry]:
    """Every paper entry of one curated list, in document order (see the module docstring)."""
    own = _parse_links(markdown, source)
    blocks = listentries.read(listblocks.blocks(markdown), source)
    primary, other = (own, blocks) if _titled(own) >= _titled(blocks) else (blocks, own)
    known = {e.arxiv_id for e in primary if e.arxiv_id and is_real_title(e.title)}
    extra = [e for e in other if e.arxiv_id and e.arxiv_id not in known and is_real_title(e.title)]
    if extra:
        missing = {e.arxiv_id for e in extra}
        primary = [e for e in primary if not (e.arxiv_id in missing and not is_real_title(e.title))]
    return primary + extra


def _titled(entries: Sequence[CuratedEntry]) -> int:
    return len({e.arxiv_id for e in entries if e.arxiv_id and is_real_title(e.title)})


def _parse_links(markdown: str, source: str) -> list[CuratedEntry]:
    """The link-entry reader: the three shapes of the module docstring."""
    tokens = MarkdownIt("commonmark").parse(markdown)
    walk = _Walk()
    for index, token in enumerate(tokens):
        if token.type.endswith("list_open") or token.type == "blockquote_open":
            walk.depth[token.type.split("_")[0]] += 1
        elif token.type.endswith("list_close") or token.type == "blockquote_close":
            walk.depth[token.type.split("_")[0]] -= 1
        _visit(tokens, index, token, walk)
    return [_finish(draft, source) for draft in walk.drafts]


def _visit(tokens: Sequence[Token], index: int, token: Token, walk: _Walk) -> None:
    if token.type == "heading_open":
        _enter_heading(walk, int(token.tag[1]), _plain(tokens[index + 1]))
    elif token.type == "bullet_list_open" and walk.depth["bullet"] == 1:
        group = _group_line(tokens, index)
        if group is not None:
            walk.group, walk.open = group, None
    elif token.type == "inline" and tokens[index - 1].type == "paragraph_open":
        if walk.depth["blockquote"]:
            _add_notes(walk, _plain(token))
        else:
            _paragraph(walk, token, in_list=walk.in_list)
    elif token.type == "html_block" and listblocks.html_heading(token.content):
        level, title = listblocks.html_heading(token.content) or (1, "")
        _enter_heading(walk, level, title)
    elif token.type == "html_block":
        _add_notes(walk, token.content)


def _enter_heading(walk: _Walk, level: int, title: str) -> None:
    while walk.headings and walk.headings[-1][0] >= level:
        walk.headings.pop()
    walk.headings.append((level, title.strip()))
    walk.group, walk.open = None, None


def _paragraph(walk: _Walk, token: Token, *, in_list: bool) -> None:
    lines = list(_lines(token))
    for position, line in enumerate(lines):
        numbered = _NUMBERED.match(line.raw)
        if numbered and not in_list:
            _start(walk, _Draft(title=numbered["name"].strip(), section=walk.section))
        elif _is_notes(line):
            _add_notes(walk, line.text)
        elif not _link_entry(walk, line, in_list=in_list):
            _plain_line(walk, lines, position, in_list=in_list)


def _link_entry(walk: _Walk, line: _Line, *, in_list: bool) -> bool:
    """Start an entry at the line's first paper link; attach its other links."""
    # "htps://arxiv.org/..." occurs in a real list: any scheme counts as a web link.
    links = [(t, h) for t, h in line.links if _SCHEME.match(h)]
    titled = [(t, h) for t, h in links if _names_paper(t, h)]
    if not titled:
        if links and walk.open is not None:
            walk.open.urls.extend(h for _, h in links)
            _cite(walk.open, line)
        return bool(links)
    text, href = titled[0]
    draft = _Draft(title=text, section=walk.section, urls=[href])
    draft.urls.extend(h for _, h in links if h != href)
    _kbd(draft, line.raw)
    _start(walk, draft)
    return True


def _plain_line(walk: _Walk, lines: Sequence[_Line], position: int, *, in_list: bool) -> None:
    """A bare title above a bare URL is an entry; a citation line feeds the open entry."""
    line = lines[position]
    url = _URL_LINE.match(line.text)
    if url:
        previous = lines[position - 1] if position else None
        if previous is not None and not previous.links and not _URL_LINE.match(previous.text):
            _start(walk, _Draft(title=previous.text.strip(), section=walk.section))
        if walk.open is not None:
            walk.open.urls.append(url.group(1))
    elif in_list and walk.open is not None:
        _cite(walk.open, line)


def _cite(draft: _Draft, line: _Line) -> None:
    """Read a citation line: arXiv:ID, the quoted title, the year."""
    if not line.text.strip() or line.text.strip() in {t for t, _ in line.links}:
        return
    cited = _TEXT_ID.search(line.text)
    if cited and draft.cited_id is None:
        draft.cited_id = cited.group("id")
    quoted = _QUOTED_TITLE.search(line.text)
    if quoted:
        draft.title = f"{draft.title}: {quoted['t'].strip().rstrip('.,')}"
    year = _CITED_YEAR.search(line.text)
    if year and draft.year is None:
        draft.year = int(re.sub(r"\D", "", year.group(0))[:4])
    draft.text.append(line.text.strip())


def _start(walk: _Walk, draft: _Draft) -> None:
    walk.drafts.append(draft)
    walk.open = draft


def _add_notes(walk: _Walk, content: str) -> None:
    text = " ".join(html.unescape(_TAG.sub(" ", content)).split())
    if walk.open is not None and text and not text.startswith("<!"):
        walk.open.text.append(text)


def _is_notes(line: _Line) -> bool:
    """An inline abstract (`<sub>`, `<sup>`) or an italic note line."""
    raw = line.raw.strip()
    return raw.startswith(("<sub>", "<sup>")) or (
        raw.startswith("*") and raw.endswith("*") and len(raw) > 30 and not line.links
    )


def _names_paper(text: str, href: str) -> bool:
    words = re.sub(r"[^a-z ]", "", text.lower()).strip()
    if not words or words in _DECORATIONS or href.startswith("#"):
        return False
    host = urlsplit(href).netloc.lower()
    return bool(host) and not any(host.endswith(h) for h in _RESOURCE_HOSTS)


def _kbd(draft: _Draft, raw: str) -> None:
    match = _KBD.search(raw)
    if not match:
        return
    value = match.group(1).strip()
    year = re.search(r"(?:19|20)\d\d", value)
    if year:
        draft.year = int(year.group(0))
    venue = re.sub(r"(?:19|20)\d\d", "", value).strip()
    draft.venue = venue or None


def _finish(draft: _Draft, source: str) -> CuratedEntry:
    title, year = _clean_title(draft.title)
    arxiv_id = next((i for i in map(url_id, draft.urls) if i), None) or draft.cited_id
    return CuratedEntry(
        title=title,
        source=source,
        urls=tuple(dict.fromkeys(draft.urls)),
        arxiv_id=arxiv_id,
        year=draft.year or year,
        venue=draft.venue,
        section=draft.section,
        text=" ".join(draft.text),
    )


def _clean_title(raw: str) -> tuple[str, int | None]:
    """Drop the year prefix, the bold tag and the "(2018)" suffix; keep the tag's name."""
    title, year = raw.strip(), None
    prefix = _YEAR_PREFIX.match(title)
    if prefix:
        year, title = int(prefix.group(1)), title[prefix.end() :]
    suffix = _YEAR_SUFFIX.search(title)
    if suffix:
        year, title = year or int(suffix.group(1)), title[: suffix.start()]
    tag = _BOLD_TAG.match(title)
    if tag:
        rest = title[tag.end() :].strip()
        title = f"{tag.group(1)}: {rest}" if rest else tag.group(1)
    title = " ".join(title.replace("**", "").split()).strip(" -:")
    return title, year


def _group_line(tokens: Sequence[Token], index: int) -> str | None:
    """The plain line right above a top-level bullet list, if the paragraph has no links."""
    if index < 3 or tokens[index - 1].type != "paragraph_close":
        return None
    inline = tokens[index - 2]
    if inline.type != "inline" or any(c.type == "link_open" for c in inline.children or []):
        return None
    if _NUMBERED.match(inline.content.splitlines()[-1]):
        return None
    last = _plain(inline).strip().splitlines()[-1:] or [""]
    text = _TAG.sub("", last[0]).strip(" *_-:")
    return text if 0 < len(text) <= 120 else None


def _lines(token: Token) -> Iterator[_Line]:
    """Split an inline token at its line breaks, keeping each line's links."""
    raw_lines = token.content.split("\n")
    text: list[str] = []
    links: list[tuple[str, str]] = []
    link: tuple[list[str], str] | None = None
    number = 0
    for child in token.children or []:
        if child.type in ("softbreak", "hardbreak"):
            yield _Line("".join(text), raw_lines[min(number, len(raw_lines) - 1)], links)
            text, links, number = [], [], number + 1
        elif child.type == "link_open":
            link = ([], str(child.attrs.get("href", "")))
        elif child.type == "link_close" and link is not None:
            links.append(("".join(link[0]).strip(), link[1]))
            link = None
        elif child.type in ("text", "code_inline"):
            text.append(child.content)
            if link is not None:
                link[0].append(child.content)
        elif child.type in ("strong_open", "strong_close") and link is not None:
            link[0].append("**")
        elif child.type == "html_inline":
            text.append(" ")
    yield _Line("".join(text), raw_lines[min(number, len(raw_lines) - 1)], links)


def _plain(token: Token) -> str:
    """The text of an inline token, breaks kept as newlines, markup dropped."""
    return "\n".join(line.text for line in _lines(token)) if token.children else token.content


def with_source(entries: Sequence[CuratedEntry], source: str) -> list[CuratedEntry]:
    """The same entries credited to another source name (e.g. a URL rather than a path)."""
    return [replace(entry, source=source) for entry in entries]
