"""Titles and names as a reader should see them: TeX turned into Unicode, list notes dropped.

arXiv metadata keeps authors' TeX (`Niccol\\`o`, `Mar{\\aa}k`, `$\\alpha$-divergence`);
pylatexenc is the well-kept converter (accents, special letters, math symbols), used
here rather than a table of our own. Math stays readable: `$O(n^2)$` becomes `O(n^2)`,
`$\\alpha$` becomes `α`. Text without TeX markup is returned unchanged, `%` is never
read as a comment and `&` never as a table's column separator.

Feeds are not LaTeX documents, so a few readings are ours:
- a `$` opens math only when a non-space follows it and a closing `$` comes after a
  non-space and before no digit (pandoc's rule): "$5 and $10" keeps its dollars, as does
  an unbalanced `$`;
- `~` between a word and what follows ("Dr.~Smith", "Fig.~3") is a space; any other `~`
  ("~100 GPUs") is a tilde;
- `\\href{url}{text}` is its text, `\\url{url}` the address as text (never a link: links
  are built from arXiv ids only), `\\cite{key}` "[key]", `\\ref{key}` the key;
- nothing LaTeX would print is dropped: `\\verb|x|` (and `\\verb*|x|`) reads "x"; a command
  pylatexenc reads as nothing but LaTeX would print something for (`\\input{x}`, an
  author's own `\\method`) is shown as written; only what prints nothing in LaTeX too
  (font and size switches, spacing, breaks, `\\label`: INVISIBLE) goes, and a command
  before a braced group it does not take (`\\bm{x}`) reads as the group; an unbalanced `{` or `}`
  is kept as a character; a command missing an argument (`\\frac x`) is shown as written, and
  `\\includegraphics` (a picture, no text) reads as nothing.

Curated lists annotate titles ("MICCAI'19 Best Paper - ...", "(Just notes)", "[website]");
`clean_title` drops those notes, so "like: <title>" names the paper itself.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Any

_TEX_MARKUP = re.compile(r"[\\$]|\{|\}|[\w.,]~[\w\\$(]")
# A math span: $$...$$, or (pandoc's rule) `$`, a non-space, ..., a non-space, `$` not before a digit.
_MATH = re.compile(r"(?<!\\)\$\$[^$]+\$\$|(?<!\\)\$(?=[^\s$])[^$]*?[^\s$\\]\$(?!\d)")
_TIE = re.compile(r"(?<=[\w.,])~(?=[\w\\$(])")  # "Dr.~Smith": a non-breaking space
# Characters TeX would read but a feed means literally travel through pylatexenc as
# private-use stand-ins (which pylatexenc leaves alone) and are put back afterwards.
_LITERAL = {"$": "\ue000", "~": "\ue001", "%": "\ue002", "&": "\ue003", "{": "\ue004", "}": "\ue005"}
_RESTORE = str.maketrans({v: k for k, v in _LITERAL.items()})
_STAND_INS = str.maketrans(dict.fromkeys(_LITERAL.values(), " "))
# What `_protect_braces` reads: a \verb span (its braces are text), an escaped character, a brace.
_BRACE_TOKENS = re.compile(r"\\verb\*?([^\sA-Za-z*]).*?\1|\\.|[{}]", re.DOTALL)
# A braced group with something in it, after optional spaces.
_GROUP_AFTER = re.compile(r"\s*\{\s*[^\s}]")
# Commands that print nothing in LaTeX either: font and size switches, spacing, breaks, anchors.
_INVISIBLE_WORDS = (
    "em bf it rm sf tt sc sl up md bfseries mdseries itshape slshape scshape upshape "
    "normalfont rmfamily sffamily ttfamily boldmath unboldmath tiny scriptsize footnotesize "
    "small normalsize large Large LARGE huge Huge ! / - hspace vspace hfill vfill hfil vfil "
    "smallskip medskip bigskip noindent indent par linebreak pagebreak nolinebreak "
    "nopagebreak newpage clearpage allowbreak nobreak break centering raggedright raggedleft "
    "strut mathstrut xspace relax protect leavevmode displaystyle textstyle scriptstyle "
    "scriptscriptstyle limits nolimits nonumber notag label index footnotemark left right "
    "middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl Biggr"
)
INVISIBLE = frozenset(_INVISIBLE_WORDS.split())
# pylatexenc takes about 30 ms per 1,000 characters: a feed's title or name past this length
# (arXiv's are under 1,000) is cut here, so a hostile 1 MB title cannot stall a digest.
MAX_TEX_CHARS = 4000
# A trailing note of a curated list: "(Just notes)", "(WIP)", "[website]", "(paper)", "(Notes only ...)".
_TRAILING_NOTE = re.compile(
    r"\s*[\(\[]\s*(?:just notes|notes? only[^)]*|wip|website|paper|original paper|code|slides|video|blog)"
    r"\s*(?:[\)\]]|$)",
    re.IGNORECASE,
)
# A leading award or venue note: "MICCAI'19 Best Paper - ", "ISIC17 Winner: ", "NeurIPS 2020 Workshop: ".
_LEADING_NOTE = re.compile(
    r"^[^:]{0,40}?\b(?:best (?:student )?paper|winner|award|workshop|oral|spotlight)\b"
    r"[^:]{0,20}?\s*(?:-|:)\s+",
    re.IGNORECASE,
)


@lru_cache(maxsize=1)
def _converter() -> tuple[Any, Any]:
    """pylatexenc's converter (`_text_class`) and parser context, taught \\href, \\url, \\cite,
    \\ref and \\verb."""
    # lazy: only digests and tables need pylatexenc
    from pylatexenc import latex2text, latexwalker, macrospec

    cites = ("cite", "citep", "citet", "citealp", "citeauthor")
    parsing = latexwalker.get_default_latex_context_db()
    parsing.add_context_category(
        "arxivwatch",
        prepend=True,
        macros=[macrospec.MacroSpec("href", "{{"), macrospec.MacroSpec("url", "{")]
        + [macrospec.MacroSpec(name, "*[[{") for name in cites]
        + [macrospec.MacroSpec(name, "*{") for name in ("ref", "eqref", "autoref", "cref", "Cref")],
    )
    text = latex2text.get_default_latex_context_db()
    text.add_context_category(
        "arxivwatch",
        prepend=True,
        macros=[
            latex2text.MacroTextSpec("href", simplify_repl=_href_text),
            latex2text.MacroTextSpec("url", simplify_repl=lambda n: _verbatim_arg(n, 0)),
            latex2text.MacroTextSpec(
                "verb", simplify_repl=lambda n: getattr(n.nodeargd, "verbatim_text", "")
            ),
            latex2text.MacroTextSpec("newline", simplify_repl=" "),
            # a picture has no text (pylatexenc's placeholder reads "< g r a p h i c s >")
            latex2text.MacroTextSpec("includegraphics", simplify_repl=lambda n: "", discard=False),
        ]
        + [
            latex2text.MacroTextSpec(name, simplify_repl=shown)
            for name, shown in (("TeX", "TeX"), ("LaTeX", "LaTeX"), ("LaTeXe", "LaTeX2e"))
        ]
        + [latex2text.MacroTextSpec(name, simplify_repl=_cite_text) for name in cites]
        + [
            latex2text.MacroTextSpec(name, simplify_repl=lambda n: _verbatim_arg(n, 1))
            for name in ("ref", "eqref", "autoref", "cref", "Cref")
        ],
    )
    converter = _text_class(latex2text.LatexNodes2Text)(
        latex_context=text, math_mode="text", strict_latex_spaces=False
    )
    return converter, parsing


def _text_class(base: Any) -> Any:
    """pylatexenc's LatexNodes2Text, except that a command reading as nothing is shown as
    written unless it prints nothing in LaTeX too (INVISIBLE) or stands before a braced
    group it did not take as an argument (`\\bm{x}`: the group is its text)."""

    class _Text(base):  # type: ignore[misc]
        def apply_simplify_repl(self, node: Any, simplify_repl: Any, what: str) -> Any:
            """A `%s` rule (`\\frac`: "%s/%s") of a command missing an argument is the command as
            written: pylatexenc would print "%s/%s" and log "Error in configuration"."""
            if isinstance(simplify_repl, str) and "%" in simplify_repl and len(simplify_repl) > 1:
                args = node.nodeargd.argnlist if getattr(node, "nodeargd", None) is not None else None
                if node.isNodeType(_walker().LatexMacroNode) and (not args or None in args):
                    return str(node.latex_verbatim())
            return super().apply_simplify_repl(node, simplify_repl, what)

        def macro_node_to_text(self, node: Any) -> str:
            text = str(super().macro_node_to_text(node))
            if text or node.macroname in INVISIBLE:
                return text
            spec = self.latex_context.get_macro_spec(node.macroname)
            if spec is not None and not spec.discard:
                return text  # a text rule that printed its (here empty) arguments: `\\emph{}`
            args = [a for a in (node.nodeargd.argnlist if node.nodeargd else None) or () if a is not None]
            if spec is None and args:  # parsed, but with no text rule (`\\mbox{a b}`): its arguments
                text = str(self.nodelist_to_text(args))
            elif not args and _GROUP_AFTER.match(node.parsing_state.s, node.pos + node.len):
                return ""  # a command before a group it did not take (`\\bm{x}`): the group is its text
            return text or str(node.latex_verbatim())

    return _Text


def _walker() -> Any:
    from pylatexenc import latexwalker

    return latexwalker


def _verbatim_arg(node: Any, index: int) -> str:
    """Argument `index` of a macro node as written, without its braces ("" when absent)."""
    args = node.nodeargd.argnlist if node.nodeargd is not None else []
    arg = args[index] if index < len(args) else None
    if arg is None:
        return ""
    written = str(arg.latex_verbatim())
    return written[1:-1] if written[:1] in "{[" else written


def _href_text(node: Any, l2tobj: Any) -> str:
    """\\href{url}{text} reads as its text; as the address when the text is missing, empty or
    only a stray brace (`\\href{url}{` unclosed: the address, then the brace)."""
    args = node.nodeargd.argnlist if node.nodeargd is not None else []
    text = str(l2tobj.nodelist_to_text([args[1]])) if len(args) > 1 and args[1] is not None else ""
    if text.translate(_STAND_INS).strip():
        return text
    return _verbatim_arg(node, 0) + text.strip()


def _cite_text(node: Any) -> str:
    """\\cite[p.~3]{key1,key2} reads "[key1,key2, p. 3]"."""
    keys, note = _verbatim_arg(node, 3), _verbatim_arg(node, 2) or _verbatim_arg(node, 1)
    if not keys:
        return ""
    return f"[{keys}, {note.replace('~', ' ')}]" if note else f"[{keys}]"


def unicode_text(text: str) -> str:
    """`text` with its TeX markup turned into Unicode, whitespace collapsed.

    "Niccol\\`o Rossi" -> "Niccolò Rossi"; "$\\alpha$-divergence" -> "α-divergence".
    Plain text comes back as it was; text pylatexenc cannot parse, or whose TeX reads as
    nothing, comes back unchanged (whitespace collapsed).
    Only the first MAX_TEX_CHARS characters are read (the digest cuts titles far shorter).
    """
    if len(text) > MAX_TEX_CHARS:
        text = text[:MAX_TEX_CHARS]
    if not _TEX_MARKUP.search(text):
        return text
    converter, parsing = _converter()
    try:
        protected = _protect(_protect_braces(text.translate(_STAND_INS)))
        converted = str(converter.latex_to_text(protected, latex_context=parsing))
    except Exception:
        return " ".join(text.split())
    # TeX that reads as nothing ("}}", "\\verb|x|") is shown as written rather than as a blank
    return " ".join(converted.translate(_RESTORE).replace("\xa0", " ").split()) or " ".join(text.split())


def _protect(text: str) -> str:
    """`text` with the characters a feed means literally replaced by their stand-ins: a bare
    % (a percent sign, not a comment), a bare & ("Q&A", not a column), a `$` outside math
    (a dollar) and a `~` that is not a tie (a tilde)."""
    parts: list[str] = []
    last = 0
    for math in _MATH.finditer(text):
        parts.append(_protect_prose(text[last : math.start()]))
        parts.append(re.sub(r"(?<!\\)[%&]", lambda m: _LITERAL[m.group()], math.group()))
        last = math.end()
    parts.append(_protect_prose(text[last:]))
    return "".join(parts)


def _protect_braces(text: str) -> str:
    """`text` with each unbalanced `{` or `}` (not escaped, not inside \\verb) replaced by its
    stand-in, so it is shown as a character instead of opening or closing nothing; `\\verb*`
    read as `\\verb` (the star only shows spaces as ␣)."""
    text = text.replace("\\verb*", "\\verb")
    opened: list[int] = []
    stray: list[int] = []
    for token in _BRACE_TOKENS.finditer(text):
        if token.group() == "{":
            opened.append(token.start())
        elif token.group() == "}":
            (opened.pop() if opened else stray.append(token.start()))
    if not opened and not stray:
        return text
    chars = list(text)
    for index in opened + stray:
        chars[index] = _LITERAL[chars[index]]
    return "".join(chars)


def _protect_prose(text: str) -> str:
    text = _TIE.sub(" ", text)
    return re.sub(r"(?<!\\)[%&$~]", lambda m: _LITERAL[m.group()], text)


def clean_title(title: str) -> str:
    """A curated title without the list's notes, TeX turned into Unicode.

    "MICCAI'19 Best Paper - Segmentation of the Prostate" -> "Segmentation of the Prostate";
    "One cycle (Just notes)" -> "One cycle"; "Microsoft [COCO]: Common Objects" ->
    "Microsoft COCO: Common Objects". Control and format characters (ANSI escapes, bidi
    overrides) go, as `visible` says: the title is shown in `arxivwatch score` output and digests.
    """
    title = visible(title)
    text = _TRAILING_NOTE.sub("", unicode_text(title))
    text = _LEADING_NOTE.sub("", text, count=1)
    text = re.sub(r"\[([^\]]*)\]", r"\1", text)
    text = re.sub(r"^(.{2,40}?): \1: ", r"\1: ", text)  # "Dropout: Dropout: a simple way"
    if text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1]
    return " ".join(text.split()) or " ".join(title.split())


_KEPT_FORMAT = frozenset("\u200c\u200d")  # ZWNJ and ZWJ: Persian, Indic scripts and emoji need them


class _Visible(dict[int, str | None]):
    """A str.translate table for `visible`, filled lazily: one entry per distinct character met
    (at most _VISIBLE_CACHED of them; characters past that are worked out again each time)."""

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        if char.isprintable() or char in _KEPT_FORMAT:
            value: str | None = char
        else:
            value = None if unicodedata.category(char) == "Cf" else " "
        if len(self) < _VISIBLE_CACHED:
            self[code] = value
        return value


_VISIBLE_CACHED = 65_536
_VISIBLE = _Visible()


def visible(text: str) -> str:
    """`text` with control characters (newlines, tabs, ANSI escapes, C1) as spaces and invisible
    format characters (soft hyphens, zero-width spaces, bidi embeddings, overrides and isolates,
    BOM) dropped, except the joiners ZWNJ and ZWJ; whitespace is not collapsed."""
    # str.isprintable and str.translate run in C: most texts take the first, none a Python loop.
    return text if text.isprintable() else text.translate(_VISIBLE)


def cut(text: str, limit: int) -> str:
    """`text` shortened to at most `limit` characters, marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
