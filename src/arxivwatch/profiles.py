"""Topic profiles: loading them from TOML files and labelling curated entries.

A profile file `NAME.toml` holds `title`, `description`, `sections` (regular
expressions searched case-insensitively in each element of an entry's section path),
`seeds` (phrases), `categories`, `top_n` and an optional `threshold`. The shipped
defaults live in the package's profiles/ folder; a user's folder replaces them.

An entry is a positive of every profile whose sections or seeds it matches, so a
semi-supervised medical segmentation paper is a positive of all three defaults.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from arxivwatch import regex_bounds, taxonomy
from arxivwatch.errors import ProfileError
from arxivwatch.models import CuratedEntry, Profile

DEFAULTS = Path(__file__).parent / "profiles"
_KEYS = frozenset({"name", "title", "description", "sections", "seeds", "categories", "top_n", "threshold"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def load_profiles(folder: Path | None) -> list[Profile]:
    """The profiles of `folder` (every *.toml, by name), or the shipped defaults for None."""
    where = DEFAULTS if folder is None else folder
    if not where.is_dir():
        raise ProfileError(
            f"profiles folder not found: {where}",
            hint="create it with one NAME.toml per topic, or unset [training] profiles",
        )
    files = sorted(where.glob("*.toml"))
    if not files:
        raise ProfileError(f"no profile files (*.toml) in {where}", hint="add at least one NAME.toml")
    return [_load_file(path) for path in files]


def select(profiles: Sequence[Profile], names: Sequence[str]) -> list[Profile]:
    """The named profiles in the order given; every profile when `names` is empty."""
    if not names:
        return list(profiles)
    known = {profile.name: profile for profile in profiles}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ProfileError(
            f"unknown profile {unknown[0]!r}",
            hint=f"known profiles: {', '.join(sorted(known))}",
        )
    return [known[name] for name in names]


def is_positive(entry: CuratedEntry, profile: Profile) -> bool:
    """True when the entry's section path matches the profile's sections, or its title a seed."""
    patterns = _compiled(profile.sections)
    # only a heading's first MAX_SUBJECT characters: the bound regex_bounds' check relies on
    if any(p.search(element[: regex_bounds.MAX_SUBJECT]) for p in patterns for element in entry.section):
        return True
    return matches_seeds(entry.title, profile.seeds)


def matches_seeds(text: str, seeds: Sequence[str]) -> bool:
    """True when `text` contains any seed phrase (case-insensitive, whole words)."""
    return bool(seeds) and phrase_pattern(tuple(seeds)).search(text.lower()) is not None


def count_seeds(text: str, seeds: Sequence[str]) -> int:
    """How many seed-phrase occurrences `text` holds (the keyword baseline's score)."""
    return len(phrase_pattern(tuple(seeds)).findall(text.lower())) if seeds else 0


@lru_cache(maxsize=64)
def phrase_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    """One regex finding any of `phrases` in lower-cased text; group 1 is the phrase.

    A phrase matches as whole words, plus a plural or verb ending ("organ" matches
    "organs", never "organization"; "pseudo-label" matches "pseudo-labeling"). The
    alternatives are merged into a character trie, so a scan costs about one pass.
    """
    trie: dict[str, dict] = {}  # type: ignore[type-arg]
    for phrase in {p.lower() for p in phrases}:
        node = trie
        for char in phrase:
            node = node.setdefault(char, {})
        node[""] = {}
    return re.compile(r"\b(" + _trie(trie) + r")(?:s|es|ed|ing|led|ling)?\b")


def _trie(node: dict[str, dict]) -> str:  # type: ignore[type-arg]
    branches = [re.escape(char) + _trie(child) for char, child in sorted(node.items()) if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if "" in node:
        return f"(?:{body})?"
    return body


@lru_cache(maxsize=64)
def _compiled(patterns: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in patterns)


def _load_file(path: Path) -> Profile:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ProfileError(f"cannot read profile {path}: {e}", hint="fix the TOML syntax") from e
    unknown = sorted(set(data) - _KEYS)
    if unknown:
        raise _bad(path, unknown[0], f"one of {', '.join(sorted(_KEYS))}")
    name = _text(data, "name", path, default=path.stem)
    if not _NAME.match(name):
        raise _bad(path, "name", "lower-case letters, digits, '-' and '_'")
    return Profile(
        name=name,
        title=_text(data, "title", path, default=name),
        description=_text(data, "description", path, default=""),
        sections=_patterns(data, path),
        seeds=_strings(data, "seeds", path),
        categories=_categories(data, path),
        top_n=_top_n(data, path),
        threshold=_threshold(data, path),
    )


def _text(data: Mapping[str, object], key: str, path: Path, *, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise _bad(path, key, "a string")
    return value


def _strings(data: Mapping[str, object], key: str, path: Path) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise _bad(path, key, "a list of non-empty strings")
    return tuple(value)


def _patterns(data: Mapping[str, object], path: Path) -> tuple[str, ...]:
    patterns = _strings(data, "sections", path)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as e:
            raise _bad(path, "sections", f"valid regular expressions ({pattern!r}: {e})") from e
        risk = regex_bounds.problem(pattern)
        if risk:
            raise _bad(path, "sections", f"patterns that cannot backtrack for minutes ({pattern!r}: {risk})")
    if not patterns and not _strings(data, "seeds", path):
        raise _bad(path, "sections", "at least one pattern (or some seeds)")
    return patterns


def _categories(data: Mapping[str, object], path: Path) -> tuple[str, ...]:
    categories = _strings(data, "categories", path)
    unknown = taxonomy.unknown(categories)
    if unknown:
        raise _bad(path, "categories", f"arXiv categories ({unknown[0]!r} is not one)")
    return categories


def _top_n(data: Mapping[str, object], path: Path) -> int | None:
    """The profile's own digest size; None leaves it to the configured [digest] top_n."""
    value = data.get("top_n")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _bad(path, "top_n", "a whole number of at least 1")
    return value


def _threshold(data: Mapping[str, object], path: Path) -> float | None:
    value = data.get("threshold")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _bad(path, "threshold", "a number between 0 and 1")
    return float(value)


def _bad(path: Path, key: str, expected: str) -> ProfileError:
    return ProfileError(f"profile {path}: bad key {key!r}", hint=f"it must be {expected}")
