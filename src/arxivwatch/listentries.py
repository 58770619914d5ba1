"""Entries from blocks: which link is the paper, which span is its title.

Our own rules, for what no library knows. A block (list item, table row, paragraph,
HTML element) that names an arXiv id or links a paper page is one entry; the title is,
in order of preference: the title column of a table row; a bold or italic link whose text
is a title; a bold span that is a title (`**Title**`, `"**Title**."`); any link whose
text is a title; a link's title attribute; the first sentence of a plain citation
(`Title. Authors. arXiv:ID`). A block with an id but no title (`- arxiv: URL` under a
`**Title**` line, "Papers with Code" style) takes the bold title line above it. A title is
never a decoration ("arXiv", "paper", "[pdf]", "code"), a venue ("CVPR 2025") or a URL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from arxivwatch.arxiv_ids import BARE_URL, text_ids, url_id
from arxivwatch.listblocks import Block, Span
from arxivwatch.listtitles import AUTHORS, DECORATIONS, SENTENCE, YEAR_AFTER, clean_title, is_real_title
from arxivwatch.models import CuratedEntry

# Keys of "Papers with Code" lines (`- intro: CVPR 2015`, `- arxiv: URL`): such a line is never a title.
_KEYS = DECORATIONS | frozenset(
    ["intro", "keywords", "keyword", "tags", "authors", "author", "venue", "arixv", "arcxiv", "published"]
)
# Hosts whose pages are a paper (so an entry without an arXiv id is still a paper entry).
PAPER_HOSTS = (
    "doi.org",
    "openreview.net",
    "thecvf.com",
    "papers.nips.cc",
    "proceedings.neurips.cc",
    "proceedings.mlr.press",
    "aclanthology.org",
    "ieeexplore.ieee.org",
    "dl.acm.org",
    "link.springer.com",
    "sciencedirect.com",
    "nature.com",
    "ojs.aaai.org",
    "ijcai.org",
    "semanticscholar.org",
    "researchgate.net",
    "biorxiv.org",
    "medrxiv.org",
)
_TITLE_COLUMNS = ("title", "paper", "name", "model", "method")
_KEY_VALUE = re.compile(r"^[^:]{1,30}:\s*(?:\S+://\S*|none|n/a|-)?\s*$", re.IGNORECASE)


@dataclass
class _Open:
    """The entry a title line above opened, which later id blocks fill in."""

    title: str
    section: tuple[str, ...]
    draft: _Draft | None = None
    plain: bool = False  # not bold: it titles key lines (`Paper: URL`) only, not a list of links


@dataclass
class _Draft:
    """An entry being assembled: its title, section path, links, arXiv ids and notes."""

    title: str
    section: tuple[str, ...]
    urls: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    text: str = ""


LOOKED_FOR = (
    "list items, table rows, paragraphs and HTML elements that link a paper (arxiv.org abs/pdf/html, "
    "huggingface.co/papers, alphaxiv.org, doi.org, openreview.net, thecvf.com, ...) or cite arXiv:ID, "
    "with a title in a link, bold text, a table's title column or a citation's first sentence"
)


@dataclass(frozen=True)
class ListReading:
    """One list read: its entries, and the lines that mention a paper but gave no entry.

    `skipped` holds 1-based line numbers of lines naming an arXiv id, or linking a paper
    page (doi.org, openreview.net, CVF, ...), none of whose ids or paper links is in an entry.
    """

    entries: tuple[CuratedEntry, ...]
    skipped: tuple[int, ...]
    mentioned: frozenset[str] = frozenset()  # every arXiv id the text names

    @property
    def recovered(self) -> frozenset[str]:
        """The mentioned ids that some entry carries."""
        return self.mentioned & {e.arxiv_id for e in self.entries if e.arxiv_id}

    @property
    def with_id(self) -> int:
        return sum(1 for e in self.entries if e.arxiv_id)

    def summary(self, *, verbose: bool = False) -> str:
        """One line: entries, with and without an arXiv id, lines skipped (their numbers if verbose)."""
        line = (
            f"{len(self.entries)} entries: {self.with_id} with an arXiv id, "
            f"{len(self.entries) - self.with_id} without (title only); "
            f"{len(self.skipped)} {'line mentions' if len(self.skipped) == 1 else 'lines mention'} "
            "a paper link or an arXiv id but gave no entry"
        )
        if self.skipped and verbose:
            return f"{line}: lines {', '.join(map(str, self.skipped))}"
        return line + (" (-v lists them)" if self.skipped else "")


def skipped_lines(markdown: str, entries: Sequence[CuratedEntry]) -> list[int]:
    """1-based numbers of the lines naming an arXiv id or linking a paper page, none of whose ids
    or paper links is in `entries`."""
    ids = {e.arxiv_id for e in entries if e.arxiv_id}
    urls = {u for e in entries for u in e.urls}
    skipped = []
    for number, line in enumerate(markdown.splitlines(), 1):
        named = set(text_ids(line))
        links = [u.rstrip(".,;)") for u in BARE_URL.findall(line)]
        papers = [u for u in links if paper_host(u)]
        named |= {i for i in map(url_id, links) if i}
        if (named or papers) and not (named & ids) and not any(u in urls for u in papers):
            skipped.append(number)
    return skipped


def read(blocks: Sequence[Block], source: str) -> list[CuratedEntry]:
    """Every paper entry of the blocks: one per block naming a paper, titled by the rules above."""
    drafts: list[_Draft] = []
    pending: _Open | None = None
    section: tuple[str, ...] = ()
    group: tuple[tuple[str, ...], str] | None = None  # a table's group row: (its header, its label)
    for block in blocks:
        if block.section != section:
            section, pending = block.section, None
        label = _group_row(block)
        if label is not None:
            group = (block.header, label)
            continue
        if group is not None and (block.kind != "row" or block.header != group[0]):
            group = None
        if group is not None:
            block = replace(block, section=(*block.section, group[1]))
        for part in _split(block):
            urls = _urls(part)
            ids = list(dict.fromkeys([i for i in map(url_id, urls) if i] + text_ids(_text(part))))
            paper = ids or any(paper_host(u) for u in urls)
            title = _title(part, block)
            if not paper:
                line = _title_line(part)
                plain = None if line or block.kind != "paragraph" else _title_line(part, plain=True)
                if line or plain:
                    pending = _Open(line or plain or "", block.section, plain=plain is not None)
                elif block.kind != "item" and _text(part).strip():
                    pending = None  # other text came between: the title above is not this id's
                continue
            if pending is not None and pending.plain and not _is_key_line(" ".join(_text(part).split())):
                pending = None
            if title is None and pending is not None:
                known = pending.draft is not None and pending.draft.ids
                if pending.draft is None or (known and ids and ids[0] not in pending.draft.ids):
                    # a second arXiv id under one title (a journal version) is an entry of its own
                    pending.draft = _Draft(pending.title, pending.section)
                    drafts.append(pending.draft)
                pending.draft.urls.extend(urls)
                pending.draft.ids.extend(ids)
                continue
            if title is None:
                continue
            pending = None
            drafts.append(_Draft(title, block.section, urls, ids, _notes(part, title)))
    return [_entry(d, source) for d in drafts]


def _entry(draft: _Draft, source: str) -> CuratedEntry:
    year = re.search(r"\b(19[5-9]\d|20[0-4]\d)\b", draft.text)
    return CuratedEntry(
        title=draft.title,
        source=source,
        urls=tuple(dict.fromkeys(draft.urls)),
        arxiv_id=draft.ids[0] if draft.ids else None,
        year=int(year.group(1)) if year else None,
        section=draft.section,
        text=draft.text,
    )


def _group_row(block: Block) -> str | None:
    """A table row that names a group of the rows below (one filled cell, no link), or None."""
    if block.kind != "row" or any(span.href for span in block.spans):
        return None
    cells = {span.cell for span in block.spans if span.text.strip()}
    text = clean_title(_text(block.spans))
    return text if len(cells) == 1 and 0 < len(text) <= 80 and len(block.header) > 1 else None


def _split(block: Block) -> list[list[Span]]:
    """The block, or its lines when two or more lines each name their own arXiv id."""
    lines: list[list[Span]] = [[]]
    for span in block.spans:
        if span.is_break and block.kind != "row":
            lines.append([])
        else:
            lines[-1].append(span)
    named = [line for line in lines if _ids(line)]
    distinct = {tuple(_ids(line)) for line in named}
    if len(named) >= 2 and len(distinct) == len(named) and all(_title(line, block) for line in named):
        return named
    # an empty span with a link is a link whose only content is an image (a badge): keep its href
    kept = [span for span in block.spans if span.text.strip() or span.is_break or span.href]
    return [kept] if block.spans else []


def _ids(spans: Sequence[Span]) -> list[str]:
    return [i for i in map(url_id, _urls(spans)) if i] + text_ids(_text(spans))


def _urls(spans: Sequence[Span]) -> list[str]:
    urls: list[str] = []
    for span in spans:
        if span.href and not span.href.startswith("#"):
            urls.append(span.href)
        elif not span.href:
            urls.extend(m.group(0).rstrip(".,;") for m in BARE_URL.finditer(span.text))
    return list(dict.fromkeys(urls))


def _text(spans: Sequence[Span]) -> str:
    return "".join(span.text for span in spans)


def paper_host(url: str) -> bool:
    """True when `url` is on a host whose pages are papers (PAPER_HOSTS)."""
    parts = urlsplit(url)
    host = parts.netloc.lower()
    if not host or not any(host == h or host.endswith("." + h) for h in PAPER_HOSTS):
        return False
    # a paper's page has an identifier in its path or query; a site's front page has none
    named = any(ch.isdigit() for ch in parts.path + parts.query) or "id=" in parts.query
    return named and "/media/" not in parts.path.lower()


def _title(spans: Sequence[Span], block: Block) -> str | None:
    """The paper's title in these spans by the rules of the module docstring, or None."""
    candidates: list[str] = []
    if block.kind == "row":
        candidates += _row_titles(spans, block.header)
    links = _runs(spans, lambda s: s.href)
    bold = _runs(spans, lambda s: s.bold)
    candidates += [t for t, first in links if first.bold or first.italic]
    candidates += [q for q in _quoted(spans) if len(q.split()) >= 2]
    candidates += [t for t, _ in bold]
    candidates += [t for t, _ in links]
    candidates += [s.title for s in spans if s.title]
    if block.kind != "row":
        candidates += _first_sentence(spans)
    for candidate in candidates:
        if candidate.strip().startswith("(") and candidate.strip().endswith(")"):
            continue  # a note in parentheses, `**(VGGNet)**`
        title = clean_title(candidate)
        if is_real_title(title):
            return title
    return None


