"""The shape of the package: data flows one way, and each outside resource has one owner."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import arxivwatch

PACKAGE = Path(arxivwatch.__file__).parent
LEAVES = {"models", "errors", "clock", "titles", "logs"}
SHELLS_AND_COMPOSITION = {"cli", "scheduler", "config", "jobs", "__main__"}


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name below arxivwatch (e.g. 'store.ledger')."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__") or "__init__"
        found[name] = path
    return found


def imports(path: Path) -> set[str]:
    """The absolute module names a file imports, anywhere in it (lazy imports included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def ours(path: Path) -> set[str]:
    return {n.removeprefix("arxivwatch.") for n in imports(path) if n.startswith("arxivwatch.")}


@pytest.mark.parametrize("leaf", sorted(LEAVES))
def test_leaves_import_nothing_of_ours(leaf: str) -> None:
    """models, errors and clock are leaves: every other module may use them, they use none."""
    assert ours(modules()[leaf]) == set()


def test_steps_do_not_reach_up_to_config_jobs_or_shells() -> None:
    """Steps take plain values: none imports config, jobs, cli or the scheduler."""
    offenders = {}
    for name, path in modules().items():
        top = name.split(".")[0]
        if top in SHELLS_AND_COMPOSITION or name == "__init__":
            continue
        bad = {n for n in ours(path) if n.split(".")[0] in SHELLS_AND_COMPOSITION}
        if bad:
            offenders[name] = sorted(bad)
    assert offenders == {}


def test_config_imports_neither_jobs_nor_shells() -> None:
    """config validates crons with the schedule step below it: no import runs back up to jobs or shells."""
    bad = {n for n in ours(modules()["config"]) if n.split(".")[0] in {"jobs", "cli", "scheduler"}}
    assert bad == set()
    assert "schedule" in ours(modules()["config"])


def test_schedule_code_has_no_while_loop() -> None:
    """Every loop in the schedule math runs over a bounded range: no `while` in schedule.py."""
    for name in ("schedule", "cron_trigger"):
        tree = ast.parse(modules()[name].read_text(encoding="utf-8"))
        assert not [node for node in ast.walk(tree) if isinstance(node, ast.While)], name


def test_only_the_store_touches_sqlite() -> None:
    """The store package is the only code that opens the database."""
    users = {name for name, path in modules().items() if "sqlite3" in imports(path)}
    assert users and all(name.startswith("store") for name in users), users


def test_only_the_arxiv_client_talks_to_arxiv() -> None:
    """httpx is used by the arXiv client, and by nothing else but the curated-list fetcher and
    arxiv.proxies (which sends nothing: it reads the environment's proxies as httpx does)."""
    users = {name for name, path in modules().items() if "httpx" in imports(path)}
    assert users <= {"arxiv.client", "arxiv.proxies", "lists"}, users
    assert "arxiv.client" in users


def test_no_module_unpickles() -> None:
    """Nothing from the network or the disk is unpickled: no pickle, joblib or skops loaders."""
    for name, path in modules().items():
        assert not imports(path) & {"pickle", "joblib", "dill", "cloudpickle"}, name
