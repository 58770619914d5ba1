"""Delivery under faults an operator meets: concurrent runs, upgrades, clock moves.

Real processes and loopback servers (aiosmtpd, the Slack emulator) as in test_delivery,
whose fixtures (a model trained once per module, a config on loopback) are reused here.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable

from arxivwatch.clock import SystemClock
from arxivwatch.config import Config
from arxivwatch.jobs import open_store
from smtp_server import SmtpServer
from test_delivery import D, make_config, make_papers, model_path, slack, smtp, store_papers

__all__ = ["make_config", "model_path", "slack", "smtp"]  # fixtures used by name


def test_two_digest_processes_at_once_send_the_digest_once(
    make_config: Callable[..., Config], smtp: SmtpServer
) -> None:
    """Two `digest` runs started a second apart while the server is slow to answer DATA: one message."""
    cfg = make_config()
    store_papers(cfg, SystemClock(), make_papers(5, D))
    smtp.handler.data_delay = 2.0
    command = [sys.executable, "-m", "arxivwatch", "digest", "--channel", "email", "--config", cfg.source]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)  # the first is waiting for the 250 to DATA
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    outputs = [proc.communicate(timeout=120) for proc in (first, second)]
    assert [proc.returncode for proc in (first, second)] == [0, 0], outputs
    assert outputs[0][0] == "email: sent 5 papers to 1 recipient\n"
    assert outputs[1][0].startswith("email: already sent for "), outputs[1]
    assert len(smtp.messages) == 1
    with open_store(cfg, SystemClock()) as store:
        assert store.pending_digests() == []
