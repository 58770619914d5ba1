"""The train job: lists -> enrichment through the export API (paced, cached) -> model, and its CLI output."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from arxiv_server import API_TESTING, ArxivServer, Reply, Request, recorded
from arxivwatch import curated, lists, model
from arxivwatch.clock import FakeClock
from arxivwatch.config import Config
from arxivwatch.jobs import learn, open_store
from conftest import CliRunner

NOW = datetime(2024, 11, 28, 5, 30, tzinfo=UTC)
_ENTRY = re.compile(rb"  <entry>.*?</entry>\n", re.DOTALL)
_ID = re.compile(rb"<id>[^<]*</id>")


class IdLookup:
    """Answers id_list requests with real recorded entries relabelled as the ids asked for."""

    def __init__(self) -> None:
        data = recorded(API_TESTING)
        entries = list(_ENTRY.finditer(data))
        self.head = data[: entries[0].start()]
        self.tail = data[entries[-1].end() :]
        self.entries = [m.group(0) for m in entries]

    def __call__(self, request: Request) -> Reply:
        ids = [i for i in request.param("id_list").split(",") if i]
        body = b"".join(
            _ID.sub(f"<id>http://arxiv.org/abs/{paper_id}v1</id>".encode(), self.entries[n % 100], count=1)
            for n, paper_id in enumerate(ids)
        )
        head = re.sub(rb"<opensearch:totalResults>\d+", b"<opensearch:totalResults>%d" % len(ids), self.head)
        return Reply(200, head + body + self.tail, {"Content-Type": "application/atom+xml"})


@pytest.fixture
def cfg(loopback_config: Config) -> Config:
    return loopback_config


@pytest.fixture
def trained(write_config: Callable[[str], Path], cli: CliRunner) -> str:
    """The path of a config whose model was trained offline by `arxivwatch train`."""
    path = str(write_config(""))
    cli("train", "--offline", "--config", path, check=True)
    return path


def listed_ids() -> set[str]:
    ids = set()
    for path in lists.BUNDLED:
        entries = curated.parse(path.read_text(encoding="utf-8"), str(path))
        ids.update(e.arxiv_id for e in entries if e.arxiv_id)
    return ids


def test_train_enriches_listed_ids_in_paced_batches_and_caches_them(
    cfg: Config, arxiv_server: ArxivServer, tmp_path: Path
) -> None:
    """Listed ids are fetched 100 a call, 3 s apart, cached in the store; a retrain fetches nothing."""
    arxiv_server.script("api", IdLookup())
    ids = listed_ids()
    clock = FakeClock(NOW)
    with (tmp_path / "out.txt").open("w") as out:
        trained = learn.train(cfg, clock=clock, out=out)
    calls = arxiv_server.requests_to("api")
    assert len(calls) == -(-len(ids) // 100)
    assert all(len(c.param("id_list").split(",")) <= 100 for c in calls)
    assert [s for s in clock.sleeps if s > 0] and all(s <= 3.0 for s in clock.sleeps)
    assert "lab@example.org" in (calls[0].header("User-Agent") or "")
    with open_store(cfg, clock) as store:
        assert set(store.get_metadata(sorted(ids))) == ids
    assert model.load(cfg.model_path).trained_at == trained.trained_at
    with (tmp_path / "out2.txt").open("w") as out:
        learn.train(cfg, clock=FakeClock(NOW), out=out)
    assert len(arxiv_server.requests_to("api")) == len(calls), "the retrain used the cache"


def test_offline_training_asks_arxiv_nothing(cfg: Config, arxiv_server: ArxivServer, tmp_path: Path) -> None:
    """--offline trains on what the lists and the cache hold, without one request."""
    with (tmp_path / "out.txt").open("w") as out:
        learn.train(cfg, offline=True, clock=FakeClock(NOW), out=out)
    assert arxiv_server.requests == []
    assert cfg.model_path.exists()


def test_arxiv_down_during_enrichment_warns_and_still_trains(
    cfg: Config, arxiv_server: ArxivServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An export API that stays down costs a warning, not the model."""
    arxiv_server.script("api", Reply(503, b"down", {"Retry-After": "30"}))
    with (tmp_path / "out.txt").open("w") as out:
        learn.train(cfg, clock=FakeClock(NOW), out=out)
    assert cfg.model_path.exists()
    assert "could not fetch metadata" in caplog.text


def test_train_command_prints_per_profile_quality(
    write_config: Callable[[str], Path], cli: CliRunner
) -> None:
    """`arxivwatch train --offline` prints positives, negatives, AP, P@10 and the threshold per profile."""
    result = cli("train", "--offline", "--config", str(write_config("")))
    assert result.returncode == 0, result.stderr
    for word in ("positives", "negatives", "avg precision", "P@10", "threshold"):
        assert word in result.stdout, word
    for name in ("segmentation", "semi-supervised", "medical-imaging"):
        assert name in result.stdout, name


