"""Rendering a digest: golden files per format, escaping of untrusted text, Slack limits.

Regenerate the golden files after an intended change with
`ARXIVWATCH_REGEN_GOLDEN=1 pytest tests/test_render.py`, then review the diff.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from datetime import date
from html import unescape
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from arxivwatch import digest, render, slackblocks
from arxivwatch.models import Digest, DigestSection, Message, Paper, Profile, Score
from digest_samples import (
    PAPERS,
    PROFILES,
    SCORES,
    THRESHOLDS,
    TODAY,
    big_digest,
    empty_digest,
    maximal_digest,
    sample_digest,
)
from digest_samples import paper as make_paper
from slack_emulator import links, mrkdwn_texts, shown_text

GOLDEN = Path(__file__).parent / "golden"
REGEN = os.environ.get("ARXIVWATCH_REGEN_GOLDEN") == "1"
EVIL_TITLE = "<script>alert(1)</script> <!channel> [click](javascript:alert(1)) `x` a|b & <b>"
EVIL_AUTHOR = '<img src=x onerror="alert(2)">'


def _formats(message: Message) -> dict[str, str]:
    slack = json.dumps(list(message.slack), indent=2, ensure_ascii=False) + "\n"
    return {
        "digest.html": message.html,
        "digest.txt": message.text,
        "digest.md": message.markdown,
        "slack.json": slack,
    }


def _check_golden(name: str, actual: str) -> None:
    path = GOLDEN / name
    if REGEN:
        path.parent.mkdir(exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert actual == path.read_text(encoding="utf-8"), f"{name} differs from {path}"


@pytest.mark.parametrize("name", ["digest.html", "digest.txt", "digest.md", "slack.json"])
def test_sample_digest_matches_golden_file(name: str) -> None:
    """Each format of the sample week renders exactly as its reviewed golden file."""
    _check_golden(name, _formats(render.render(sample_digest()))[name])


@pytest.mark.parametrize("name", ["digest.html", "digest.txt", "digest.md", "slack.json"])
def test_empty_digest_matches_golden_file(name: str) -> None:
    """An empty week renders the short "nothing matched your topics" message."""
    _check_golden(f"empty-{name}", _formats(render.render(empty_digest()))[name])


def _evil_digest() -> Digest:
    evil = make_paper(
        "2411.66666",
        EVIL_TITLE,
        authors=(EVIL_AUTHOR, "Mallory"),
        abstract="Abstract with <iframe src=//evil> and ](javascript:alert(3)) inside.",
        abs_url="javascript:alert(4)",
        pdf_url="https://arxiv.org/pdf/2411.66666)](javascript:alert(5)",
        categories=("cs.CV",),
    )
    scores = {"2411.66666": {"segmentation": SCORES["1505.04597"]["segmentation"]}}
    scores["2411.66666"] = {
        "segmentation": replace(
            SCORES["1505.04597"]["segmentation"], paper_id="2411.66666", reasons=("<b>x</b>",)
        )
    }
    start, end = digest.period_bounds("week", TODAY)
    return digest.select(
        [evil], scores, PROFILES, THRESHOLDS, period="week", start=start, end=end, channel="x"
    )


def test_html_escapes_untrusted_text() -> None:
    """Titles, authors and abstracts render as text in HTML, and links stay on arXiv."""
    html = render.render(_evil_digest()).html
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    hrefs = re.findall(r'href="([^"]*)"', html)
    assert hrefs and all(h.startswith("https://arxiv.org/") for h in hrefs)
    assert "https://arxiv.org/abs/2411.66666" in hrefs


def test_slack_shows_untrusted_text_verbatim_outside_mrkdwn() -> None:
    """`<!channel>`, `&`, `|` and `<b>` in a title are a link's literal text, in no mrkdwn object."""
    blocks = [b for p in render.render(_evil_digest()).slack for b in p["blocks"]]  # type: ignore[attr-defined]
    mrkdwn = "\n".join(mrkdwn_texts({"blocks": blocks}))
    assert "channel" not in mrkdwn and "script" not in mrkdwn and "img" not in mrkdwn
    paper_block = next(b for b in blocks if "2411.66666" in json.dumps(b))
    assert links(paper_block)[0] == ("https://arxiv.org/abs/2411.66666", EVIL_TITLE)
    assert EVIL_AUTHOR in shown_text(paper_block) and "why: <b>x</b>" in shown_text(paper_block)


