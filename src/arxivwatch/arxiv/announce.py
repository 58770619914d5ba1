"""arXiv's announcement calendar: which submissions a poll at a given time can have seen.

From arXiv's availability page (see ARXIV.md): submissions close at 14:00 US Eastern, Monday
to Friday, and are announced at 20:00 Eastern the same day, except Thursday's window (Thu
14:00 to Fri 14:00), announced on Sunday evening; Friday's window (to Monday 14:00) is
announced on Monday. rss.arxiv.org rebuilds at midnight Eastern, so a poll on a given Eastern
day sees the announcement made on the evening before it (Sunday to Thursday) and nothing newer.

Pure date arithmetic, no loops.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")  # arXiv's business time zone
CUTOFF = time(14, 0)  # submissions close at 14:00 Eastern
# by the Eastern weekday of a poll (Monday first): days back to the cut-off of the latest
# announcement it can have seen (Monday: Friday's, announced Sunday; Saturday, Sunday: Thursday's)
_SEEN_BACK = (3, 1, 1, 1, 1, 2, 3)
# by the weekday of a cut-off (or any day): days back to the weekday before it
_PREVIOUS_BACK = (3, 1, 1, 1, 1, 1, 2)


def covered_cutoff(at: datetime) -> datetime:
    """The cut-off (14:00 Eastern, aware) of the latest announcement a poll at `at` (aware) can have seen.

    Every paper submitted before it was announced by then; one submitted after it may not
    have been. Monday's poll sees Sunday's announcement, which closed on Friday at 14:00.
    """
    day = feed_day(at)
    return datetime.combine(day - timedelta(days=_SEEN_BACK[day.weekday()]), CUTOFF, tzinfo=EASTERN)


def previous_cutoff(cutoff: datetime) -> datetime:
    """The cut-off before `cutoff` (a weekday at 14:00 Eastern, aware): the previous weekday's."""
    day = feed_day(cutoff)
    return datetime.combine(day - timedelta(days=_PREVIOUS_BACK[day.weekday()]), CUTOFF, tzinfo=EASTERN)


def feed_day(at: datetime) -> date:
    """The date of the rss.arxiv.org feed served at `at` (aware): the Eastern date."""
    return at.astimezone(EASTERN).date()