def test_score_command_streams_json_lines_in_order(trained: str, cli: CliRunner) -> None:
    """`arxivwatch score` answers a JSON line per input line, in input order, with scores in [0, 1]."""
    papers = [
        {
            "id": "a1",
            "title": "U-Net for liver tumor segmentation in CT",
            "abstract": "We segment tumors in abdominal CT with a convolutional encoder-decoder.",
            "categories": ["eess.IV"],
        },
        {
            "id": "b2",
            "title": "A note on prime gaps",
            "abstract": "We bound gaps between primes.",
            "categories": ["math.NT"],
        },
        {
            "id": "c3",
            "title": "FixMatch revisited",
            "abstract": "Semi-supervised learning with pseudo-labels.",
            "categories": ["cs.LG"],
        },
    ]
    stdin = "".join(json.dumps(p) + "\n" for p in papers)
    result = cli("score", "--config", trained, stdin=stdin, check=True)
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a1", "b2", "c3"]
    for o in out:
        assert set(o["scores"]) == {"segmentation", "semi-supervised", "medical-imaging"}
        assert all(0.0 <= v <= 1.0 for v in o["scores"].values())
    assert out[0]["scores"]["segmentation"] > out[1]["scores"]["segmentation"]
    assert out[2]["scores"]["semi-supervised"] > out[1]["scores"]["semi-supervised"]
    assert any(r.startswith("like: ") for r in out[0]["reasons"]["segmentation"])


def test_score_command_refuses_a_bad_line_with_its_number(trained: str, cli: CliRunner) -> None:
    """A line that is not a paper object is named by its line number, exit 2, no traceback."""
    result = cli("score", "--config", trained, stdin='{"id": "1", "title": "ok"}\nnot json\n')
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'Error: stdin line 2: not a JSON object with "id" and "title"; '
        'give one {"id","title","abstract","categories"} object per line'
    ]


def test_score_command_refuses_deep_or_non_utf8_input_in_one_line(
    trained: str, cli: CliRunner, tmp_path: Path
) -> None:
    """A line nested 100,000 deep, or a file of non-UTF-8 bytes, is one line naming the line, exit 2."""
    result = cli("score", "--config", trained, stdin='{"id": "1", "title": "ok"}\n' + "[" * 100_000 + "\n")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[0].startswith("Error: stdin line 2: not a JSON object")
    assert "Traceback" not in result.stderr
    latin = tmp_path / "papers.jsonl"
    latin.write_bytes(b'{"id": "1", "title": "ok"}\n{"id": "2", "title": "caf\xe9"}\n')
    result = cli("score", "--config", trained, "--input", str(latin))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {latin} line 2: not UTF-8 text; give UTF-8 JSON lines"
    ]


