"""Refusing regular expressions that can backtrack for minutes (ReDoS) before they ever run.

Profile patterns run against every curated heading at training time. Python's `re`
backtracks, so a repeat inside a repeat, `(a+)+$`, or an alternation inside a repeat,
`(a|aa)+$`, can take exponential time on a heading of 40 characters. `problem()` walks the
parsed pattern and names such a construct, so the profile is refused when it loads; the
patterns that remain match in time linear or polynomial in the heading's length.
"""

from __future__ import annotations

import re
from typing import Any

_parser: Any = getattr(re, "_parser")  # noqa: B009 (the stdlib parser; no stub describes it)
MAX_LENGTH = 300  # characters in one pattern
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
    return _walk(_parser.parse(pattern), under_repeat=False)


def _walk(items: Any, *, under_repeat: bool) -> str | None:
    for op, arg in items:
        if op in _REPEATS:
            _, high, body = arg
            repeats = high > 1
            if repeats and under_repeat:
                return "it nests a repeat inside a repeat, as (a+)+ does"
            found = _walk(body, under_repeat=under_repeat or repeats)
        elif op is _parser.BRANCH and under_repeat:
            return "it repeats an alternation, as (a|aa)+ does"
        else:
            found = _walk_children(arg, under_repeat=under_repeat)
        if found:
            return found
    return None


def _walk_children(arg: Any, *, under_repeat: bool) -> str | None:
    """Descend into whatever sub-patterns an operator's argument holds (groups, branches, asserts)."""
    if isinstance(arg, _parser.SubPattern):
        return _walk(arg, under_repeat=under_repeat)
    if isinstance(arg, tuple | list):
        for part in arg:
            found = _walk_children(part, under_repeat=under_repeat)
            if found:
                return found
    return None