def test_markdown_escapes_untrusted_text() -> None:
    """In markdown a title cannot become HTML, code or a link; only arXiv links remain."""
    md = render.render(_evil_digest()).markdown
    tokens = MarkdownIt("commonmark").parse(md)
    inline = [t for block in tokens for t in (block.children or [])]
    assert not [t for t in tokens if t.type == "html_block"]
    assert not [t for t in inline if t.type == "html_inline"]
    codes = [t.content for t in inline if t.type == "code_inline"]
    assert codes == []  # the title's `x` is text; the footer speaks to the reader, without code
    hrefs = {str(t.attrs["href"]) for t in inline if t.type == "link_open"}
    assert hrefs and all(h.startswith("https://arxiv.org/") for h in hrefs)
    assert not any(")" in h or " " in h for h in hrefs)  # the pdf URL could not break out


def test_markdown_keeps_long_rankings_in_one_list() -> None:
    """Items 10 and beyond stay inside the same ordered list (their lines are indented enough)."""
    tokens = MarkdownIt("commonmark").parse(render.render(big_digest(12)).markdown)
    assert [t.type for t in tokens].count("ordered_list_open") == 1
    assert [t.type for t in tokens].count("list_item_open") == 12


def test_subject_names_the_count_and_date_range() -> None:
    """Subjects read "arxivwatch: 5 papers, 22–28 Nov 2024", "1 paper, 28 Nov 2024", "no papers"."""
    assert render.render(sample_digest()).subject == "arxivwatch: 5 papers, 22\u201328 Nov 2024"
    assert render.subject(sample_digest(period="day")) == "arxivwatch: 5 papers, 28 Nov 2024"
    one = Digest("day", TODAY, TODAY, "email", sample_digest().sections[2:], scanned=1)
    assert render.subject(one) == "arxivwatch: 1 paper, 28 Nov 2024"
    assert render.subject(empty_digest()) == "arxivwatch: no papers, 22\u201328 Nov 2024"


@pytest.mark.parametrize(
    ("start", "end", "long", "short"),
    [
        (
            date(2024, 11, 29),
            date(2024, 12, 5),
            "29 November \u2013 5 December 2024",
            "29 Nov \u2013 5 Dec 2024",
        ),
        (
            date(2024, 12, 29),
            date(2025, 1, 4),
            "29 December 2024 \u2013 4 January 2025",
            "29 Dec 2024 \u2013 4 Jan 2025",
        ),
        (date(2024, 11, 28), date(2024, 11, 28), "Thursday 28 November 2024", "28 Nov 2024"),
    ],
)
def test_date_range_across_months_and_years(start: date, end: date, long: str, short: str) -> None:
    """A range across months or years names each month and year once, where it changes."""
    d = Digest("week" if start != end else "day", start, end, "email", (), scanned=1)
    assert render.date_range(d) == long
    assert render.date_range(d, short=True) == short


def test_header_and_footer_are_written_for_the_reader() -> None:
    """The header names the dates once; the footer has no backticks or configuration keys."""
    message = render.render(sample_digest())
    assert message.text.startswith("arxivwatch \u00b7 22\u201328 November 2024\n")
    assert message.text.count("2024") == 1  # the dates once, not a week number and an ISO range too
    for text in (message.text, message.html, message.markdown, json.dumps(message.slack)):
        assert "training.profiles" not in text and "arxivwatch.toml" not in text
        assert "arxivwatch train" not in text and "2024-11-22" not in text
    for text in (message.text, message.html, message.markdown):
        assert "`" not in text


def test_empty_digest_says_so_in_every_format() -> None:
    """The empty message names the period and the number of papers announced."""
    message = render.render(empty_digest(), send_empty=False)
    line = "Nothing matched your topics this week, of the 812 papers announced."
    assert line in message.text and line in message.html and line in message.markdown
    assert line in json.dumps(message.slack)


