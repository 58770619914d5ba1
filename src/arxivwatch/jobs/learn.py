"""Jobs on the learning side: show a list, train, score JSON lines, and the offline demo.

Scoring stored papers (poll, digest) lives in jobs/scoring.py."""

from __future__ import annotations

import gzip
import io
import json
import logging
import sys
from collections.abc import Iterable, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import IO, TYPE_CHECKING, TypeVar

from arxivwatch.clock import Clock, SystemClock
from arxivwatch.errors import ArxivError, ArxivOffline, ListError, UsageError
from arxivwatch.jobs import arxiv_client, load_model, open_store
from arxivwatch.jobs import background as negatives
from arxivwatch.models import CuratedEntry, Digest, Paper, Profile
from arxivwatch.progress import Progress

if TYPE_CHECKING:
    from arxivwatch.config import Config
    from arxivwatch.curated import ListReading
    from arxivwatch.lists import LoadedList
    from arxivwatch.model import Metrics, Model
    from arxivwatch.store import Store

log = logging.getLogger("arxivwatch.train")

QUALITY_FLOOR = 0.5  # cross-validated average precision under which `train` says what to do
RECOVERY_FLOOR = 0.9  # a list whose entries cover fewer of the arXiv ids it mentions is warned about
MAX_LINE_CHARS = 1_000_000  # `score --input`: a paper is a few KB; a longer line is refused
LOOKUP_BATCH = 100  # ids per export API call, arXiv's documented comfortable size
T = TypeVar("T")


def sample_feed() -> bytes:
    """The bundled sample: cs.CV, eess.IV and cs.LG items of the real 2024-11-28 feed."""
    ref = resources.files("arxivwatch") / "data" / "sample-feed.xml.gz"
    return gzip.decompress(ref.read_bytes())


def sample_papers() -> list[Paper]:
    from arxivwatch.arxiv.parse import parse_feed

    return list(parse_feed(sample_feed(), source="bundled sample feed").papers)


def show_list(
    config: Config,
    path_or_url: str,
    out: IO[str] | None = None,
    *,
    err: IO[str] | None = None,
    verbose: bool = False,
) -> int:
    """Print one curated list's entries as JSON lines, then a one-line summary on `err`
    (entries, with and without an arXiv id, lines that gave no entry: their numbers when
    `verbose`); returns how many entries. ListError (exit 2) when nothing is recognised."""
    from arxivwatch import curated

    out = out or sys.stdout
    [loaded] = _load_lists(config, [path_or_url], offline=False)
    reading = curated.read(loaded.text, loaded.source)
    _require_entries(loaded, reading)
    for entry in reading.entries:
        out.write(json.dumps(entry.as_json(), ensure_ascii=False) + "\n")
    out.flush()
    print(f"{loaded.source}: {reading.summary(verbose=verbose)}", file=err or sys.stderr)
    return len(reading.entries)


def train(
    config: Config,
    lists: Sequence[str] = (),
    *,
    offline: bool = False,
    profile_names: Sequence[str] = (),
    clock: Clock | None = None,
    out: IO[str] | None = None,
) -> Model:
    """Parse the lists, enrich listed ids (cached), train, save atomically, print the metrics."""
    from arxivwatch import model as model_io
    from arxivwatch import train as trainer

    clock = clock or SystemClock()
    profiles = _profiles(config.profiles_dir, profile_names)
    loaded = _load_lists(config, lists or config.list_sources, offline=offline)
    entries = _parse(loaded)
    with open_store(config, clock) as store:
        metadata = _metadata(config, store, entries, offline=offline, clock=clock)
        listed = {e.arxiv_id for e in entries if e.arxiv_id}
        stored = store.recent_papers(negatives.BACKGROUND_LIMIT + len(listed))
    background = negatives.background(stored, config.arxiv.categories, listed=listed)
    model = trainer.train(
        entries,
        profiles,
        metadata=metadata,
        background=background,
        sources=[(item.source, item.sha256) for item in loaded],
        progress=sys.stderr.isatty(),
    )
    model_io.save(model, config.model_path)
    enriched = (len(listed & metadata.keys()), len(listed))
    print_metrics(model, out or sys.stdout, enriched=enriched, offline=offline)
    log.info("model saved to %s", config.model_path)
    return model


