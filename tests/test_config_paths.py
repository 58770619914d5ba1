"""A regular file where a configured folder belongs: one line naming it, exit 2, for every path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from arxivwatch import config, model
from arxivwatch.deliver import file
from arxivwatch.errors import ConfigError, DeliveryError, ModelError, StoreMisplaced
from arxivwatch.paths import file_in_the_way
from arxivwatch.render import render
from arxivwatch.store import Store
from digest_samples import sample_digest

# Nothing listens on port 9 of loopback: should a check regress, no test reaches arXiv.
OFFLINE = '[arxiv]\napi_url = "http://127.0.0.1:9/api"\nfeed_url = "http://127.0.0.1:9/rss"\n'


def _write(tmp_path: Path, text: str) -> Path:
    """A configuration file in tmp_path holding `text` and a regular file `blocker` beside it."""
    (tmp_path / "blocker").write_text("a file, not a folder\n", encoding="utf-8")
    cfg = tmp_path / "arxivwatch.toml"
    cfg.write_text(OFFLINE + text, encoding="utf-8")
    return cfg


@pytest.mark.parametrize(
    ("text", "said", "key"),
    [
        (
            '[storage]\npath = "blocker/arxivwatch.db"\n',
            "[storage] path {b}/arxivwatch.db: {b}",
            "[storage] path",
        ),
        (
            '[storage]\npath = "data/arxivwatch.db"\n[digest]\nfolder = "blocker"\n',
            "[digest] folder {b}",
            "[digest] folder",
        ),
        (
            '[storage]\npath = "data/arxivwatch.db"\n[digest]\nfolder = "blocker/out"\n',
            "[digest] folder {b}/out: {b}",
            "[digest] folder",
        ),
        (
            '[storage]\npath = "data/arxivwatch.db"\n[training]\nmodel = "blocker/model.npz"\n',
            "[training] model {b}/model.npz: {b}",
            "[training] model",
        ),
        (
            '[storage]\npath = "data/arxivwatch.db"\n[digest]\ntemplates = "blocker"\n',
            "[digest] templates {b}",
            "[digest] templates",
        ),
        (
            '[storage]\npath = "data/arxivwatch.db"\n[training]\nprofiles = "blocker/mine"\n',
            "[training] profiles {b}/mine: {b}",
            "[training] profiles",
        ),
        (
            '[storage]\npath = "data/arxivwatch.db"\n[training]\nlists = ["blocker/list.md"]\n',
            "[training] lists {b}/list.md: {b}",
            "[training] lists",
        ),
    ],
)
def test_every_configured_path_under_a_file_is_one_config_error(
    text: str, said: str, key: str, tmp_path: Path
) -> None:
    """Each configured path with a regular file where its folder belongs is a ConfigError naming both."""
    cfg = _write(tmp_path, text)
    blocker = tmp_path / "blocker"
    with pytest.raises(ConfigError) as caught:
        config.load(str(cfg), env={})
    assert str(caught.value) == (
        f"{cfg}: {said.format(b=blocker)} is a file, not a folder; "
        f"move or rename the file {blocker}, or set {key} to a path in a folder"
    )
    assert caught.value.exit_code == 2


def test_the_list_cache_under_the_data_folder_is_checked_too(tmp_path: Path) -> None:
    """With a list from a URL, a file named `lists` in the data folder (the list cache) is named."""
    text = '[storage]\npath = "data/arxivwatch.db"\n[training]\nlists = ["http://127.0.0.1:9/list.md"]\n'
    cfg = _write(tmp_path, text)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "lists").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load(str(cfg), env={})
    assert str(caught.value) == (
        f"{cfg}: the list cache {tmp_path / 'data' / 'lists'} is a file, not a folder; "
        f"move or rename the file {tmp_path / 'data' / 'lists'}, or set [storage] path to a path in a folder"
    )


def test_missing_folders_are_fine(tmp_path: Path) -> None:
    """Folders that do not exist yet are no mistake: they are created when first needed."""
    cfg = _write(tmp_path, '[storage]\npath = "a/b/arxivwatch.db"\n[digest]\nfolder = "c/d"\n')
    loaded = config.load(str(cfg), env={})
    assert loaded.db_path == tmp_path / "a" / "b" / "arxivwatch.db"
    assert file_in_the_way(tmp_path / "a" / "b" / "arxivwatch.db", folder=False) is None


@pytest.mark.parametrize("command", ["status", "poll"])
def test_status_and_poll_agree_the_database_parent_is_a_file(command: str, tmp_path: Path) -> None:
    """`status` does not say "no database yet: run poll" when poll would fail: both exit 2 naming it."""
    cfg = _write(tmp_path, '[storage]\npath = "blocker/arxivwatch.db"\n')
    result = subprocess.run(
        [sys.executable, "-m", "arxivwatch", command, "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    blocker = tmp_path / "blocker"
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: {cfg}: [storage] path {blocker}/arxivwatch.db: {blocker} is a file, not a folder; "
        f"move or rename the file {blocker}, or set [storage] path to a path in a folder\n"
    )


def test_the_store_itself_names_the_file_in_the_way(tmp_path: Path) -> None:
    """Opening a store under a regular file (the configuration bypassed) is StoreMisplaced naming the file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(StoreMisplaced) as caught:
        Store(blocker / "sub" / "arxivwatch.db")
    assert str(caught.value) == (
        f"the database path {blocker}/sub/arxivwatch.db: {blocker} is a file, not a folder; "
        f"move or rename the file {blocker}, or set [storage] path to a path in a folder"
    )
    assert caught.value.exit_code == 2


