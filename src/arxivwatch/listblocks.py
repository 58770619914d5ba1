"""The blocks of a curated list as styled text: list items, table rows, paragraphs, HTML elements.

markdown-it-py (CommonMark with GFM tables enabled) gives the markdown structure and the
standard library's html.parser reads inline and block HTML (`<a href>`, `<strong>`, `<br>`,
`<p>`, `<tr>`/`<td>`, `<li>`, `<details>`). A Block is the smallest container an entry
lives in, as a flat run of Spans: text with its link, bold/italic state, table cell and
source line. Which span is the title is decided elsewhere (listentries).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal

from markdown_it import MarkdownIt
from markdown_it.token import Token

# markdown-it-py logs every block rule it tries at DEBUG: `-v` must show our lines, not those.
logging.getLogger("markdown_it").setLevel(logging.INFO)

Kind = Literal["item", "paragraph", "row", "html"]

_HTML_BLOCKS = frozenset(
    ("p", "div", "li", "ul", "ol", "table", "details", "summary", "blockquote", "h1", "h2", "h3", "h4")
)
_HTML_HEADING = re.compile(r"^\s*<h(?P<level>[1-6])\b[^>]*>(?P<body>.*?)</h(?P=level)\s*>\s*$", re.I | re.S)
_BOLD = frozenset(("strong", "b"))
_ITALIC = frozenset(("em", "i"))


@dataclass(frozen=True)
class Span:
    """A run of text in one style; `line` is 1-based in the source, `cell` -1 outside tables."""

    text: str
    href: str | None = None
    bold: bool = False
    italic: bool = False
    line: int = 0
    cell: int = -1
    title: str | None = None  # an HTML link's title attribute

    @property
    def is_break(self) -> bool:
        return self.text == "\n" and self.href is None


@dataclass
class Block:
    """One container of the document: its kind, heading path, spans and first line."""

    kind: Kind
    section: tuple[str, ...]
    line: int
    spans: list[Span] = field(default_factory=list)
    header: tuple[str, ...] = ()  # a table row's column names

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


class _Styled:
    """The inline style state (open link, bold, italic, cell) and the spans it produced."""

    def __init__(self, spans: list[Span], line: int, cell: int = -1) -> None:
        self.spans, self.line, self.cell = spans, line, cell
        self.bold = self.italic = 0
        self.link: tuple[str, str | None] | None = None

    def add(self, text: str) -> None:
        if text:
            href, title = self.link if self.link else (None, None)
            span = Span(text, href, self.bold > 0, self.italic > 0, self.line, self.cell, title)
            self.spans.append(span)

    def newline(self) -> None:
        self.spans.append(Span("\n", line=self.line, cell=self.cell))
        self.line += 1

    def tag(self, name: str, attrs: Sequence[tuple[str, str | None]], *, end: bool) -> None:
        """Apply an inline HTML tag's effect (links, bold, italic, line breaks)."""
        step = -1 if end else 1
        if name in _BOLD:
            self.bold = max(0, self.bold + step)
        elif name in _ITALIC:
            self.italic = max(0, self.italic + step)
        elif name == "a":
            values = dict(attrs)
            self.link = None if end or not values.get("href") else (values["href"] or "", values.get("title"))
            if self.link:
                self.spans.append(Span("", self.link[0], line=self.line, cell=self.cell, title=self.link[1]))
        elif name == "br" or (name in _HTML_BLOCKS and end):
            self.newline()


class _Html(HTMLParser):
    """Feeds HTML into a _Styled; in block mode, block-level tags start a new Block."""

    def __init__(self, styled: _Styled, on_block: Callable[[str, bool], None] | None = None) -> None:
        super().__init__(convert_charrefs=True)
        self.styled, self.on_block = styled, on_block
        self.base = styled.line

    def _sync(self) -> None:
        if self.on_block is not None:
            self.styled.line = self.base + self.getpos()[0] - 1

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._sync()
        if self.on_block is not None and (tag in _HTML_BLOCKS or tag in ("tr", "td", "th")):
            self.on_block(tag, False)
        self.styled.tag(tag, attrs, end=False)

    def handle_endtag(self, tag: str) -> None:
        self._sync()
        self.styled.tag(tag, [], end=True)
        if self.on_block is not None and (tag in _HTML_BLOCKS or tag == "tr"):
            self.on_block(tag, True)

    def handle_data(self, data: str) -> None:
        self._sync()
        self.styled.add(" ".join(data.split()) and data.replace("\n", " "))


@dataclass
class _Walk:
    headings: list[tuple[int, str]] = field(default_factory=list)
    out: list[Block] = field(default_factory=list)
    items: list[Block] = field(default_factory=list)
    row: Block | None = None
    header: list[str] = field(default_factory=list)
    cell: int = -1

    @property
    def section(self) -> tuple[str, ...]:
        return tuple(title for _, title in self.headings)

    def block(self, kind: Kind, line: int) -> Block:
        block = Block(kind, self.section, line)
        self.out.append(block)
        return block