def score_lines(config: Config, source: str, out: IO[str] | None = None) -> int:
    """Score JSON lines from a file or stdin, streaming JSON lines out in input order."""
    from arxivwatch.score import score_stream

    out = out or sys.stdout
    model = load_model(config)
    count = 0
    with _open_input(source) as stream:
        for paper, scores in score_stream(model, _read_papers(stream, source), batch_size=256):
            record = {
                "id": paper.id,
                "scores": {name: round(s.value, 4) for name, s in scores.items()},
                "reasons": {name: list(s.reasons) for name, s in scores.items()},
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
            count += 1
    return count


def demo(out_dir: Path, *, profile_names: Sequence[str] = (), out: IO[str] | None = None) -> Digest:
    """Train on the bundled lists, score the bundled feed, write and print the digest.

    No configuration and no network: the same train, score, select and render code as the
    real commands, fed with the bundled data.
    """
    from arxivwatch import digest as selector
    from arxivwatch import lists as list_io
    from arxivwatch import render
    from arxivwatch import train as trainer
    from arxivwatch.arxiv.parse import parse_feed
    from arxivwatch.config import DigestConfig
    from arxivwatch.deliver import file as file_channel
    from arxivwatch.jobs.scoring import thresholds
    from arxivwatch.score import Scorer

    profiles = _profiles(None, profile_names)
    loaded = [list_io.load(str(path), cache_dir=out_dir, offline=True) for path in list_io.BUNDLED]
    feed = parse_feed(sample_feed(), source="bundled sample feed")
    model = trainer.train(
        _parse(loaded),
        profiles,
        metadata={},
        background=list(feed.papers),
        sources=[(item.source, item.sha256) for item in loaded],
    )
    fresh = [p for p in feed.papers if p.announce_type in ("new", "cross")]
    with Scorer(model) as scorer:
        scores = dict(zip((p.id for p in fresh), scorer.score(fresh), strict=True))
    day = feed.announced or (fresh[0].announced if fresh and fresh[0].announced else None)
    if day is None:
        raise ListError("the bundled sample feed has no announcement date", hint="reinstall arxivwatch")
    digest = selector.select(
        fresh,
        scores,
        model.profiles,
        thresholds(model, None),
        period="day",
        start=day,
        end=day,
        channel="file",
        top_n=DigestConfig().top_n,
    )
    message = render.render(digest)
    paths = file_channel.write_files(message, out_dir)
    print_digest(digest, out or sys.stdout)
    print(f"\nWrote {', '.join(str(p) for p in paths)}", file=out or sys.stdout)
    return digest


def print_digest(digest: Digest, out: IO[str]) -> None:
    """A ranked table per profile: rank, score, title, why."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from arxivwatch.titles import unicode_text

    console = Console(file=out, width=max(100, Console(file=out).width), highlight=False)
    console.print(
        f"arxivwatch digest {digest.start} .. {digest.end}: "
        f"{digest.count} papers picked of {digest.scanned} scanned"
    )
    for section in digest.sections:
        table = Table(title=f"{section.profile.title} ({len(section.items)})", title_justify="left")
        table.add_column("#", justify="right")
        table.add_column("score", justify="right")
        table.add_column("title", overflow="fold", ratio=3)
        table.add_column("why", overflow="fold", ratio=2)
        for rank, item in enumerate(section.items, 1):
            why = "; ".join(item.reasons[:4])
            title = unicode_text(item.paper.title)
            table.add_row(str(rank), f"{item.score:.2f}", Text(title), Text(why))
        console.print(table)


def print_metrics(
    model: Model, out: IO[str], *, enriched: tuple[int, int] | None = None, offline: bool = False
) -> None:
    """Per profile: positives, negatives, cross-validated AP and P@10 and the text they were
    measured on, threshold; then "enriched N of M listed ids" and the warnings (a profile
    under QUALITY_FLOOR gets one saying why and what would fix it; an online training whose
    listed ids all went without metadata gets one too)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="arxivwatch model", title_justify="left")
    columns = ("profile", "positives", "negatives", "CV avg precision", "CV P@10", "CV on", "threshold")
    for column in columns:
        table.add_column(column, justify="left" if column in ("profile", "CV on") else "right")
    warnings = []
    for name, m in model.metrics.items():
        table.add_row(
            name,
            str(m.positives),
            str(m.negatives),
            _fmt(m.average_precision, 3),
            _fmt(m.precision_at_10, 2),
            m.measured_on or "all rows",
            f"{m.threshold:.2f}",
        )
        if m.warning:
            warnings.append(f"warning: {name}: {m.warning}")
        elif m.average_precision is not None and m.average_precision < QUALITY_FLOOR:
            warnings.append(f"warning: {name}: {_weak_profile(m, enriched)}")
    if enriched is not None and enriched[0] == 0 and enriched[1] > 0 and not offline:
        warnings.insert(
            0,
            f"warning: arXiv gave metadata for none of the {enriched[1]} listed ids, so every profile "
            "learnt from titles alone; check [arxiv] api_url and the network, then train again",
        )
    console = Console(file=out, width=110, highlight=False)
    console.print(table)
    console.print(
        "CV on: the text cross-validation scored, like for like: titles (each listed paper's title "
        "against the background papers' titles) or abstracts (enriched positives against full texts).",
        markup=False,
        soft_wrap=True,
    )
    if enriched is not None:
        console.print(f"enriched {enriched[0]} of {enriched[1]} listed ids with arXiv metadata", markup=False)
    for line in warnings:
        console.print(line, markup=False, soft_wrap=True)


