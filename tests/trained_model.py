"""One small trained model per test session, for tests that need a model file to exist.

Trained on the bundled lists and the tests' background sample (about 2 s), once, then
written wherever a test asks: `install_model(config.model_path)`.
"""

from __future__ import annotations

import json
import tempfile
from functools import cache
from pathlib import Path

from arxivwatch import curated, lists, model, profiles, train
from arxivwatch.models import Paper

DATA = Path(__file__).parent / "data" / "learning"


@cache
def trained() -> model.Model:
    """A model trained on the bundled lists and tests/data/learning/background.jsonl."""
    lines = (DATA / "background.jsonl").read_text(encoding="utf-8").splitlines()
    background = [Paper(**json.loads(line)) for line in lines]
    entries, sources = [], []
    for path in lists.BUNDLED:
        loaded = lists.load(str(path), cache_dir=Path("/nonexistent"), offline=True)
        entries += curated.parse(loaded.text, loaded.source)
        sources.append((loaded.source, loaded.sha256))
    return train.train(
        entries, profiles.load_profiles(None), metadata={}, background=background, sources=sources
    )


@cache
def _model_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.npz"
        model.save(trained(), path)
        return path.read_bytes()


def install_model(path: Path) -> Path:
    """Write the session's model file to `path` (folders created); returns `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_model_bytes())
    return path
