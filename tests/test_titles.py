"""Titles and names for the reader: TeX to Unicode and curated titles without the lists' notes."""

from __future__ import annotations

import pytest

from arxivwatch.titles import clean_title, unicode_text


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("Niccol\\`o Rossi", "Niccolò Rossi"),
        ("Mar{\\aa}k", "Maråk"),
        ("Jos\\'e Garc\\'{\\i}a", "José García"),
        ('M\\"uller', "Müller"),
        ("Ko\\v{c}isk\\'y", "Kočiský"),
    ],
)
def test_tex_names_become_unicode(tex: str, text: str) -> None:
    """Author names keep no TeX: accents and special letters become their Unicode characters."""
    assert unicode_text(tex) == text


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("$O(n^2)$ attention for $\\alpha$-divergence", "O(n^2) attention for α-divergence"),
        ("Bounds in $\\mathbb{R}^n$ when $x \\leq y$", "Bounds in ℝ^n when x ≤ y"),
        ("A \\textit{very} good {U}-Net", "A very good U-Net"),
    ],
)
def test_tex_math_in_titles_stays_readable(tex: str, text: str) -> None:
    """Math in titles becomes readable text: symbols as Unicode, the formula's shape kept."""
    assert unicode_text(tex) == text


@pytest.mark.parametrize(
    "plain", ["Plain 100% title_with_underscore & more", "C++ and C# at 50%", "ε-greedy RL"]
)
def test_plain_text_is_unchanged(plain: str) -> None:
    """Text without TeX markup comes back as it was (a % is a percent sign, not a comment)."""
    assert unicode_text(plain) == plain


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("Q&A for $\\alpha$-Nets", "Q&A for α-Nets"),
        ("Smith & Jones: {BERT}", "Smith & Jones: BERT"),
        ("R\\&D with {U}-Net", "R&D with U-Net"),
    ],
)
def test_ampersand_beside_tex_is_kept(tex: str, text: str) -> None:
    """A bare & in a title that also has TeX stays an ampersand (pylatexenc reads it as a column break)."""
    assert unicode_text(tex) == text


def test_percent_beside_tex_is_kept() -> None:
    """A bare % in a title that also has TeX does not cut the rest of the title."""
    assert unicode_text("$\\beta$-VAE wins 100% of runs") == "β-VAE wins 100% of runs"


@pytest.mark.parametrize(
    ("listed", "clean"),
    [
        (
            "MICCAI'19 Best Paper - Segmentation of the Prostate Clinical Target Volume in Ultrasound Images",
            "Segmentation of the Prostate Clinical Target Volume in Ultrasound Images",
        ),
        (
            "ISIC17 Winner: Improving Dermoscopic Image Segmentation",
            "Improving Dermoscopic Image Segmentation",
        ),
        ("One cycle (Just notes)", "One cycle"),
        ("HRNet (WIP)", "HRNet"),
        ("ADE20K Dataset: Semantic Segmentation [website]", "ADE20K Dataset: Semantic Segmentation"),
        ("Microsoft [COCO]: Common Objects in Context", "Microsoft COCO: Common Objects in Context"),
        ("Dropout (Just notes): Dropout: a simple way", "Dropout: a simple way"),
        ("VAE (Auto-Encoding Variational Bayes)", "VAE (Auto-Encoding Variational Bayes)"),
        (
            "The Best of Both Modes: Separately Leveraging RGB",
            "The Best of Both Modes: Separately Leveraging RGB",
        ),
    ],
)
def test_clean_title_drops_the_lists_notes(listed: str, clean: str) -> None:
    """Awards, venues and notes that curated lists add to a title are dropped; real titles stay."""
    assert clean_title(listed) == clean


@pytest.mark.parametrize("unit", ["\\alpha ", "$x$ ", "a", "{"])
def test_huge_input_is_converted_in_bounded_time(unit: str) -> None:
    """A 1 MB title or name from a feed is cut to MAX_TEX_CHARS before pylatexenc reads it."""
    import time

    from arxivwatch.titles import MAX_TEX_CHARS

    started = time.process_time()
    text = unicode_text(unit * (1_000_000 // len(unit)))
    assert time.process_time() - started < 2.0
    assert 0 < len(text) <= MAX_TEX_CHARS


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        # dollar amounts are not math; an unbalanced $ is a dollar sign
        ("Pricing at $5 and $10 per query", "Pricing at $5 and $10 per query"),
        ("Costs $5 and $10: a $\\alpha$-study", "Costs $5 and $10: a α-study"),
        ("Cost of $O(n)$ on a $5 budget", "Cost of O(n) on a $5 budget"),
        ("Unbalanced $x + y in a title", "Unbalanced $x + y in a title"),
        ("Worth 5$ only", "Worth 5$ only"),
        ("It costs \\$5 with $$x^2$$", "It costs $5 with x^2"),
        # links: \href is its text and \url its address, as text (no link is ever built from them)
        ("See \\href{https://evil.example/x}{our \\emph{project} page} now", "See our project page now"),
        ("See \\href{https://evil.example/x}", "See https://evil.example/x"),
        ("Code at \\url{https://example.org/~u/a%20b}", "Code at https://example.org/~u/a%20b"),
        # citations and references keep their keys instead of pylatexenc's "<cit.>"
        ("As in \\cite{smith2020} and \\citep[p.~3]{a,b}", "As in [smith2020] and [a,b, p. 3]"),
        ("Shown in Sec.~\\ref{sec:intro}", "Shown in Sec. sec:intro"),
        # ~ is a tie between words, a tilde elsewhere
        ("Dr.~Smith and Fig.~3", "Dr. Smith and Fig. 3"),
        ("~100 GPUs for $\\beta$-VAE", "~100 GPUs for β-VAE"),
        # line breaks, font switches and accents
        ("Line one\\\\line two", "Line one line two"),
        ("A {\\em very} good {\\bf idea}", "A very good idea"),
        ('M\\"obius and Schr\\"{o}dinger', "Möbius and Schrödinger"),
        ("Caf\\'{e} and na\\\"{\\i}ve, \\'etude", "Café and naïve, étude"),
    ],
)
def test_tex_edge_cases_read_as_text(tex: str, text: str) -> None:
    """Dollars, links, citations, ties, line breaks, font switches and accents become readable text."""
    assert unicode_text(tex) == text