def test_score_command_refuses_a_line_past_its_bound_without_reading_it_whole(
    trained: str, tmp_path: Path
) -> None:
    """A 50 MB line (no newline) after a good one: one line naming line 2 and the bound, exit 2,
    and the process never holds the whole line: its peak memory is within 20 MB of the same run
    on a line just over the bound (it read all 50 MB before)."""
    import subprocess
    import sys

    script = (
        "import resource, runpy, sys; sys.argv = ['arxivwatch', 'score', '--config', sys.argv[1],"
        " '--input', sys.argv[2]]\n"
        "try:\n    runpy.run_module('arxivwatch', run_name='__main__')\n"
        "finally:\n    print('peak', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,"
        " file=sys.stderr)\n"
    )

    def peak_mb(megabytes: int) -> int:
        path = tmp_path / f"line-{megabytes}.jsonl"
        with path.open("w", encoding="utf-8") as f:
            f.write('{"id": "1", "title": "ok"}\n{"id": "2", "title": "')
            for _ in range(megabytes):
                f.write("x" * 1_000_000)
            f.write("x")
        done = subprocess.run(
            [sys.executable, "-c", script, trained, str(path)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 2, done.stderr
        lines = done.stderr.strip().splitlines()
        assert lines[0] == (
            f"Error: {path} line 2: longer than 1,000,000 characters; "
            "give one paper a line (id, title, abstract, categories)"
        )
        return int(lines[-1].split()[1])

    assert peak_mb(50) - peak_mb(1) < 20


def test_train_reads_a_relative_list_beside_the_config(tmp_path: Path, cli: CliRunner) -> None:
    """A list named relatively in the configuration is found beside it, whatever the working folder."""
    import shutil

    import arxivwatch

    folder = tmp_path / "etc"
    (folder / "lists").mkdir(parents=True)
    bundled = Path(arxivwatch.__file__).parent / "data" / "lists" / "implemented-dl-papers.md"
    shutil.copy(bundled, folder / "lists" / "mine.md")
    cfg = folder / "c.toml"
    cfg.write_text(
        f'[storage]\npath = "{tmp_path / "db" / "a.db"}"\n[arxiv]\ncontact = "lab@example.org"\n'
        '[training]\nlists = ["lists/mine.md"]\n',
        encoding="utf-8",
    )
    result = cli("train", "--offline", "--config", str(cfg))
    assert "mine.md" not in result.stderr or "not found" not in result.stderr, result.stderr
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "db" / "model.npz").is_file()


def test_enrichment_is_not_a_silent_wait(
    cfg: Config, arxiv_server: ArxivServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Fetching the listed ids' metadata logs its start with the number of ids, and its end."""
    import logging

    arxiv_server.script("api", IdLookup())
    with (
        caplog.at_level(logging.DEBUG, logger="arxivwatch.progress"),
        (tmp_path / "out.txt").open("w") as out,
    ):
        learn.train(cfg, clock=FakeClock(NOW), out=out)
    messages = [r.getMessage() for r in caplog.records if r.name == "arxivwatch.progress"]
    total = len(listed_ids())
    assert f"arXiv metadata of the listed papers: started ({total} ids)" in messages
    assert any(m.startswith(f"arXiv metadata of the listed papers: {total} of {total} ids") for m in messages)


def test_score_command_takes_a_line_of_exactly_the_bound(trained: str, cli: CliRunner) -> None:
    """A line of exactly 1,000,000 characters is within the bound whether or not a newline ends it
    (the newline is no character of the line), and one of 1,000,001 is refused either way."""
    head = '{"id": "1", "title": "'
    exact = head + "x" * (1_000_000 - len(head) - 2) + '"}'
    assert len(exact) == 1_000_000
    for stdin in (exact + "\n", exact):
        result = cli("score", "--config", trained, stdin=stdin)
        assert result.returncode == 0, result.stderr
        assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["1"]
    over = exact[:-2] + 'x"}'
    for stdin in (over + "\n", over):
        result = cli("score", "--config", trained, stdin=stdin)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines()[0].startswith("Error: stdin line 1: longer than 1,000,000")


def test_listed_papers_in_the_store_leave_the_background_its_size(
    cfg: Config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store whose newest papers include 20 listed ones: training's background is still the
    full size, of stored papers only, and holds none of the listed (they are positives)."""
    from arxivwatch import train as trainer
    from arxivwatch.jobs import background as negatives
    from arxivwatch.models import Paper

    monkeypatch.setattr(negatives, "BACKGROUND_LIMIT", 300)
    listed = sorted(listed_ids())[:20]
    with open_store(cfg, FakeClock(NOW)) as store:
        for k in range(300):
            store.upsert_papers(
                [Paper(id=f"2411.{k:05d}", title=f"Stored paper {k}", categories=("cs.CV",))],
                announced=datetime(2024, 11, 27).date(),
            )
        store.upsert_papers(
            [Paper(id=i, title=f"Listed paper {i}", categories=("cs.CV",)) for i in listed],
            announced=NOW.date(),
        )
    seen: list[list[Paper]] = []
    real = trainer.train

    def spy(*args: object, **kwargs: object) -> model.Model:
        seen.append(list(kwargs["background"]))  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(trainer, "train", spy)
    with (tmp_path / "out.txt").open("w") as out:
        learn.train(cfg, offline=True, clock=FakeClock(NOW), out=out)
    (background,) = seen
    assert len(background) == 300
    assert {p.id for p in background} == {f"2411.{k:05d}" for k in range(300)}


def test_score_input_categories_as_a_string_are_split_on_spaces() -> None:
    """`"categories": "cs.CV cs.LG"` (arXiv's metadata dumps) is two categories, not seven
    characters; a number there is the one line naming the line."""
    from arxivwatch.errors import UsageError

    paper = learn._paper_line('{"id": "1", "title": "t", "categories": "cs.CV cs.LG"}', "stdin", 1)
    assert paper.categories == ("cs.CV", "cs.LG")
    listed = learn._paper_line('{"id": "1", "title": "t", "categories": ["eess.IV"]}', "stdin", 1)
    assert listed.categories == ("eess.IV",)
    with pytest.raises(UsageError, match='stdin line 3: not a JSON object with "id" and "title"'):
        learn._paper_line('{"id": "1", "title": "t", "categories": 5}', "stdin", 3)