def test_user_templates_override_shipped_ones(tmp_path: Path) -> None:
    """A template in the user's folder replaces the shipped one of that name only."""
    (tmp_path / "digest.txt.j2").write_text("custom {{ count }} of {{ scanned }}\n")
    message = render.render(sample_digest(), templates_dir=tmp_path)
    assert message.text == "custom 5 of 6\n"
    assert message.html == render.render(sample_digest()).html


def test_an_edited_user_template_is_used_by_the_next_render(tmp_path: Path) -> None:
    """The kept template environment rereads a user's template once its file changed (a daemon
    running for weeks picks up an edit without a restart)."""
    template = tmp_path / "digest.txt.j2"
    template.write_text("first {{ count }}\n")
    assert render.render(sample_digest(), templates_dir=tmp_path).text == "first 5\n"
    template.write_text("second {{ count }}\n")
    os.utime(template, (template.stat().st_atime, template.stat().st_mtime + 2))
    assert render.render(sample_digest(), templates_dir=tmp_path).text == "second 5\n"


def test_html_styles_are_inlined_for_mail_clients() -> None:
    """CSS is inlined into style attributes; only the phone media query stays in <style>."""
    html = render.render(sample_digest()).html
    assert 'style="padding: 12px 16px;' in html
    assert html.count("<style") == 1 and "@media" in html


def test_long_unbroken_words_wrap_instead_of_widening_the_email() -> None:
    """Every paper cell may break a long word, so one unbroken title, name or "like:" cannot
    push the table past a 390 px phone screen (seen in headless Chromium)."""
    html = render.render(sample_digest()).html
    cells = re.findall(r'<td class="paper" style="([^"]*)"', html)
    assert cells and all("overflow-wrap: anywhere" in style for style in cells)


def test_long_author_lists_are_shortened() -> None:
    """Five or more authors show as the first three and "et al."."""
    assert render.short_authors(("A", "B", "C", "D", "E")) == "A, B, C et al."
    assert render.short_authors(("A", "B", "C", "D")) == "A, B, C, D"


def test_lead_keeps_the_first_sentences_of_the_abstract() -> None:
    """The lead is the first two sentences, cut near 320 characters at a word."""
    assert render.lead("One. Two two. Three.") == "One. Two two."
    long = render.lead("word " * 200)
    assert len(long) <= render.LEAD_CHARS and long.endswith("word…")


def test_large_digest_is_split_into_slack_messages_in_order() -> None:
    """A digest too big for one message becomes several payloads, each within 50 blocks and
    MAX_MESSAGE_BYTES of blocks, each with a numbered fallback text, the papers in rank order."""
    payloads = render.render(big_digest(60)).slack
    total = len(payloads)
    assert total == 4  # about 620 bytes a short paper: 17 to 21 papers a message
    assert all(len(p["blocks"]) <= 50 for p in payloads)  # type: ignore[arg-type]
    assert all(slackblocks.size(p["blocks"]) <= slackblocks.MAX_MESSAGE_BYTES for p in payloads)  # type: ignore[arg-type]
    assert [p["text"] for p in payloads] == [
        f"arxivwatch: 60 papers, 22\u201328 Nov 2024 ({n}/{total})" for n in range(1, total + 1)
    ]
    texts = [shown_text(b) for p in payloads for b in p["blocks"] if b["type"] == "rich_text"]  # type: ignore[attr-defined]
    ranks = [int(t.split(".")[0]) for t in texts if t[0].isdigit()]
    assert ranks == list(range(1, 61))


@pytest.mark.parametrize("first", range(14, 24))
def test_slack_split_keeps_a_profile_heading_with_its_first_paper(first: int) -> None:
    """Wherever the second profile starts (around the first message's end), no Slack message
    ends with a divider or a profile heading: the heading goes with its first paper."""
    items = big_digest(40).items
    other = replace(PROFILES[1], name="other", title="Other")
    sections = (
        DigestSection(PROFILES[0], items[:first]),
        DigestSection(other, tuple(replace(i, profile="other") for i in items[first:])),
    )
    payloads = render.slack_payloads(replace(big_digest(40), sections=sections))
    blocks = [p["blocks"] for p in payloads]
    assert len(blocks) > 1
    for message in blocks[:-1]:
        assert shown_text(message[-1])[0].isdigit(), "every message but the last ends with a paper"  # type: ignore[index]
    headings = [
        (m, i)
        for m, message in enumerate(blocks)
        for i, b in enumerate(message)
        if shown_text(b) == f"Other ({40 - first} papers)"
    ]  # type: ignore[arg-type]
    ((m, i),) = headings
    assert blocks[m][i - 1]["type"] == "divider" and shown_text(blocks[m][i + 1]).startswith("1. ")  # type: ignore[index]


