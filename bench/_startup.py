"""Cold start: `arxivwatch --help` as a fresh process, and which heavy modules it imported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from _stats import Figure, repeat

# The modules `--help` must not pay for (STYLE.md rule 6 names the first five; the rest are
# slow to import too and needed only by the commands that use them).
HEAVY = (
    "sklearn",
    "jinja2",
    "apscheduler",
    "slack_sdk",
    "numpy",
    "scipy",
    "httpx",
    "feedparser",
    "rich",
    "css_inline",
    "markdown_it",
)
TARGET = 0.3

# Runs the CLI exactly as `python -m arxivwatch --help` would, then lists what got imported.
_PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["arxivwatch", "--help"]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("arxivwatch", run_name="__main__", alter_sys=True)
    except SystemExit:
        pass
heavy = %r
print(json.dumps({"heavy": [m for m in heavy if m in sys.modules], "modules": len(sys.modules)}))
"""


def console_script() -> Path | None:
    """The `arxivwatch` console script: on PATH, else beside this interpreter (a venv's bin/)."""
    found = shutil.which("arxivwatch")
    if found:
        return Path(found)
    beside = Path(sys.executable).parent / "arxivwatch"
    return beside if beside.exists() else None


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)


def cold_start(repeats: int) -> tuple[list[Figure], dict[str, Any]]:
    """Wall time of `--help` in a new process, median of `repeats`, for each way of starting it."""
    module = [sys.executable, "-m", "arxivwatch", "--help"]
    _run(module)  # one untimed run, so every timed one finds the bytecode already compiled
    figures = [
        Figure("help: python -m arxivwatch --help", "s", repeat(lambda: _run(module), repeats), TARGET)
    ]
    script = console_script()
    if script is not None:
        figures.append(
            Figure(
                "help: arxivwatch --help (console script)",
                "s",
                repeat(lambda: _run([str(script), "--help"]), repeats),
                TARGET,
            )
        )
    baseline = [sys.executable, "-c", "pass"]
    figures.append(
        Figure("help: python -c pass (the interpreter alone)", "s", repeat(lambda: _run(baseline), repeats))
    )
    probe = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)], capture_output=True, text=True, check=True
    )
    imported = json.loads(probe.stdout.strip().splitlines()[-1])
    figures.append(Figure("help: heavy modules imported", "count", (float(len(imported["heavy"])),), 0.0))
    details = {
        "console_script": str(script) if script else None,
        "heavy_modules_imported_by_help": imported["heavy"],
        "modules_loaded_by_help": imported["modules"],
        "heavy_modules_checked": list(HEAVY),
    }
    return figures, details
