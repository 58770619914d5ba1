"""The prune job: delete papers not seen for [storage] keep_days (and older poll records), optionally VACUUM.

A paper a pending digest shows or claims is never deleted, whatever its age. keep_days
is at least [digest] horizon_days (checked when the configuration loads), and the cutoff
never passes the earliest instant any channel's next digest can still offer from
(jobs.digest.offers_since: a channel failing for longer than keep_days reaches back to its
pending digest), so no paper a digest can still offer goes. The daemon prunes after each
scheduled poll; `arxivwatch prune` does it by hand.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.jobs import open_store

if TYPE_CHECKING:
    from arxivwatch.config import Config

log = logging.getLogger("arxivwatch.prune")


@dataclass(frozen=True)
class PruneOutcome:
    """What a prune did. before: the cutoff (None when keep_days is 0); sizes in bytes."""

    before: datetime | None
    deleted: int
    kept: int
    size_before: int
    size_after: int


def prune(
    config: Config, *, vacuum: bool = False, clock: Clock | None = None, log_summary: bool = True
) -> PruneOutcome:
    """Delete the papers last stored or seen more than keep_days ago (none when it is 0),
    except those pending digests hold; with `vacuum`, then compact the file. Logs one line
    (unless `log_summary` is False: `arxivwatch prune` prints its own)."""
    from arxivwatch.jobs.digest import CHANNELS, offers_since

    clock = clock or SystemClock()
    keep_days = config.storage.keep_days
    now = clock.now()
    before = now - timedelta(days=keep_days) if keep_days else None
    with open_store(config, clock) as store:
        size_before = store.size_bytes()
        deleted = kept = 0
        if before is not None:
            # every channel, enabled or not: one turned off keeps its backlog until it is back
            horizon = config.digest.horizon_days
            before = min([before, *(offers_since(store, c, now, horizon) for c in CHANNELS)])
            result = store.prune_papers(before, keep=store.pending_paper_ids())
            deleted, kept = result.deleted, result.kept
            store.prune_polls(now - timedelta(days=keep_days))
        if vacuum:
            store.vacuum()
        outcome = PruneOutcome(before, deleted, kept, size_before, store.size_bytes())
    if not log_summary:
        return outcome
    if before is None:
        log.info("prune: [storage] keep_days = 0 keeps every paper; nothing deleted")
    else:
        log.info(
            "prune: %d paper(s) not seen since %s deleted, %d kept for pending digests; "
            "database %.1f MB -> %.1f MB",
            outcome.deleted,
            before.date(),
            outcome.kept,
            outcome.size_before / 1e6,
            outcome.size_after / 1e6,
        )
    return outcome