def test_split_bounds_blocks_and_bytes_and_never_splits_a_unit() -> None:
    """slackblocks.split starts a new message before 50 blocks or MAX_MESSAGE_BYTES would be
    passed, keeps each unit whole, and gives a unit too big alone a message of its own."""
    divider = slackblocks.divider()
    assert [len(m) for m in slackblocks.split([[divider]] * 120)] == [50, 50, 20]
    assert [len(m) for m in slackblocks.split([[divider] * 3] * 20)] == [48, 12]
    budget = slackblocks.MAX_MESSAGE_BYTES
    # five one-block units: four of 2,400 bytes and one that makes the message exactly the
    # budget (the array's commas and brackets: 6 bytes)
    units = [[_note_of_bytes(2400)] for _ in range(4)] + [[_note_of_bytes(budget - 4 * 2400 - 6)]]
    (exact,) = slackblocks.split(units)
    assert slackblocks.size(exact) == budget
    over = slackblocks.split([*units[:4], [_note_of_bytes(budget - 4 * 2400 - 5)]])
    assert [len(m) for m in over] == [4, 1]
    pair = [_note_of_bytes(2400), _note_of_bytes(2400)]  # its first block would fit, the pair does not
    assert [len(m) for m in slackblocks.split([*units[:3], pair])] == [3, 2]
    huge = [_note_of_bytes(2900)] * 5  # over the budget alone: a message of its own, never split
    assert [len(m) for m in slackblocks.split([units[0], huge, units[0]])] == [1, 5, 1]


def _note_of_bytes(size: int) -> dict[str, object]:
    """A section block whose compact JSON is `size` bytes."""
    overhead = slackblocks.size([slackblocks.note("")]) - 2
    block = slackblocks.note("x" * (size - overhead))
    assert slackblocks.size([block]) == size + 2
    return block


@pytest.mark.parametrize("letter", ["x", "\u00e9", "\U0001d538"])
def test_every_slack_message_of_maximal_texts_fits_the_budget(letter: str) -> None:
    """Papers with every text at its cap (ASCII, 2-byte or 4-byte characters) and profile titles
    at theirs still fit: each message within MAX_MESSAGE_BYTES, each paper in one piece."""
    built = maximal_digest(12, letter)
    payloads = render.render(built).slack
    assert all(slackblocks.size(p["blocks"]) <= slackblocks.MAX_MESSAGE_BYTES for p in payloads)  # type: ignore[arg-type]
    papers = [b for p in payloads for b in p["blocks"] if shown_text(b).endswith("abs · pdf")]  # type: ignore[attr-defined]
    assert len(papers) == 12 and len(payloads) > 1


def test_slack_text_fields_stay_within_limits() -> None:
    """A huge title and reasons are cut so no text field passes 3,000 characters."""
    huge: Paper = make_paper("2411.77777", "T" * 5000, authors=("A",) * 300)
    scores = {huge.id: {"segmentation": replace(SCORES["1505.04597"]["segmentation"],
                                                paper_id=huge.id, reasons=("r" * 5000,))}}  # fmt: skip
    d = digest.select([huge], scores, PROFILES, THRESHOLDS, period="day", start=TODAY,
                      end=TODAY, channel="slack")  # fmt: skip
    blocks = [b for payload in render.render(d).slack for b in payload["blocks"]]  # type: ignore[attr-defined]
    assert any(b["type"] == "rich_text" for b in blocks)
    for block in blocks:
        limit = 150 if block["type"] == "header" else 3000
        assert slackblocks.text_length(block) <= limit


def test_reasons_group_terms_and_label_the_nearest_paper() -> None:
    """Terms join with commas and a "like:" reason follows after a semicolon."""
    assert render.format_reasons(("seg", "mask", "like: U-Net")) == "seg, mask; like: U-Net"


