"""Jobs: the only code that chains the steps (lists, arXiv, store, model, digest, delivery).

Each job is a plain function taking the Config (and a Clock where time matters), so the
CLI and the scheduler stay thin and tests call jobs directly. Split by job, never by layer:
`learn` (lists, train, score, demo), `scoring` (stored papers), `poll`, `digest` (and `send`,
its delivery half), `retention` (prune), `status` (and `health`, its checks).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from arxivwatch.arxiv.client import ArxivClient
    from arxivwatch.clock import Clock
    from arxivwatch.config import Config
    from arxivwatch.model import Model
    from arxivwatch.store import Store


def today(config: Config, clock: Clock) -> date:
    """The date now in the schedule's time zone (digest periods are counted in it)."""
    return clock.now().astimezone(ZoneInfo(config.schedule.timezone)).date()


def open_store(config: Config, clock: Clock) -> Store:
    from arxivwatch.store import Store

    return Store(config.db_path, clock=clock)


def arxiv_client(config: Config, clock: Clock) -> ArxivClient:
    from arxivwatch.arxiv.client import ArxivClient
    from arxivwatch.config import warn_contact

    warn_contact(config)  # here, where arXiv is asked: the one place the contact is used
    return ArxivClient(
        api_url=config.arxiv.api_url,
        feed_url=config.arxiv.feed_url,
        contact=config.arxiv.contact,
        clock=clock,
        min_interval=config.arxiv.min_interval,
        budget=config.arxiv.budget,
        max_body_bytes=config.arxiv.max_body_bytes,
        pace_file=config.db_path.with_name(config.db_path.name + ".pace"),
    )


def load_model(config: Config) -> Model:
    """The trained model; a ModelError naming the fix when there is none or it is unusable."""
    from arxivwatch import model

    return model.load(config.model_path)
