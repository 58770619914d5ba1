"""The shape of configured paths: a regular file standing where a folder must be.

A database, model or digest folder under a path whose parent is a regular file cannot be
created (mkdir says "File exists" or "Not a directory", which says nothing useful), and a
status that only looks would say "no database yet" while the next poll fails. Called by
config.py on every configured path when the configuration is loaded, so each such case is one
ConfigError line (exit 2) naming the file that is in the way, before anything runs; the
channels that create folders later (the file channel) use `file_in_the_way` to say the same
when the file appeared after loading.

Missing folders are fine (they are created when first needed); only an existing non-folder
on the way is refused, and a folder standing where a file belongs (the database, the model,
a curated list), so that every command says so, not only the one that opens that file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from arxivwatch.errors import ConfigError


def file_in_the_way(path: Path, *, folder: bool) -> Path | None:
    """The existing non-folder standing where a folder must be for `path`, or None.

    `folder` True: `path` itself must be (or become) a folder, so `path` is checked too;
    False: `path` is a file, so only its parents are. The nearest existing entry decides:
    a folder means the rest can be created (None), anything else is returned. Never raises
    (an unreadable entry counts as missing: creating it will say why).
    """
    candidates = [path, *path.parents] if folder else list(path.parents)
    for candidate in candidates:
        if os.path.isdir(candidate):  # noqa: PTH112 (os.path: a permission error is False, not raised)
            return None
        if os.path.lexists(candidate):
            return candidate
    return None


def not_a_folder(label: str, path: Path, blocker: Path) -> str:
    """One line saying `blocker` is a file where `label`'s folder belongs, e.g.
    "[digest] folder /srv/out is a file, not a folder" or
    "[storage] path /srv/x/arxivwatch.db: /srv/x is a file, not a folder"; a dangling symbolic
    link is called "a broken symbolic link (to TARGET)"."""
    what = "a file"
    if os.path.islink(blocker) and not os.path.exists(blocker):  # noqa: PTH114, PTH110
        try:
            what = f"a broken symbolic link (to {os.readlink(blocker)})"  # noqa: PTH115
        except OSError:  # removed meanwhile
            what = "a broken symbolic link"
    if blocker == path:
        return f"{label} {path} is {what}, not a folder"
    return f"{label} {path}: {blocker} is {what}, not a folder"


def check_paths(src: str, entries: Iterable[tuple[str, str, Path, bool]]) -> None:
    """Raise ConfigError for the first `(label, key, path, folder)` entry with a file in the way,
    or, for a file's path (`folder` False), with a folder standing at the path itself.

    `label` names the path in the line ("[digest] folder", "the list cache"), `key` the key
    that sets it ("[storage] path"), `folder` whether `path` itself is a folder. The line
    starts with `src` (the configuration file) and the hint says what to do.
    """
    for label, key, path, folder in entries:
        if not folder and os.path.isdir(path):  # noqa: PTH112 (as above)
            raise ConfigError(
                f"{src}: {label} {path} is a folder, not a file",
                hint=f"move the folder away, or set {key} to a file's path",
            )
        blocker = file_in_the_way(path, folder=folder)
        if blocker is not None:
            raise ConfigError(
                f"{src}: {not_a_folder(label, path, blocker)}",
                hint=f"move or rename the file {blocker}, or set {key} to a path in a folder",
            )