def test_unsafe_links_fall_back_to_arxiv() -> None:
    """A non-http link is replaced by the arXiv one, and parentheses are percent-encoded."""
    assert render.safe_url("javascript:x", "https://arxiv.org/abs/1") == "https://arxiv.org/abs/1"
    assert render.safe_url("https://a.org/x)(y", "f") == "https://a.org/x%29%28y"


def test_day_digest_labels_the_day() -> None:
    """A daily digest's header names the day rather than a week."""
    d = Digest("day", date(2024, 11, 28), date(2024, 11, 28), "email", (), scanned=3)
    message = render.render(d)
    assert "Nothing matched your topics today, of the 3 papers announced." in message.text
    assert message.text.startswith("arxivwatch \u00b7 Thursday 28 November 2024\n")


def test_day_without_an_announcement_says_why() -> None:
    """A day digest with nothing announced says why: a weekend or holiday, or not arrived yet."""
    d = Digest("day", date(2024, 11, 30), date(2024, 11, 30), "email", (), scanned=0)
    message = render.render(d)
    for text in (message.text, message.html, message.markdown, json.dumps(message.slack)):
        assert "arXiv announced no papers for Saturday 30 November 2024" in text
        assert "Saturdays, Sundays" in text and "not reached arxivwatch yet" in text


def test_week_with_nothing_arrived_speaks_to_the_reader() -> None:
    """An empty week with no paper stored tells readers later papers come next time, no operator talk."""
    d = Digest("week", date(2024, 11, 22), date(2024, 11, 28), "email", (), scanned=0)
    message = render.render(d)
    for text in (message.text, message.html, message.markdown, json.dumps(message.slack)):
        assert "have reached arxivwatch yet; any that arrive later will be in the next digest" in text
        assert "poll" not in text and "fetched" not in text, text


def test_samples_are_real_papers() -> None:
    """The golden digest is built from real arXiv titles (a guard on the fixtures)."""
    titles = {p.title for p in PAPERS}
    assert "U-Net: Convolutional Networks for Biomedical Image Segmentation" in titles


def test_a_late_paper_is_marked_in_every_format() -> None:
    """A daily digest's papers announced on earlier days carry "announced Nov 25, arrived late" everywhere."""
    day = sample_digest(period="day")
    late = sorted(i.paper.id for i in day.items if i.late)
    assert len(late) == 3
    message = render.render(day)
    slack_text = json.dumps(message.slack)
    for text in (message.text, message.html, message.markdown, slack_text):
        assert text.count("arrived late") == 3
        assert "announced Nov 25, arrived late" in text
    week = render.render(sample_digest())
    assert "arrived late" not in week.text + week.html + week.markdown + json.dumps(week.slack)


def test_a_late_paper_of_last_year_names_the_year() -> None:
    """In a January digest a paper announced in December arrived late says "Dec 30 2025"; one of
    this year does not repeat the year."""
    from dataclasses import replace

    day = sample_digest(period="day")
    moved = replace(day, start=date(2026, 1, 2), end=date(2026, 1, 2))
    items = [i for i in moved.items if i.late]
    old = replace(items[0], paper=replace(items[0].paper, announced=date(2025, 12, 30)))
    new = replace(items[1], paper=replace(items[1].paper, announced=date(2026, 1, 1)))
    assert render.late_note(old, moved.end.year) == "announced Dec 30 2025, arrived late"
    assert render.late_note(new, moved.end.year) == "announced Jan 1, arrived late"


def test_tex_in_titles_and_authors_is_rendered_as_unicode() -> None:
    """Raw TeX in a title or an author name reaches no format: "Niccol\\`o" reads "Niccolò"."""
    tex = make_paper(
        "2411.77777",
        "$\\alpha$-divergence bounds for Mar{\\aa}k's $O(n^2)$ method",
        authors=("Niccol\\`o Rossi", "Anna Mar{\\aa}k"),
    )
    base = sample_digest()
    first = base.sections[0]
    item = replace(first.items[0], paper=tex)
    d = replace(base, sections=(replace(first, items=(item,)),))
    message = render.render(d)
    for text in (message.text, message.html, message.markdown, json.dumps(message.slack, ensure_ascii=False)):
        assert "Niccolò Rossi" in text and "Anna Maråk" in text
        assert "α-divergence bounds for Maråk's O(n^2) method" in text.replace("\\'", "'").replace(
            "&#39;", "'"
        )
        assert "\\`o" not in text and "{\\aa}" not in text