def _weak_profile(m: Metrics, enriched: tuple[int, int] | None) -> str:
    """Why a profile's cross-validated quality is under the floor, and what would fix it."""
    ap = f"cross-validated average precision {m.average_precision:.2f} is below {QUALITY_FLOOR}"
    if m.positives < 30:
        return f"{ap} with only {m.positives} positives; add papers of this topic to the lists"
    if m.measured_on == "titles" and (enriched is None or enriched[0] < enriched[1]):
        return f"{ap} on titles alone; run `arxivwatch train` online so listed ids get their abstracts"
    return (
        f"{ap}; its listed papers look like the background: check the profile's sections and seed "
        "phrases, or add more papers of this topic to the lists"
    )


def _fmt(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _profiles(folder: Path | None, names: Sequence[str]) -> list[Profile]:
    from arxivwatch import profiles as profile_io

    profiles = profile_io.load_profiles(folder)
    return profile_io.select(profiles, names) if names else profiles


def _load_lists(config: Config, sources: Iterable[str], *, offline: bool) -> list[LoadedList]:
    from arxivwatch import lists as list_io

    names = list(sources) or [str(p) for p in list_io.BUNDLED]
    loaded = [list_io.load(name, cache_dir=config.lists_cache, offline=offline) for name in names]
    for item in loaded:
        if item.warning:
            log.warning("%s", item.warning)
    return loaded


def _parse(loaded: Sequence[LoadedList]) -> list[CuratedEntry]:
    """Every list's entries; a warning per list whose entries cover under 90% of its ids."""
    from arxivwatch import curated

    entries: list[CuratedEntry] = []
    for item in loaded:
        reading = curated.read(item.text, item.source)
        _require_entries(item, reading)
        found, mentioned = len(reading.recovered), len(reading.mentioned)
        if mentioned and found < RECOVERY_FLOOR * mentioned:
            log.warning(
                "%s: entries found for only %d of the %d arXiv ids it mentions (%.0f%%); "
                "see `arxivwatch lists show -v %s` for the lines skipped",
                item.source,
                found,
                mentioned,
                100 * found / mentioned,
                item.source,
            )
        entries.extend(reading.entries)
    return entries


def _require_entries(item: LoadedList, reading: ListReading) -> None:
    """ListError (exit 2) naming what was looked for, when a list gave no entry at all."""
    from arxivwatch.curated import LOOKED_FOR

    if not reading.entries:
        count = len(reading.skipped)
        lines = "1 line mentions" if count == 1 else f"{count} lines mention"
        mentions = f" ({lines} a paper but gave none)" if count else ""
        raise ListError(f"{item.source}: no paper entries found{mentions}", hint=f"looked for {LOOKED_FOR}")


def _metadata(
    config: Config, store: Store, entries: Sequence[CuratedEntry], *, offline: bool, clock: Clock
) -> dict[str, Paper]:
    """arXiv metadata for the listed ids: from the store's cache, the rest fetched and cached."""
    ids = sorted({e.arxiv_id for e in entries if e.arxiv_id})
    cached = store.get_metadata(ids)
    missing = [i for i in ids if i not in cached]
    if not missing or offline:
        if missing:
            log.info("offline: %d listed ids have no cached metadata; using their titles", len(missing))
        return cached
    fetched: list[Paper] = []
    try:
        with (
            arxiv_client(config, clock) as client,
            Progress(
                "arXiv metadata of the listed papers", len(missing), unit="ids", clock=clock
            ) as progress,
        ):
            for batch in _chunks(missing, LOOKUP_BATCH):
                papers = client.lookup(batch)
                store.put_metadata(papers)  # cache as we go: an interrupted run keeps what it got
                fetched.extend(papers)
                progress.advance(len(batch))
    except ArxivError as e:
        if isinstance(e, ArxivOffline):
            e.hint = "check the network, or run `train --offline` to skip arXiv and use the cache"
        log.warning("could not fetch metadata for all listed ids (%s); training on what is cached", e)
    return {**cached, **{p.id: p for p in fetched}}


def _chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _open_input(source: str) -> IO[str]:
    # undecodable bytes kept as surrogates, so the line holding them can be named (_read_papers)
    if source == "-":
        if isinstance(sys.stdin, io.TextIOWrapper):
            sys.stdin.reconfigure(errors="surrogateescape")
        return sys.stdin
    try:
        return Path(source).open(encoding="utf-8", errors="surrogateescape")
    except OSError as e:
        raise UsageError(f"cannot read {source} ({e.strerror})", hint="check the --input path") from e


def _read_papers(stream: IO[str], name: str) -> Iterator[Paper]:
    """Papers from JSON lines, each read with a bound (MAX_LINE_CHARS): one huge line is refused
    with its number, never read whole into memory."""
    label = "stdin" if name == "-" else name
    for number, line in enumerate(iter(lambda: stream.readline(MAX_LINE_CHARS + 1), ""), 1):
        if len(line.removesuffix("\n")) > MAX_LINE_CHARS:  # the newline is no character of the line
            raise UsageError(
                f"{label} line {number}: longer than {MAX_LINE_CHARS:,} characters",
                hint="give one paper a line (id, title, abstract, categories)",
            )
        try:
            line.encode("utf-8")
        except UnicodeEncodeError as e:  # a surrogate: bytes that were not UTF-8
            raise UsageError(f"{label} line {number}: not UTF-8 text", hint="give UTF-8 JSON lines") from e
        if line.strip():
            yield _paper_line(line, label, number)


def _categories(value: object) -> tuple[str, ...]:
    """A JSON line's categories: a list, or one space-separated string ("cs.CV cs.LG", as in
    arXiv's own metadata dumps); TypeError for anything else."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(c, str) for c in value):
        return tuple(value)
    raise TypeError("categories is neither a list of strings nor a string")


def _paper_line(line: str, label: str, number: int) -> Paper:
    """One JSON line as a Paper; UsageError naming the line when it is not one."""
    try:
        obj = json.loads(line)
        return Paper(
            id=str(obj["id"]),
            title=str(obj["title"]),
            abstract=str(obj.get("abstract") or ""),
            categories=_categories(obj.get("categories")),
        )
    except (json.JSONDecodeError, KeyError, TypeError, AttributeError, RecursionError) as e:
        raise UsageError(
            f'{label} line {number}: not a JSON object with "id" and "title"',
            hint='give one {"id","title","abstract","categories"} object per line',
        ) from e