def _runs(spans: Sequence[Span], key: Callable[[Span], object]) -> list[tuple[str, Span]]:
    """Consecutive spans sharing a truthy key (one link, one bold run): their text and first span."""
    runs: list[tuple[str, Span]] = []
    current: list[Span] = []
    for span in [*spans, Span("")]:
        value = key(span) if span.text else None
        if current and (not value or value != key(current[0])):
            runs.append(("".join(s.text for s in current), current[0]))
            current = []
        if value:
            current.append(span)
    return runs


def _row_titles(spans: Sequence[Span], header: Sequence[str]) -> list[str]:
    cells: dict[int, list[Span]] = {}
    for span in spans:
        cells.setdefault(span.cell, []).append(span)
    order = sorted(cells)
    names = [h.lower() for h in header]
    offset = len(names) - len(order)  # a rowspan cell above shortens the row from the left
    preferred = []
    for column in _TITLE_COLUMNS:
        for position, name in enumerate(names):
            if column in name.split() or name == column:
                index = position - offset if offset > 0 else position
                if 0 <= index < len(order):
                    preferred.append(order[index])
    chosen = list(dict.fromkeys(preferred)) + order
    texts: list[str] = []
    for cell in chosen:
        cell_spans = cells[cell]
        lines = "".join(s.text for s in cell_spans).split("\n")
        for line in (line.strip() for line in lines if line.strip()):
            end = SENTENCE.search(line)
            # a cell holding a plain citation (`Title. Authors. arXiv:ID`) offers its first sentence too
            texts.extend((line, line[: end.start()]) if end else (line,))
    return texts


