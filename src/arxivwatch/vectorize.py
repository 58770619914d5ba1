"""Fast TF-IDF rows over a fixed unigram+bigram vocabulary, a whole batch at a time.

The result is exactly what TfidfFeatures.analyze plus counting would give (same columns,
same values): lower-case, words are maximal runs of regex word characters (\\w) at least
two long, stop words dropped, then unigrams and the bigrams of adjacent surviving words.
What makes it fast is that no bigram string is ever built:

- splitting: `str.translate` turns every non-word character into a space and
  `str.split` cuts the runs, about twice as fast as the equivalent regex findall;
- words: each occurrence gets the index of its run among the batch's distinct runs,
  and only the distinct runs are classified (too short, stop word, or their id in one
  dictionary holding every word of the vocabulary's unigrams and bigrams: unigrams
  pruned by max_df can survive inside bigrams, so their words are there too);
- bigrams: the codes `left * W + right` of adjacent word ids are computed with numpy
  and found by binary search in the sorted codes of the vocabulary's bigrams;
- weights: counts, sublinear tf, idf and the L2 norm are array operations on the batch.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

IntArray = NDArray[np.int64]
DROPPED = -2  # a run that is not a word at all: one character long, or a stop word
UNKNOWN = -1  # a word outside the vocabulary: it is no term and breaks bigrams


class _WordCharacters(dict[int, int]):
    """A str.translate table keeping word characters and mapping the rest to a space.

    Filled lazily, one entry per distinct character ever seen; "word character" is
    exactly the regex engine's \\w for str patterns (alphanumeric or underscore).
    """

    def __missing__(self, code: int) -> int:
        char = chr(code)
        value = code if char.isalnum() or char == "_" else 32
        self[code] = value
        return value


@dataclass(frozen=True)
class Batch:
    """The surviving words of a batch of texts, in order, with the row each belongs to."""

    rows: IntArray  # the text each word comes from (non-decreasing)
    words: IntArray  # the word's id in the vocabulary's word table, or UNKNOWN
    runs: list[str]  # every distinct run of word characters in the batch, sorted
    run_ids: IntArray  # per occurrence of a run (before dropping): its index in `runs`
    run_rows: IntArray  # per occurrence of a run: its text


class Vocabulary:
    """Columns of unigrams and bigrams, indexed by integer word ids for batch lookups."""

    def __init__(self, terms: Sequence[str], stop_words: Collection[str]) -> None:
        words: dict[str, int] = {}
        for term in terms:
            for word in term.split(" "):
                words.setdefault(word, len(words))
        self.words = words
        self.stop_words = frozenset(stop_words)
        self.width = max(1, len(words))
        # The last slot answers the id UNKNOWN (-1): indexing with -1 reads "no column".
        self.unigram_column = np.full(len(words) + 1, -1, dtype=np.int64)
        codes: list[int] = []
        columns: list[int] = []
        for column, term in enumerate(terms):
            left, _, right = term.partition(" ")
            if right:
                codes.append(words[left] * self.width + words[right])
                columns.append(column)
            else:
                self.unigram_column[words[left]] = column
        order = np.argsort(np.array(codes, dtype=np.int64), kind="stable")
        self.bigram_codes = np.array(codes, dtype=np.int64)[order]
        self.bigram_columns = np.array(columns, dtype=np.int64)[order]
        self._table = _WordCharacters()

    def words_of(self, lowered: Sequence[str]) -> Batch:
        """Split lower-cased texts into runs and map them to word ids (dropped runs removed)."""
        # Translating text by text keeps the fast path for ASCII texts; splitting once
        # saves a call and a list per text. Translation leaves no NUL, so a NUL between
        # texts marks where each one ends.
        joined = " \0 ".join([text.translate(self._table) for text in lowered])
        split = joined.split()
        runs = sorted(set(split))
        index = dict(zip(runs, range(len(runs)), strict=True))
        run_ids = np.fromiter(map(index.__getitem__, split), np.int64, len(split))
        ends = run_ids == index.get("\0", -1)
        run_rows = np.cumsum(ends) - ends  # the NUL itself counts with the text it ends
        stop, get = self.stop_words, self.words.get
        kinds = [DROPPED if len(run) < 2 or run in stop else get(run, UNKNOWN) for run in runs]
        words = np.array(kinds, dtype=np.int64)[run_ids]
        kept = words != DROPPED
        return Batch(run_rows[kept], words[kept], runs, run_ids, run_rows)

    def term_columns(self, batch: Batch) -> tuple[IntArray, IntArray]:
        """(rows, columns) of every unigram and bigram occurrence found in the vocabulary."""
        rows, words = batch.rows, batch.words
        unigrams = self.unigram_column[words]
        known = unigrams >= 0
        left, right = words[:-1], words[1:]
        pairs = (rows[:-1] == rows[1:]) & (left >= 0) & (right >= 0)
        bigram_rows, bigram_columns = self._bigrams(left[pairs] * self.width + right[pairs], rows[:-1][pairs])
        return (
            np.concatenate([rows[known], bigram_rows]),
            np.concatenate([unigrams[known], bigram_columns]),
        )

    def _bigrams(self, codes: IntArray, rows: IntArray) -> tuple[IntArray, IntArray]:
        """(rows, columns) of the bigram codes found in the vocabulary, in code order."""
        count = int(rows.max()) + 1 if len(rows) else 1
        if len(codes) == 0 or len(self.bigram_codes) == 0:
            return rows[:0], codes[:0]
        # Sorted needles make the binary search cache-friendly (several times faster);
        # the row rides along in the low digits of one sort key.
        if self.width * self.width * count < 2**62:
            keys = np.sort(codes * count + rows)
            codes, rows = keys // count, keys % count
        found = np.searchsorted(self.bigram_codes, codes)
        found[found == len(self.bigram_codes)] = 0
        hit = self.bigram_codes[found] == codes
        return rows[hit], self.bigram_columns[found[hit]]


def tfidf_rows(
    rows: IntArray, columns: IntArray, idf: NDArray[np.float64], count: int
) -> tuple[IntArray, IntArray, NDArray[np.float64]]:
    """Sorted (row, column, value) of sublinear tf times idf, each row L2-normalised."""
    width = max(1, len(idf))
    keys, counts = np.unique(rows * width + columns, return_counts=True)
    rows, columns = keys // width, keys % width
    values = (np.log(counts.astype(np.float64)) + 1.0) * idf[columns]
    # np.add.reduceat sums in scipy's order for `.sum(axis=1)`: the same bits as before.
    norms = np.ones(count)
    if len(rows):
        starts = np.flatnonzero(np.concatenate([[True], rows[1:] != rows[:-1]]))
        norms[rows[starts]] = np.sqrt(np.add.reduceat(values * values, starts))
    norms[norms == 0] = 1.0
    return rows, columns, values * (1.0 / norms)[rows]


class PhraseFinder:
    """Finds seed phrases with phrase_pattern's regex, running it only where it can match.

    When every phrase starts and ends with a word character, a match covers runs of
    the text equal to the phrase's own runs, in a row, the last one possibly with a
    suffix. So a text where no run starts with a one-run phrase, and no run equal to
    a longer phrase's first run is followed by a run fitting its second, cannot hold
    any phrase, and the regex (in fast_pattern's equivalent form) skips it.
    """

    def __init__(self, pattern: re.Pattern[str], phrases: Sequence[str]) -> None:
        self.pattern = pattern
        self.fast = fast_pattern(pattern, phrases)
        self.parts = [re.findall(r"\w+", phrase) for phrase in phrases]

    def find(self, lowered: Sequence[str], batch: Batch) -> list[tuple[int, list[str]]]:
        """(row, phrases found) for every text that names at least one phrase."""
        if self.fast is None:
            found = [(row, self.pattern.findall(text)) for row, text in enumerate(lowered)]
        else:
            find = self.fast.findall
            found = [(int(row), find(" " + lowered[row])) for row in self.candidates(batch)]
        return [(row, phrases) for row, phrases in found if phrases]

    def candidates(self, batch: Batch) -> IntArray:
        """The rows whose runs could hold a phrase (see the class docstring)."""
        runs, ids = batch.runs, batch.run_ids
        single = np.zeros(len(runs), dtype=bool)  # runs starting with a one-run phrase
        first = np.zeros(len(runs), dtype=bool)  # runs equal to a longer phrase's first run
        seconds: list[tuple[int, tuple[int, int]]] = []
        for parts in self.parts:
            low, high = _span(runs, parts[0], last=len(parts) == 1)
            if len(parts) == 1:
                single[low:high] = True
            elif high > low:
                first[low] = True
                seconds.append((low, _span(runs, parts[1], last=len(parts) == 2)))
        hits = single[ids]
        starts = np.flatnonzero(first[ids[:-1]])
        for run, (low, high) in seconds:
            at = starts[ids[starts] == run]
            after = ids[at + 1]
            hits[at[(after >= low) & (after < high)]] = True
        return np.unique(batch.run_rows[hits])


def _span(runs: list[str], part: str, *, last: bool) -> tuple[int, int]:
    """The indices in sorted `runs` of the runs equal to `part` (last: starting with it)."""
    low = bisect_left(runs, part)
    if last:  # no run holds U+10FFFF (not a word character): every run part+... sorts below
        return low, bisect_left(runs, part + "\U0010ffff", low)
    return low, low + int(low < len(runs) and runs[low] == part)


def fast_pattern(pattern: re.Pattern[str], phrases: Sequence[str]) -> re.Pattern[str] | None:
    r"""An equivalent of phrase_pattern's regex that the engine scans faster, or None.

    `\b(phrases)suffix\b` is tried at every position of the text; `\W(phrases)suffix\b`,
    run on " " + text, lets the engine skip to the next non-word character. The two find
    the same matches when every phrase starts and ends with a word character: a match
    then starts right after a non-word character, which no earlier match took.
    """
    word = re.compile(r"\w")
    simple = all(p and word.fullmatch(p[0]) and word.fullmatch(p[-1]) for p in phrases)
    if not simple or not pattern.pattern.startswith(r"\b(") or pattern.flags & re.ASCII:
        return None
    return re.compile(r"\W" + pattern.pattern[2:], pattern.flags)


def csr_rows(
    rows: IntArray, columns: IntArray, values: NDArray[np.float64], shape: tuple[int, int]
) -> csr_matrix:
    """A CSR matrix from entries already sorted by row (and by column within a row)."""
    import scipy.sparse as sp

    indptr = np.zeros(shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=shape[0]), out=indptr[1:])
    return sp.csr_matrix((values, columns, indptr), shape=shape)