def _every_format_as_text(message: Message) -> dict[str, str]:
    """What a reader sees in each format: HTML without tags, Slack blocks as shown."""
    html = re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", message.html)))
    blocks = [b for p in message.slack for b in p["blocks"]]  # type: ignore[attr-defined]
    slack = "\n".join(shown_text(b) for b in blocks)
    return {"text": message.text, "html": html, "markdown": message.markdown, "slack": slack}


@pytest.mark.parametrize("other_has_a_section", [True, False])
def test_a_badge_says_the_paper_also_matches_without_implying_it_is_listed(other_has_a_section: bool) -> None:
    """A badge reads "also matches: <profile> <score>" in every format, whether or not that
    profile's section is shown (a paper is listed once, under its best profile)."""
    profiles = (Profile("a", "Alpha topic"), Profile("b", "Beta topic", top_n=1))
    listed = make_paper("2411.00001", "Listed under alpha")
    papers = [listed]
    scores = {listed.id: {"a": Score(listed.id, "a", 0.9), "b": Score(listed.id, "b", 0.8)}}
    if other_has_a_section:
        beta = make_paper("2411.00002", "Listed under beta")
        papers.append(beta)
        scores[beta.id] = {"b": Score(beta.id, "b", 0.95)}
    d = digest.select(papers, scores, profiles, {}, period="day", start=TODAY, end=TODAY, channel="x")
    assert [s.profile.name for s in d.sections if s.items] == (["a", "b"] if other_has_a_section else ["a"])
    message = render.render(d)
    for name, shown in _every_format_as_text(message).items():
        assert "also matches: Beta topic 0.80" in shown.replace(" | ", " · "), name
        assert "also Beta" not in shown and "also: " not in shown, name
    assert len(re.findall(r"href=", message.html)) == 3 * d.count  # title, abs and pdf: badges link nowhere


def test_tex_in_titles_and_abstracts_reads_as_text_in_every_format() -> None:
    """Dollar amounts, \\href, \\cite and ties read as text in every format (the abstract's lead
    in those that show it); \\href makes no link."""
    tex = make_paper(
        "2411.88888",
        "Serving at $5 and $10: see \\href{https://evil.example/x}{our page}",
        authors=("Dr.~Ann Lee",),
        abstract="As in \\cite{smith2020}, we cut cost by 50\\% for Fig.~3. More text follows.",
    )
    base = sample_digest()
    first = base.sections[0]
    d = replace(base, sections=(replace(first, items=(replace(first.items[0], paper=tex),)),))
    message = render.render(d)
    for name, shown in _every_format_as_text(message).items():
        shown = shown.replace("\\", "")  # markdown's escapes
        assert "Serving at $5 and $10: see our page" in shown, name
        assert "Dr. Ann Lee" in shown, name
        lead = "As in [smith2020], we cut cost by 50% for Fig. 3."
        assert name == "slack" or lead in shown, name  # Slack shows no abstract
    everything = message.html + message.text + message.markdown + json.dumps(message.slack)
    assert "evil.example" not in everything and "\\href" not in everything and "\\cite" not in everything


def test_markdown_line_starts_in_untrusted_text_stay_text() -> None:
    """An author, abstract or description starting "# ", "- " or "1. " makes no markdown heading or list."""
    hostile = make_paper("2411.99999", "# Title", authors=("# Hash Name",), abstract="- A list abstract.")
    base = sample_digest()
    first = base.sections[0]
    profile = replace(first.profile, description="1. A numbered description")
    d = replace(
        base, sections=(replace(first, profile=profile, items=(replace(first.items[0], paper=hostile),)),)
    )
    md = render.render(d).markdown
    tokens = MarkdownIt("commonmark").parse(md)
    assert [t.tag for t in tokens if t.type == "heading_open"] == [
        "h1",
        "h2",
    ]  # the digest's and the profile's
    assert [t.type for t in tokens if t.type.endswith("list_open")] == ["ordered_list_open"]  # the ranking
    text = " ".join(t.content for t in tokens if t.type == "inline")
    assert (
        "\\# Hash Name" in text and "\\- A list abstract." in text and "1\\. A numbered description" in text
    )