def test_saving_a_model_under_a_file_names_the_file(tmp_path: Path) -> None:
    """A model saved where a parent folder is a regular file: ModelError naming that file and the key."""
    from trained_model import install_model

    good = tmp_path / "good" / "model.npz"
    install_model(good)
    blocker = tmp_path / "blocker"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ModelError) as caught:
        model.save(model.load(good), blocker / "model.npz")
    assert str(caught.value) == (
        f"cannot write the model: the model path {blocker}/model.npz: {blocker} is a file, not a folder; "
        f"move or rename the file {blocker}, or set [training] model to a path in a folder; "
        "the previous model is still in place"
    )


def test_a_digest_folder_that_became_a_file_names_it(tmp_path: Path) -> None:
    """A file put where the digest folder was after the configuration loaded: the file channel names it."""
    folder = tmp_path / "digests"
    folder.write_text("x", encoding="utf-8")
    with pytest.raises(DeliveryError) as caught:
        file.write_files(render(sample_digest()), folder)
    assert str(caught.value) == (
        f"file: cannot write the digest: the folder {folder} is a file, not a folder; "
        f"move or rename the file {folder}, or set [digest] folder to another folder"
    )


_DB = '[storage]\npath = "inplace"\n'
_MODEL = '[storage]\npath = "data/arxivwatch.db"\n[training]\nmodel = "inplace"\n'
_LIST = '[storage]\npath = "data/arxivwatch.db"\n[training]\nlists = ["inplace"]\n'


@pytest.mark.parametrize(
    ("text", "label", "command"),
    [(_DB, "[storage] path", c) for c in ("status", "poll", "digest", "train", "prune")]
    + [(_MODEL, "[training] model", c) for c in ("status", "poll", "digest", "train", "prune")]
    + [(_LIST, "[training] lists", c) for c in ("status", "train")],
)
def test_a_folder_where_a_file_belongs_is_the_same_line_for_every_command(
    text: str, label: str, command: str, tmp_path: Path
) -> None:
    """The database, model or list path being a folder is one line naming it, exit 2, from every command
    (not "no database yet", "the model file is damaged", nor a train that fetches first and fails later)."""
    cfg = _write(tmp_path, text)
    (tmp_path / "inplace").mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "arxivwatch", command, "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    folder = tmp_path / "inplace"
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"Error: {cfg}: {label} {folder} is a folder, not a file; "
        f"move the folder away, or set {label} to a file's path\n"
    )


def test_a_broken_symbolic_link_in_the_way_is_called_one(tmp_path: Path) -> None:
    """A dangling symbolic link where the database's folder belongs is named as a broken link to its
    target (creating that target is the fix), not as "a file"."""
    cfg = _write(tmp_path, '[storage]\npath = "link/arxivwatch.db"\n')
    (tmp_path / "link").symlink_to(tmp_path / "gone")
    with pytest.raises(ConfigError) as caught:
        config.load(str(cfg), env={})
    assert str(caught.value).startswith(
        f"{cfg}: [storage] path {tmp_path}/link/arxivwatch.db: {tmp_path}/link is a broken symbolic link "
        f"(to {tmp_path}/gone), not a folder; "
    )


def test_slack_with_a_channel_but_an_empty_token_env_names_the_key(tmp_path: Path) -> None:
    """[slack] token_env = "" with a channel and no webhook names the key, at load (exit 2), instead of
    a send failing with "no Slack credentials: $ is not set; export the bot token as ,"."""
    cfg = _write(tmp_path, '[slack]\nenabled = true\nchannel = "#digest"\ntoken_env = ""\n')
    with pytest.raises(ConfigError) as caught:
        config.load(str(cfg), env={})
    assert str(caught.value) == (
        f"{cfg}: [slack] token_env is empty, so nothing names the bot token's variable; "
        'set token_env = "SLACK_BOT_TOKEN" (the variable holding the bot token), or webhook_url_env'
    )
    assert caught.value.exit_code == 2
