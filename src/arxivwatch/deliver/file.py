"""Files: the digest written into a folder as HTML, text, markdown and Slack JSON.

Every file is written to a temporary file in the same folder, then renamed over the
target, so a reader never sees half a digest and a crash leaves the old file intact.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from arxivwatch.errors import DeliveryError
from arxivwatch.models import Digest, Message, Receipt
from arxivwatch.paths import file_in_the_way, not_a_folder


def write(message: Message, digest: Digest, folder: Path) -> Receipt:
    """Write digest-<period>-<start>.{html,txt,md,json} into `folder`; detail lists the paths."""
    stem = f"digest-{digest.period}-{digest.start.isoformat()}"
    paths = write_files(message, folder, stem=stem, slack_name=f"{stem}.json")
    return Receipt(
        "file",
        digest.key,
        datetime.now(UTC),
        detail=", ".join(str(p) for p in paths),
        extra={"folder": str(folder)},
    )


def write_files(
    message: Message, folder: Path, stem: str = "digest", slack_name: str = "slack.json"
) -> list[Path]:
    """Write <stem>.html, <stem>.txt, <stem>.md and `slack_name` (the Slack payloads).

    Raises DeliveryError when they cannot be written: naming the file in the way when `folder`
    (or a parent) is a regular file, else the system's reason.
    """
    contents = {
        f"{stem}.html": message.html,
        f"{stem}.txt": message.text,
        f"{stem}.md": message.markdown,
        slack_name: json.dumps(list(message.slack), indent=2, ensure_ascii=False) + "\n",
    }
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return [atomic_write(folder / name, text) for name, text in contents.items()]
    except OSError as e:
        blocker = file_in_the_way(folder, folder=True)
        if blocker is not None:  # mkdir's "File exists" would not say which file, nor what to do
            raise DeliveryError(
                f"file: cannot write the digest: {not_a_folder('the folder', folder, blocker)}",
                hint=f"move or rename the file {blocker}, or set [digest] folder to another folder",
            ) from e
        raise DeliveryError(
            f"file: cannot write the digest into {folder} ({e.strerror or e})",
            hint="check that the folder is writable and the disk is not full",
        ) from e


def atomic_write(path: Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` through a temporary file and a rename."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
