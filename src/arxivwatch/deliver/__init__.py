"""Delivery channels: email (SMTP), Slack (Web API or incoming webhook), files.

Each channel takes a rendered Message and returns a Receipt once the other side
accepted it, or raises DeliveryError with one line naming what to check. The channel
modules import their libraries lazily, so importing this package is cheap.
"""

from __future__ import annotations

from arxivwatch.errors import DeliveryError


class PartialDeliveryError(DeliveryError):
    """A delivery in several messages that failed after `sent_count` were accepted.

    `sent_count` is the number of messages this call got accepted (not counting the
    `already_sent` it was given): the caller adds it to what it recorded before and
    passes the total back as `already_sent` on the retry, so no message is sent twice.
    `detail` lists what this call got accepted (Slack ts values).
    """

    def __init__(self, message: str, *, hint: str = "", sent_count: int = 0, detail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.sent_count = sent_count
        self.detail = detail


__all__ = ["DeliveryError", "PartialDeliveryError"]