@pytest.mark.parametrize("tex", ["}}}}", "\\input{x}", "\\(", "\\href{", "\\cite", "\\\\", "\\emph{}"])
def test_tex_that_converts_to_nothing_keeps_its_text(tex: str) -> None:
    """A title or name whose TeX would convert to nothing is shown as written, not as a blank title."""
    assert unicode_text(tex) == tex
    assert unicode_text(f"  {tex}\n") == tex


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        # \verb shows its verbatim text, wherever it stands; braces and TeX inside it are text
        ("Learning with \\verb|x| more", "Learning with x more"),
        ("\\verb|x|", "x"),
        ("Using \\verb+a_b\\c+ in $\\alpha$-nets", "Using a_b\\c in α-nets"),
        ("Star \\verb*|a b| form", "Star a b form"),
        ("Brace \\verb|}| inside", "Brace } inside"),
        # a command LaTeX would print something for, but pylatexenc reads as nothing: as written
        ("Learning with \\input{x} more", "Learning with \\input{x} more"),
        ("Chapters \\include{ch1} and $\\beta$", "Chapters \\include{ch1} and β"),
        ("\\ours: a method for $\\alpha$", "\\ours: a method for α"),
        ("\\sys{} beats \\textsc{Base}", "\\sys beats Base"),
        ("An \\mbox{unbreakable phrase} here", "An unbreakable phrase here"),
        ("\\LaTeX\\ and \\TeX{} notes", "LaTeX and TeX notes"),
        # what prints nothing in LaTeX either still goes: switches, spacing, breaks, labels
        ("A {\\em very} {\\small good} idea", "A very good idea"),
        ("Tight\\hspace{2pt}ly \\noindent spaced\\label{t}", "Tightly spaced"),
        ("Line\\newline break and $\\left( x \\right)$", "Line break and ( x )"),
        ("A $\\bm{x}$ vector", "A x vector"),
        # an unbalanced brace is a character, not a group that opens or closes nothing
        ("a } b", "a } b"),
        ("a { b", "a { b"),
        ("{U}-Net } and {\\alpha}", "U-Net } and α"),
        ("x \\} y } z", "x } y } z"),
    ],
)
def test_tex_in_the_middle_of_a_title_never_vanishes(tex: str, text: str) -> None:
    """Nothing a reader needs is dropped: \\verb's text, commands read as nothing, stray braces."""
    assert unicode_text(tex) == text


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("Ratio \\frac x", "Ratio \\frac x"),
        ("A \\frac{\\frac{a} b", None),
        ("$\\frac$ y", None),
        ("\\includegraphics[width=1em]{logo.png} LogoNet: a detector", "LogoNet: a detector"),
        ("\\includegraphics{logo.png}", "\\includegraphics{logo.png}"),
        ("$\\frac12$ of a model", "1/2 of a model"),
    ],
)
def test_tex_with_missing_arguments_or_placeholders_reads_without_junk(
    tex: str, text: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A command missing its arguments is shown as written (never "%s/%s"), pylatexenc logs no warning
    (its "Error in configuration" would reach the user's log), and a graphic is no "< g r a p h i c s >"."""
    with caplog.at_level("DEBUG", logger="pylatexenc"):
        shown = unicode_text(tex)
    assert "%s" not in shown and "< g" not in shown
    if text is not None:
        assert shown == text
    else:  # unbalanced: no exact reading, but every letter of it is still there
        assert all(word in shown for word in ("a", "y") if word in tex.replace("frac", ""))
    assert [r for r in caplog.records if r.levelname == "WARNING"] == []


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("See \\href{https://x.org/a}{", "See https://x.org/a{"),
        ("\\href{https://x.org/a}{} tool", "https://x.org/a tool"),
    ],
)
def test_an_href_without_its_text_shows_its_address(tex: str, text: str) -> None:
    """\\href whose text argument is unclosed or empty reads as its address, not a lone brace or nothing."""
    assert unicode_text(tex) == text