def test_only_the_author_names_shown_have_their_tex_converted() -> None:
    """A paper with thousands of TeX-laden author names renders in bounded time: only the three
    names shown (before "et al.") go through pylatexenc."""
    import time

    many = tuple(f"Author{i} " + "\\'e" * 300 for i in range(2000))
    authors = ("Niccol\\`o Rossi", "Anna Mar{\\aa}k", "Jos\\'e M\\\"uller", *many)
    hostile = make_paper("2411.12345", "Many authors", authors=authors)
    base = sample_digest()
    first = base.sections[0]
    d = replace(base, sections=(replace(first, items=(replace(first.items[0], paper=hostile),)),))
    started = time.process_time()
    message = render.render(d)
    assert time.process_time() - started < 3.0
    assert "Niccolò Rossi, Anna Maråk, José Müller et al." in message.text
    assert render.short_authors(authors[:4]) == "Niccolò Rossi, Anna Maråk, José Müller, Author0 " + "é" * 300


def test_a_blank_profile_title_reads_as_its_name_in_every_format() -> None:
    """A profile whose title is blank once cleaned is named by its name in headings and in
    "also matches:" badges in every format, never as an empty heading or a bare score."""
    profiles = (Profile("a", " \u200b \u200d"), Profile("b", "\t\u200c"))
    listed = make_paper("2411.00001", "Listed under a")
    scores = {listed.id: {"a": Score(listed.id, "a", 0.9), "b": Score(listed.id, "b", 0.8)}}
    d = digest.select([listed], scores, profiles, {}, period="day", start=TODAY, end=TODAY, channel="x")
    for name, shown in _every_format_as_text(render.render(d)).items():
        assert "also matches: b 0.80" in shown.replace(" | ", " · "), name
        assert re.search(r"(^|\n|== |## )a \(1", shown) or "a (1)" in shown, name


def test_invisible_format_characters_are_dropped_not_spaced() -> None:
    """Soft hyphens and zero-width spaces in a title vanish instead of splitting its words, bidi
    overrides vanish, and the joiners a script needs (ZWNJ, ZWJ) are kept, in every format."""
    hostile = make_paper(
        "2411.12121",
        "Seg\u00admen\u00adta\u00adtion of \u200bcells \u202eexe.fdp\u202c now",
        authors=("Mohammad\u200cReza Ahmadi",),
    )
    base = sample_digest()
    first = base.sections[0]
    d = replace(base, sections=(replace(first, items=(replace(first.items[0], paper=hostile),)),))
    for name, shown in _every_format_as_text(render.render(d)).items():
        assert "Segmentation of cells exe.fdp now" in shown, name
        assert "Mohammad\u200cReza Ahmadi" in shown, name
        assert "\u202e" not in shown and "\u00ad" not in shown, name


@pytest.mark.parametrize("letter", ["x", "\U0001d538"])
def test_no_slack_message_is_the_footer_alone(letter: str) -> None:
    """Whatever the digest's size, every Slack message holds a paper: the closing small print
    goes with the last paper (it was once posted alone as "(2/2)" when the papers filled the budget)."""
    footer = shown_text(slackblocks.small_print(render.FOOTER))  # type: ignore[arg-type]
    for n in range(1, 41):
        for built in (big_digest(n), maximal_digest(n, letter)):
            payloads = render.slack_payloads(built)
            blocks = [p["blocks"] for p in payloads]
            assert all(slackblocks.size(m) <= slackblocks.MAX_MESSAGE_BYTES for m in blocks)  # type: ignore[arg-type]
            assert all(any(shown_text(b).endswith("abs · pdf") for b in m) for m in blocks), n  # type: ignore[attr-defined]
            last = blocks[-1]
            assert [shown_text(b) for b in last[-2:]] == ["", footer]  # type: ignore[index]
            assert shown_text(last[-3]).endswith("abs · pdf")  # type: ignore[index]
