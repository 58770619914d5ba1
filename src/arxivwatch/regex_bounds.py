"""Refusing regular expressions that can backtrack for minutes (ReDoS) before they ever run.

Profile patterns run against every curated heading at training time. Python's `re`
backtracks, so three kinds of pattern take exponential or high-polynomial time:
- a variable repeat inside a repeat: `(a+)+$`, `(a?){26}a{26}` (exponential);
- an alternation inside a repeat: `(a|aa)+$` (exponential);
- several open repeats in sequence: `.*.*.*x` costs about n**4 on a heading of n
  characters (29 s at 500), as each open repeat multiplies the ways to split the text.
`problem()` walks the parsed pattern and names such a construct, so the profile is refused
when it loads. What remains (at most MAX_OPEN open repeats, MAX_VARIABLE variable ones in
all, none nested) is at most cubic, and headings are matched on their first MAX_SUBJECT
characters only, so one match stays in milliseconds.
"""

from __future__ import annotations

import re
from typing import Any

_parser: Any = getattr(re, "_parser")  # noqa: B009 (the stdlib parser; no stub describes it)
MAX_LENGTH = 300  # characters in one pattern
MAX_SUBJECT = 300  # characters of a heading a pattern is matched against
MAX_OPEN = 2  # open repeats (*, +, {m,n} with n > m + 1) in one pattern
MAX_VARIABLE = 8  # repeats of variable length (the open ones and ?) in one pattern
_REPEATS = frozenset(
    getattr(_parser, name)
    for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
    if hasattr(_parser, name)
)


def problem(pattern: str) -> str | None:
    """Why `pattern` may backtrack without bound ("a repeat inside a repeat", ...), or None.

    The pattern must compile (re.error otherwise).
    """
    if len(pattern) > MAX_LENGTH:
        return f"it is longer than {MAX_LENGTH} characters"
    counts = [0, 0]  # open repeats, variable repeats
    found = _walk(_parser.parse(pattern), under_repeat=False, counts=counts)
    if found:
        return found
    if counts[0] > MAX_OPEN:
        return f"it has more than {MAX_OPEN} open repeats (*, +, {{m,n}}), as .*.*.*x does"
    if counts[1] > MAX_VARIABLE:
        return f"it has more than {MAX_VARIABLE} repeats of variable length (*, +, ?), as a?a?a?... does"
    return None


def _walk(items: Any, *, under_repeat: bool, counts: list[int]) -> str | None:
    for op, arg in items:
        if op in _REPEATS:
            low, high, body = arg
            if low != high:
                if under_repeat:
                    return "it nests a repeat inside a repeat, as (a+)+ does"
                counts[1] += 1
                counts[0] += high - low > 1
            found = _walk(body, under_repeat=under_repeat or high > 1, counts=counts)
        elif op is _parser.BRANCH and under_repeat:
            return "it repeats an alternation, as (a|aa)+ does"
        else:
            found = _walk_children(arg, under_repeat=under_repeat, counts=counts)
        if found:
            return found
    return None


def _walk_children(arg: Any, *, under_repeat: bool, counts: list[int]) -> str | None:
    """Descend into whatever sub-patterns an operator's argument holds (groups, branches, asserts)."""
    if isinstance(arg, _parser.SubPattern):
        return _walk(arg, under_repeat=under_repeat, counts=counts)
    if isinstance(arg, tuple | list):
        for part in arg:
            found = _walk_children(part, under_repeat=under_repeat, counts=counts)
            if found:
                return found
    return None