def _quoted(spans: Sequence[Span]) -> list[str]:
    return [m.group(1) for m in re.finditer(r"[\"“]([^\"“”]{6,})[\"”]", _text(spans))]


def _first_sentence(spans: Sequence[Span]) -> list[str]:
    """The text before the first sentence end, links cut out: `Title. Authors. arXiv:ID`."""
    plain = "".join(s.text if not s.href else " " for s in spans).split("\n")
    for line in plain:
        text = line.strip()
        if not text or _KEY_VALUE.match(text) or _is_key_line(text):
            continue
        end = SENTENCE.search(text)
        while end and AUTHORS.search(YEAR_AFTER.sub("", text[: end.start()])):
            text = text[end.end() :]  # `Smith, J., Doe, K. (2019). Title. arXiv:ID`: the title follows
            end = SENTENCE.search(text)
        head = text[: end.start()] if end else re.split(r"\s\[|\s\(|arXiv", text)[0]
        return [head]
    return []


def _is_key_line(text: str) -> bool:
    """`intro: CVPR 2015`, `arxiv(PAMI 2016): URL`, `论文/Paper: URL`: a key, not a title."""
    key = text.split(":", 1)[0] if ":" in text else ""
    words = re.findall(r"[a-z]+", key.lower())
    return 0 < len(key) <= 25 and bool(words) and words[0] in _KEYS


def _title_line(spans: Sequence[Span], *, plain: bool = False) -> str | None:
    """A one-line, mostly bold, link-free block (`**Title**`) that can title the id blocks after it;
    with `plain`, a short one-line paragraph in any style (`*Title*`, `Title`) that is no sentence."""
    shown = [s for s in spans if s.text.strip()]
    if not shown or any(s.href for s in shown) or any(s.is_break for s in spans[:-1] if s.text):
        return None
    bold = sum(len(s.text.strip()) for s in shown if s.bold)
    text = _text(shown).strip()
    if bold < 0.8 * sum(len(s.text.strip()) for s in shown) and not (
        plain and len(text.split()) <= 30 and not SENTENCE.search(text.rstrip(".")) and not _is_key_line(text)
    ):
        return None
    title = clean_title(_text(shown))
    return title if is_real_title(title) and len(title.split()) >= 2 else None


def _notes(spans: Sequence[Span], title: str) -> str:
    text = " ".join(" ".join(s.text for s in spans if not s.is_break).split())
    return "" if text.strip(" .") == title else text