def blocks(markdown: str) -> list[Block]:
    """The document's blocks in order: list items (own paragraphs only), table rows, paragraphs,
    HTML elements. A heading updates the section of the blocks after it."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    walk = _Walk()
    for index, token in enumerate(tokens):
        line = token.map[0] + 1 if token.map else 0
        heading = html_heading(token.content) if token.type == "html_block" else None
        if token.type == "heading_open" or heading:
            level, title = heading or (int(token.tag[1]), _plain(tokens[index + 1]))
            while walk.headings and walk.headings[-1][0] >= level:
                walk.headings.pop()
            walk.headings.append((level, title))
        elif token.type == "list_item_open":
            walk.items.append(walk.block("item", line))
        elif token.type == "list_item_close":
            walk.items.pop()
        elif token.type == "tr_open":
            walk.row, walk.cell = Block("row", walk.section, line, header=tuple(walk.header)), -1
        elif token.type == "thead_open":
            walk.header = []
        elif token.type in ("td_open", "th_open"):
            walk.cell += 1
        elif token.type == "tr_close" and walk.row is not None:
            if walk.row.spans:
                walk.out.append(walk.row)
            walk.row = None
        elif token.type == "inline" and index and tokens[index - 1].type == "th_open":
            walk.header.append(_plain(token))
        elif token.type == "inline" and index and tokens[index - 1].type == "td_open" and walk.row:
            _inline(token, walk.row.spans, line or walk.row.line, walk.cell)
        elif token.type == "inline" and index and tokens[index - 1].type == "paragraph_open":
            _paragraph(walk, token, line)
        elif token.type == "html_block":
            _html_block(walk, token.content, line)
    return walk.out


def html_heading(content: str) -> tuple[int, str] | None:
    """An HTML block that is one heading (`<h2 align="center">Title</h2>`): its level and text."""
    match = _HTML_HEADING.match(content)
    if not match:
        return None
    spans: list[Span] = []
    reader = _Html(_Styled(spans, 0))
    reader.feed(match["body"])
    reader.close()
    text = " ".join("".join(span.text for span in spans).split())
    return (int(match["level"]), text) if text else None


def _paragraph(walk: _Walk, token: Token, line: int) -> None:
    if walk.items:
        target = walk.items[-1]
        if target.spans:
            target.spans.append(Span("\n", line=line))
    else:
        target = walk.block("paragraph", line)
    _inline(token, target.spans, line)


def _inline(token: Token, spans: list[Span], line: int, cell: int = -1) -> None:
    """An inline token's children as spans (links, emphasis, inline HTML, breaks)."""
    styled = _Styled(spans, line, cell)
    html = _Html(styled)
    for child in token.children or []:
        kind = child.type
        if kind in ("text", "code_inline"):
            styled.add(child.content)
        elif kind in ("softbreak", "hardbreak"):
            styled.newline()
        elif kind == "link_open":
            title = child.attrs.get("title")
            styled.link = (str(child.attrs.get("href", "")), str(title) if title else None)
            spans.append(Span("", styled.link[0], line=styled.line, cell=cell, title=styled.link[1]))
        elif kind == "link_close":
            styled.link = None
        elif kind in ("strong_open", "strong_close"):
            styled.bold = max(0, styled.bold + (1 if kind.endswith("open") else -1))
        elif kind in ("em_open", "em_close"):
            styled.italic = max(0, styled.italic + (1 if kind.endswith("open") else -1))
        elif kind == "html_inline":
            html.feed(child.content)
    html.close()


@dataclass
class _Row:
    open: bool = False
    head: bool = False
    cell: int = -1


def _html_block(walk: _Walk, content: str, line: int) -> None:
    """An HTML block split at its block-level elements; `<tr>` rows become row blocks."""
    header: list[str] = []
    row = _Row()
    styled = _Styled([], line)
    start = [line]

    def flush() -> None:
        if any(span.text.strip() for span in styled.spans):
            if row.open and row.head:
                header[:] = _cells(styled.spans)
            else:
                kind: Kind = "row" if row.open else "html"
                names = tuple(header) if row.open else ()
                walk.out.append(Block(kind, walk.section, start[0], styled.spans, names))
        styled.spans = []
        start[0] = styled.line

    def on_block(tag: str, end: bool) -> None:
        if tag in ("td", "th"):
            if not end:
                row.cell += 1
                row.head = row.head or tag == "th"
                styled.cell = row.cell
            return
        if row.open and tag != "tr":
            return  # block elements inside a cell do not split the row
        flush()
        if tag == "tr":
            row.open, row.head, row.cell, styled.cell = not end, False, -1, -1

    reader = _Html(styled, on_block)
    reader.feed(content)
    reader.close()
    flush()


def _cells(spans: Sequence[Span]) -> list[str]:
    cells: dict[int, list[str]] = {}
    for span in spans:
        if span.cell >= 0:
            cells.setdefault(span.cell, []).append(span.text)
    return [" ".join("".join(parts).split()) for _, parts in sorted(cells.items())]


def _plain(token: Token) -> str:
    """An inline token's text with markup dropped."""
    spans: list[Span] = []
    _inline(token, spans, 0)
    return " ".join("".join(s.text for s in spans).split())
