"""Slack Block Kit blocks for a digest: untrusted text as rich_text, never as mrkdwn.

Slack's mrkdwn has escapes for `&`, `<` and `>` only (`&amp;`, `&lt;`, `&gt;`); it has
none for `*`, `_`, `~`, `` ` `` or a leading `>`, so a title like "Fast *and* _robust_"
would turn bold and italic and could end the bold around it. Every string that comes
from a feed, a curated list or the configuration (titles, authors, categories, reasons,
profile titles, badges) is therefore put in a `rich_text` block as a `text` or `link`
element: Slack shows those elements' text verbatim, and bold, italics, code and links
are element styles, not characters in the text. mrkdwn is kept for our own sentences
(the summary, the footer, the empty-digest line), still escaped.

Limits kept here: 3,000 characters of text a block, 150 a header; and `split` groups
blocks into messages of at most 50 blocks and MAX_MESSAGE_BYTES of blocks. That last
limit is Slack's `msg_blocks_too_long`, which its block reference does not document:
bolt-js issue #2509 measured refusals from about 13,200 characters of blocks in one
message (fewer once dividers were added, so the block containers count, not only the
text), and bolt-js #2867 saw a message refused at 11,341 characters of text alone. What
Slack counts is not known, so we count more than any reading of it: the UTF-8 bytes of
the blocks as compact JSON (every text, URL, key and bracket; a non-ASCII character as
2 to 4 bytes), and keep that under 12,000, about 10% below #2509's figure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from arxivwatch.titles import cut

if TYPE_CHECKING:
    from arxivwatch.render import ItemView

MAX_BLOCKS = 50
MAX_MESSAGE_BYTES = 12_000  # UTF-8 bytes of a message's blocks as compact JSON (see above)
MAX_TEXT = 3000
MAX_HEADER = 150
# With render's MAX_TITLE and MAX_REASONS these keep a paper's block far below MAX_TEXT.
MAX_META = 600
MAX_BADGES = 400
Block = dict[str, Any]
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # compact; kept: built once


def header(text: str) -> Block:
    """A header block of plain text (cut to MAX_HEADER characters)."""
    return {"type": "header", "text": {"type": "plain_text", "text": cut(text, MAX_HEADER), "emoji": False}}


def divider() -> Block:
    """A divider block."""
    return {"type": "divider"}


def note(text: str) -> Block:
    """A section block of our own sentence `text`, escaped for mrkdwn."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": cut(mrkdwn_escape(text), MAX_TEXT)}}


def small_print(text: str) -> Block:
    """A context block (small grey text) of our own sentence `text`, escaped for mrkdwn."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(mrkdwn_escape(text), MAX_TEXT)}]}


def profile_heading(title: str, count: str) -> Block:
    """A profile's heading, its title in bold: "*Medical imaging* (3 papers)"."""
    return _rich([_text(title, bold=True), _text(f" ({count})")])


def paper(item: ItemView) -> Block:
    """One paper: rank, bold title linked to its abs page, score, flags; then authors and
    categories, the profiles it also matches, why it was picked, and abs and pdf links.
    Each line's strings are text elements, shown as written."""
    elements = [_text(f"{item.rank}. "), _link(item.abs_url, item.title, bold=True), _text("  ")]
    elements.append(_text(item.score, code=True))
    for flag in ("updated" if item.updated else "", item.late):
        if flag:
            elements += [_text("  "), _text(flag, italic=True)]
    meta = " · ".join(x for x in (item.authors, item.categories) if x)
    if meta:
        elements.append(_text("\n" + cut(meta, MAX_META)))
    if item.badges:
        elements.append(_text("\nalso matches: " + cut(", ".join(item.badges), MAX_BADGES)))
    if item.reasons:
        elements += [_text("\n"), _text("why:", italic=True), _text(" " + item.reasons)]
    elements += [_text("\n"), _link(item.abs_url, "abs"), _text(" · "), _link(item.pdf_url, "pdf")]
    return _rich(elements)


def split(units: Iterable[list[Block]]) -> list[list[Block]]:
    """The blocks of `units` as messages, in order: each message whole units, at most
    MAX_BLOCKS blocks and MAX_MESSAGE_BYTES bytes (`size`). A unit (a paper, or a profile's
    heading with its first paper) is never split; one over a limit alone gets a message of
    its own (render's caps keep every unit far below both)."""
    messages: list[list[Block]] = []
    blocks = weight = 0  # of the last message; weight is its `size` less the closing "]"
    for unit in units:
        unit_weight = len(_JSON.encode(unit).encode()) - 1  # its blocks, each with its "[" or ","
        if not messages or blocks + len(unit) > MAX_BLOCKS or weight + unit_weight + 1 > MAX_MESSAGE_BYTES:
            messages.append([])
            blocks = weight = 0
        messages[-1].extend(unit)
        blocks += len(unit)
        weight += unit_weight
    return messages


def size(blocks: list[Block]) -> int:
    """UTF-8 bytes of `blocks` as compact JSON: what MAX_MESSAGE_BYTES bounds."""
    return len(_JSON.encode(blocks).encode())


def text_length(block: Block) -> int:
    """Characters of text in `block`: its text object's, or its rich text elements'."""
    if block["type"] == "rich_text":
        return sum(len(e.get("text", "")) for s in block["elements"] for e in s["elements"])
    return len(block.get("text", {}).get("text", ""))


def mrkdwn_escape(text: str) -> str:
    """`text` with Slack's three control characters escaped, so `<!channel>` stays text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rich(elements: list[Block]) -> Block:
    return {"type": "rich_text", "elements": [{"type": "rich_text_section", "elements": elements}]}


def _text(text: str, *, bold: bool = False, italic: bool = False, code: bool = False) -> Block:
    element: Block = {"type": "text", "text": text}
    style = {k: True for k, on in (("bold", bold), ("italic", italic), ("code", code)) if on}
    if style:
        element["style"] = style
    return element


def _link(url: str, text: str, *, bold: bool = False) -> Block:
    element: Block = {"type": "link", "url": url, "text": text or url}
    if bold:
        element["style"] = {"bold": True}
    return element
