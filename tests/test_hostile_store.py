"""Hostile storage: locked, damaged, full, read-only, newer or misplaced stores, and damaged models.

Each failure ends as one line naming the file and what to do, with nothing lost: the
transaction rolled back, the old model in place, the lock released.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import signal
import sqlite3
import zipfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest

import trained_model
from arxiv_server import RESTRICTED_FEED, ArxivServer, Reply, recorded
from arxivwatch import model
from arxivwatch.arxiv.parse import parse_feed
from arxivwatch.clock import FakeClock
from arxivwatch.errors import ModelError, StoreError, StoreMisplaced
from arxivwatch.models import Paper
from arxivwatch.store import MIGRATIONS, Store
from conftest import CliRunner

DAY = date(2024, 11, 28)


@pytest.fixture(scope="module")
def papers() -> tuple[Paper, ...]:
    return parse_feed(recorded(RESTRICTED_FEED)).papers


@pytest.fixture(scope="module")
def trained() -> model.Model:
    return trained_model.trained()


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past `limit` bytes fail with EFBIG for this process, as on a full disk."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text
    return text


def damaged_store(path: Path, papers: tuple[Paper, ...]) -> None:
    """A store with a day of papers whose pages after the second are overwritten with junk."""
    with Store(path) as store:
        store.upsert_papers(papers, announced=DAY)
        store._rows("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = bytearray(path.read_bytes())
    for offset in range(2 * 4096, len(raw) - 4096, 4096):
        raw[offset : offset + 100] = b"\xff" * 100
    path.write_bytes(bytes(raw))


def test_locked_beyond_the_busy_timeout_is_one_line_and_writes_nothing(
    tmp_path: Path, papers: tuple[Paper, ...]
) -> None:
    """Another writer holding the database past the 0.3 s busy timeout: one line naming file and wait."""
    path = tmp_path / "a.db"
    Store(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with Store(path, busy_timeout=0.3) as store:
            with pytest.raises(StoreError) as caught:
                store.upsert_papers(papers[:5], announced=DAY)
            line = one_line(caught.value)
            assert f"the database {path} failed: database is locked" in line
            assert "busy for more than 0.3 s" in line
            assert caught.value.exit_code == 1
    finally:
        other.execute("ROLLBACK")
        other.close()
    with Store(path) as store:
        assert store.count_papers() == 0


def test_disk_full_rolls_back_and_names_the_cause(tmp_path: Path, papers: tuple[Paper, ...]) -> None:
    """A full database (max_page_count) mid-poll: 'full' is named, no row stays, the store works after."""
    path = tmp_path / "a.db"
    with Store(path) as store:
        store.upsert_papers(papers[:3], announced=DAY)
        pages = int(store._rows("PRAGMA page_count")[0][0])
        store._rows(f"PRAGMA max_page_count = {pages + 2}")
        with pytest.raises(StoreError) as caught:
            store.upsert_papers(papers, announced=DAY)
        line = one_line(caught.value)
        assert "database or disk is full" in line and "free space on its disk" in line
        assert str(path) in line
        assert store.count_papers() == 3
        assert not store._db.in_transaction
        store.beat("poll", True, "still writable")  # the connection is usable again
        assert store.heartbeats()["poll"][1] is True


def test_read_only_database_is_one_line(tmp_path: Path, papers: tuple[Paper, ...]) -> None:
    """A database that cannot be written: one line telling to make it writable, nothing half-stored."""
    path = tmp_path / "a.db"
    with Store(path) as store:
        store._rows("PRAGMA query_only = ON")
        with pytest.raises(StoreError) as caught:
            store.upsert_papers(papers[:5], announced=DAY)
        assert "readonly" in one_line(caught.value) and "writable" in str(caught.value)
        store._rows("PRAGMA query_only = OFF")
        assert store.count_papers() == 0


def test_damaged_database_in_poll_and_digest_is_one_line(
    cli: CliRunner,
    write_config: Callable[[str], Path],
    arxiv_server: ArxivServer,
    tmp_path: Path,
    papers: tuple[Paper, ...],
    trained: model.Model,
) -> None:
    """'database disk image is malformed' in poll and digest: exit 1, one line naming the file."""
    db = tmp_path / "data" / "arxivwatch.db"
    db.parent.mkdir()
    damaged_store(db, papers)
    model.save(trained, db.parent / "model.npz")
    arxiv_server.script("rss", Reply(200, recorded(RESTRICTED_FEED)))
    config = write_config(f'[arxiv]\nfeed_url = "{arxiv_server.feed_url}"\ncontact = "lab@example.org"\n')
    for command in ("poll", "digest"):
        result = cli(command, "--config", str(config))
        assert result.returncode == 1, result.stderr
        errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
        assert errors == [
            f"Error: the database {db} failed: database disk image is malformed; the file is damaged: "
            "restore it from a backup, or move it away to start a new store"
        ], result.stderr
        assert "Traceback" not in result.stderr


def test_newer_schema_exits_2(cli: CliRunner, write_config: Callable[[str], Path], tmp_path: Path) -> None:
    """A store written by a newer arxivwatch: exit 2 (systemd does not restart it), one line."""
    db = tmp_path / "data" / "arxivwatch.db"
    Store(db).close()
    with contextlib.closing(sqlite3.connect(db)) as raw:
        raw.execute("PRAGMA user_version = 99")
    result = cli("status", "--check", "--config", str(write_config("")))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: the database {db} has schema 99, newer than this arxivwatch knows ({len(MIGRATIONS)}); "
        "upgrade arxivwatch, or point [storage] path at another file"
    ]


def test_folder_at_the_database_path_exits_2(tmp_path: Path) -> None:
    """A folder where the database file belongs is a StoreMisplaced (exit 2) naming it."""
    folder = tmp_path / "store.db"
    folder.mkdir()
    with pytest.raises(StoreMisplaced) as caught:
        Store(folder)
    assert caught.value.exit_code == 2
    assert f"the database path {folder} is a folder" in one_line(caught.value)


def test_lock_file_that_cannot_be_written_is_released(tmp_path: Path) -> None:
    """The daemon's pid cannot be written (disk full): one line naming the lock file, lock released."""
    with Store(tmp_path / "a.db", clock=FakeClock()) as store:
        with file_size_limit(0), pytest.raises(StoreError) as caught, store.lock():
            pass
        assert f"cannot write to the lock file {tmp_path / 'a.db.lock'}" in one_line(caught.value)
        with store.lock():  # released: taking it again works
            assert (tmp_path / "a.db.lock").read_text().strip().isdigit()


