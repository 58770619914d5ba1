"""The command line: a few lines per command over `arxivwatch.jobs`, and the single exit point.

Heavy libraries (scikit-learn, Jinja2, APScheduler, slack-sdk) are imported only inside
the jobs that need them, so `arxivwatch --help` starts fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from arxivwatch import __version__
from arxivwatch.errors import ArxivwatchError, UsageError

if TYPE_CHECKING:
    from arxivwatch.config import Config

log = logging.getLogger("arxivwatch")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the fix, exit 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}", hint=f"see `{self.prog} --help`")


def _cmd_demo(args: argparse.Namespace) -> int:
    """Offline, with no configuration: train on the bundled curated lists, score the
    bundled sample of a real arXiv announcement feed (2024-11-28), write the digest to
    DIR (digest.html, digest.txt, digest.md, slack.json) and print a ranked table per
    profile."""
    from arxivwatch.jobs import learn

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise UsageError(
            f"--out {out} is a file, not a folder",
            hint="give a folder for the four digest files (it is created if missing)",
        )
    learn.demo(out, profile_names=args.profile or ())
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    """Parse the curated lists, enrich the listed arXiv ids with their metadata (export
    API, cached in the store), train one classifier per profile, save the model
    atomically, and print per-profile counts and cross-validated quality."""
    from arxivwatch.jobs import learn

    learn.train(_config(args), lists=args.list or (), offline=args.offline, profile_names=args.profile or ())
    return 0


def _cmd_poll(args: argparse.Namespace) -> int:
    """Fetch the new announcements of the configured categories (or, with --since, a
    date range through the export API), store them, and score what is new. Polling
    the same announcement twice stores nothing new."""
    from arxivwatch.jobs import poll

    poll.poll(_config(args), since=args.since, until=args.until)
    return 0


def _cmd_digest(args: argparse.Namespace) -> int:
    """Send each enabled channel (or --channel) the papers it was not offered yet: its
    pending digests first, exactly as recorded, then this period's digest. A digest is
    recorded (frozen) before it is sent and marked sent once the channel accepted it;
    papers announced before the period are included, marked late. Prints one line per
    channel. --dry-run renders without sending or recording."""
    from arxivwatch.jobs import digest

    config = _config(args)
    # a run that prints a digest (a dry run, or the stdout channel) keeps stdout for it: the
    # channel lines then go to stderr, so `arxivwatch digest > digest.txt` holds the digest only
    prints = args.dry_run or "stdout" in (args.channel or digest.enabled_channels(config))
    digest.digest(
        config,
        period=args.period,
        channels=args.channel,
        dry_run=args.dry_run,
        report=sys.stderr if prints else sys.stdout,
    )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    """The daemon: poll and send digests on the configured schedule, catching up on
    what was missed while it was down. --once does what is due now and exits."""
    from arxivwatch.scheduler import run

    return run(_config(args), once=args.once)


def _cmd_score(args: argparse.Namespace) -> int:
    """Score papers given as JSON lines ({"id","title","abstract","categories"}) and
    write JSON lines ({"id","scores":{profile: value},"reasons":{profile: [...]}}), in
    input order, as they come."""
    from arxivwatch.jobs import learn

    config = _config(args)
    if args.input == "-" and sys.stdin.isatty():  # else a newcomer waits on a silent terminal
        print(
            'Reading JSON lines {"id","title","abstract","categories"} from the terminal; '
            "end with Ctrl-D (or give --input FILE).",
            file=sys.stderr,
        )
    learn.score_lines(config, args.input)
    return 0


def _cmd_prune(args: argparse.Namespace) -> int:
    """Delete the papers not seen for [storage] keep_days (stored or seen again longer
    ago), with their scores and version history, except those a pending digest holds;
    --vacuum then compacts the database file. The daemon prunes after every scheduled poll."""
    from arxivwatch.jobs import retention

    config = _config(args)
    if not config.db_path.exists():  # like status, prune creates none (a mistyped path shows)
        print(f"Nothing pruned: no database at {config.db_path} yet (check [storage] path).")
        return 0
    outcome = retention.prune(config, vacuum=args.vacuum, log_summary=False)
    if outcome.before is None:
        print("Nothing pruned: [storage] keep_days = 0 keeps every paper.")
    else:
        print(
            f"Pruned {outcome.deleted} paper(s) not seen since {outcome.before.date()}"
            f" ({outcome.kept} kept for pending digests)."
        )
    if args.vacuum:
        print(f"Database: {outcome.size_before / 1e6:.1f} MB -> {outcome.size_after / 1e6:.1f} MB.")
    else:
        print(f"Database: {outcome.size_after / 1e6:.1f} MB (--vacuum compacts it).")
    return 0


def _cmd_lists_show(args: argparse.Namespace) -> int:
    """Print the entries parsed from one curated list (a file or a URL), one JSON
    object per line: arxiv_id, title, urls, year, venue, section, text, source. A
    summary goes to stderr: entries with and without an arXiv id, and lines that
    mention a paper but gave no entry (their numbers with -v)."""
    from arxivwatch.jobs import learn

    learn.show_list(_config(args), args.path_or_url, verbose=args.verbose)
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    """Show the last poll and its outcome, papers stored, model age and quality,
    digests per channel and the next scheduled runs (where no database exists yet, one
    line saying so: nothing is created). --json for scripts; --check exits 1 when
    unhealthy: no database or never polled, the last poll failed or is overdue, no model
    loads, the last digest failed, a digest is left pending (its delivery failed, its run
    died, or its channel is turned off), or the feed is stuck."""
    from arxivwatch.jobs import status

    return status.status(_config(args), as_json=args.json, check=args.check)


def _config(args: argparse.Namespace) -> Config:
    import os

    from arxivwatch import config, logs

    loaded = config.load(getattr(args, "config", None))
    logs.redact_secrets(config.secret_names(loaded), os.environ)
    return loaded


def _doc(func: Callable[..., object]) -> str:
    return " ".join((func.__doc__ or "").split())


def _summary(doc: str) -> str:
    """The first sentence of a command's docstring, ending in exactly one period."""
    return doc.split(". ")[0].rstrip(".") + "."


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _common(*, suppress: bool) -> _Parser:
    """The global options; with `suppress`, an option not given sets nothing (see build_parser)."""
    common = _Parser(add_help=False)
    default: dict[str, object] = {"default": argparse.SUPPRESS} if suppress else {}
    common.add_argument(
        "--config",
        metavar="FILE",
        help="configuration file (default: $ARXIVWATCH_CONFIG, else ./arxivwatch.toml, else defaults)",
        **default,  # type: ignore[arg-type]
    )
    options = (
        (("--debug",), "show tracebacks and all debug logging, third-party libraries' too"),
        (("-v", "--verbose"), "log more (arxivwatch's debug level)"),
        (("-q", "--quiet"), "log only warnings and errors"),
    )
    for flags, text in options:
        common.add_argument(*flags, action="store_true", help=text, **default)  # type: ignore[arg-type]
    return common