@pytest.mark.parametrize("name", ["a.db.lock", "a.db.send.lock"])
def test_both_lock_files_fail_as_one_line_and_are_released(tmp_path: Path, name: str) -> None:
    """The daemon's lock and the senders' lock alike: a folder in the lock file's place, or a pid
    the disk refuses, is one StoreError naming the file, and the lock is free afterwards."""
    with Store(tmp_path / "a.db", clock=FakeClock()) as store:
        take = store.lock if name == "a.db.lock" else lambda: store.sending(wait=1)
        (tmp_path / name).mkdir()
        with pytest.raises(StoreError) as caught, take():
            pass
        assert f"cannot open the lock file {tmp_path / name}" in one_line(caught.value)
        (tmp_path / name).rmdir()
        with file_size_limit(0), pytest.raises(StoreError) as caught, take():
            pass
        assert f"cannot write to the lock file {tmp_path / name}" in one_line(caught.value)
        with take():  # released: taking it again works
            assert (tmp_path / name).read_text().strip().isdigit()


def test_model_member_that_is_not_an_array_is_one_line(tmp_path: Path) -> None:
    """A model file whose meta member is not an .npy array: ModelError naming it, not AttributeError."""
    path = tmp_path / "model.npz"
    np.savez(tmp_path / "ok.npz", idf=np.zeros(2))
    with zipfile.ZipFile(tmp_path / "ok.npz") as good, zipfile.ZipFile(path, "w") as archive:
        archive.writestr("idf.npy", good.read("idf.npy"))
        archive.writestr("meta", b'{"format": 2}')
    with pytest.raises(ModelError) as caught:
        model.load(path)
    assert "is damaged (meta is not an array)" in one_line(caught.value)


def test_model_save_on_a_full_disk_keeps_the_old_model(trained: model.Model, tmp_path: Path) -> None:
    """Saving a model when the disk fills: one line saying the old model is in place; it is, unchanged."""
    path = tmp_path / "model.npz"
    path.write_bytes(b"the previous model")
    with file_size_limit(4096), pytest.raises(ModelError) as caught:
        model.save(trained, path)
    line = one_line(caught.value)
    assert f"cannot write the model {path}: File too large" in line
    assert "the previous model is still in place" in line
    assert path.read_bytes() == b"the previous model"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def _huge_npy() -> bytes:
    """An .npy member whose header claims 200,000 x 200,000 float64 (298 GiB) over 100 bytes of data."""
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (200000, 200000), }"
    header += b" " * (117 - len(header)) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header + bytes(100)


@pytest.mark.parametrize(
    "member",
    [
        pytest.param(lambda meta: b"", id="meta-shape-too-large"),
        pytest.param(lambda meta: b"[" * 100_000, id="meta-nested-100000-deep"),
        pytest.param(lambda meta: {k: "x" for k in meta} | {"format": meta["format"]}, id="meta-fields-str"),
    ],
)
def test_model_with_a_hostile_member_is_one_line(
    trained: model.Model, tmp_path: Path, member: Callable[[dict[str, object]], object]
) -> None:
    """A meta member claiming 298 GiB, nested 100,000 deep or all strings: ModelError, no traceback."""
    good = tmp_path / "good.npz"
    model.save(trained, good)
    with np.load(good, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    meta = json.loads(arrays["meta"].tobytes().decode("utf-8"))
    replacement = member(meta)
    path = tmp_path / "model.npz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            if name == "meta" and replacement == b"":
                buffer.write(_huge_npy())
            elif name == "meta":
                text = replacement if isinstance(replacement, bytes) else json.dumps(replacement).encode()
                np.save(buffer, np.frombuffer(text, dtype=np.uint8), allow_pickle=False)
            else:
                np.save(buffer, array, allow_pickle=False)
            archive.writestr(f"{name}.npy", buffer.getvalue())
    with pytest.raises(ModelError) as caught:
        model.load(path)
    assert f"the model file {path} is damaged" in one_line(caught.value)