def build_parser() -> argparse.ArgumentParser:
    """The parser: global options are accepted before or after the subcommand alike."""
    common = _common(suppress=False)
    # The subcommands take the same options with no default of their own, so an option
    # given before the subcommand is not overwritten by the subcommand's default.
    sub_common = _common(suppress=True)

    parser = _Parser(
        prog="arxivwatch",
        description="Watch arXiv for a research group: score new papers against topic profiles "
        "learned from curated paper lists and send a ranked, explained digest.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"arxivwatch {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def add(name: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        doc = _doc(func)
        p = sub.add_parser(name, help=_summary(doc), description=doc, parents=[sub_common])
        p.set_defaults(func=func)
        return p

    p = add("demo", _cmd_demo)
    p.add_argument(
        "--out", metavar="DIR", default="digest", help="folder for the digest files (default: ./digest)"
    )
    p.add_argument("--profile", action="append", metavar="NAME", help="only this profile (repeatable)")

    p = add("train", _cmd_train)
    p.add_argument(
        "--list",
        action="append",
        metavar="PATH_OR_URL",
        help="a curated list to train on (repeatable; default: [training] lists, else the bundled ones)",
    )
    p.add_argument(
        "--offline",
        action="store_true",
        help="do not ask arXiv for metadata; use what the lists and the cache hold",
    )
    p.add_argument("--profile", action="append", metavar="NAME", help="only this profile (repeatable)")

    p = add("poll", _cmd_poll)
    p.add_argument("--since", type=_date, metavar="DATE", help="first submission date to fetch (YYYY-MM-DD)")
    p.add_argument(
        "--until", type=_date, metavar="DATE", help="last submission date to fetch (default: today)"
    )

    p = add("digest", _cmd_digest)
    p.add_argument("--period", choices=["day", "week"], help="the period to cover (default: [digest] period)")
    p.add_argument(
        "--channel",
        choices=["email", "slack", "file", "stdout"],
        action="append",
        help="where to send it (repeatable; default: every enabled channel, else stdout)",
    )
    p.add_argument("--dry-run", action="store_true", help="render and print without sending or recording")

    p = add("run", _cmd_run)
    p.add_argument(
        "--once", action="store_true", help="do what is due now (poll, and any digest due) and exit"
    )

    p = add("score", _cmd_score)
    p.add_argument(
        "--input", default="-", metavar="FILE", help="JSON lines to score, or - for stdin (default)"
    )

    p = add("prune", _cmd_prune)
    p.add_argument("--vacuum", action="store_true", help="then compact the database file (VACUUM)")

    lists = sub.add_parser(
        "lists", help="Inspect curated lists.", description="Inspect curated lists.", parents=[sub_common]
    )
    lists.set_defaults(func=lambda _args: _help(lists))
    lists_sub = lists.add_subparsers(dest="lists_command", metavar="COMMAND", parser_class=_Parser)
    p = lists_sub.add_parser(
        "show",
        help=_summary(_doc(_cmd_lists_show)),
        description=_doc(_cmd_lists_show),
        parents=[sub_common],
    )
    p.set_defaults(func=_cmd_lists_show)
    p.add_argument("path_or_url", metavar="PATH_OR_URL", help="a markdown file or an http(s) URL")

    p = add("status", _cmd_status)
    p.add_argument("--json", action="store_true", help="print JSON for scripts and health checks")
    p.add_argument(
        "--check",
        action="store_true",
        help="exit 1 when unhealthy (polling, the model, a failed or left-pending digest, a stuck feed)",
    )
    return parser


def _date(text: str) -> object:
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2024-11-28") from e


def _setup_logging(args: argparse.Namespace) -> None:
    from arxivwatch import logs

    logs.setup(
        quiet=getattr(args, "quiet", False),
        verbose=getattr(args, "verbose", False),
        debug=getattr(args, "debug", False),
    )


def main(argv: Sequence[str] | None = None) -> int:
    """The single exit point: an ArxivwatchError becomes one line on stderr and its exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
        if getattr(args, "func", None) is None:
            build_parser().print_help()
            return 2
        if getattr(args, "quiet", False) and getattr(args, "verbose", False):
            raise UsageError("arxivwatch: -q/--quiet and -v/--verbose together", hint="give one of them")
        _setup_logging(args)
        return int(args.func(args))
    except ArxivwatchError as e:
        from arxivwatch.logs import redact

        if debug:
            import traceback

            print(redact(traceback.format_exc()), file=sys.stderr, end="")
        print(redact(f"Error: {e}"), file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (e.g. `arxivwatch score | head`); not an error of ours
        sys.stderr.close()
        return 0
    except Exception:
        # A bug of ours: show the traceback, with any secret value redacted from it.
        import traceback

        from arxivwatch.logs import redact

        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        return 1


if __name__ == "__main__":
    sys.exit(main())
