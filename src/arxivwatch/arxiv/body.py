"""Reading an arXiv answer's body within bounds: its size after decompression, and a deadline.

The client asks for gzip only and inflates here, at most 64 KB at a time, so a body that
inflates without end (a gzip bomb) costs at most `max_bytes` of memory before it is refused.
The body is read as it arrives, and the read ends at `deadline` (time.monotonic()) however
slowly the bytes drip: bytes arrive in real time, whatever Clock the client was given.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from arxivwatch.errors import ArxivError, ArxivUnavailable

MAX_BODY_BYTES = 50_000_000  # the largest real day's feed is a few MB; 50 MB is generous
_CHUNK = 64 * 1024  # bytes inflated per step, so one step never makes more than this
_CODINGS = ("identity", "gzip", "x-gzip", "")


@dataclass(frozen=True)
class Body:
    """A response's status, headers (case-insensitive, as httpx gives them) and inflated, bounded body."""

    status_code: int
    reason_phrase: str
    headers: Mapping[str, str]
    content: bytes


def read_body(
    chunks: Iterable[bytes], coding: str, url: str, *, max_bytes: int, deadline: float, budget: float
) -> bytes:
    """The body arriving as raw `chunks` in Content-Encoding `coding`, inflated.

    ArxivError past `max_bytes` (after decompression) or for an encoding not asked for;
    ArxivUnavailable past `deadline` (time.monotonic(); `budget` seconds, for the message).
    """
    coding = coding.strip().lower()
    if coding not in _CODINGS:
        raise ArxivError(
            f"arXiv answered {url} with Content-Encoding {coding!r}, which was not asked for",
            hint="check the arXiv URLs in your configuration",
        )
    inflate = zlib.decompressobj(wbits=47) if "gzip" in coding else None
    parts: list[bytes] = []
    size = 0
    for raw in chunks:
        for piece in _inflated(inflate, raw):
            size += len(piece)
            if size > max_bytes:
                raise ArxivError(
                    f"arXiv's answer from {url} is larger than {max_bytes:,} bytes "
                    "(after decompression); stopped reading",
                    hint="if a real day is this large, raise [arxiv] max_body_bytes",
                )
            parts.append(piece)
        if time.monotonic() > deadline:
            raise late(url, budget, f" ({size:,} bytes read)")
    return b"".join(parts)


def late(url: str, budget: float, detail: str = "") -> ArxivUnavailable:
    """The error for an answer from `url` still arriving (headers or body) when `budget` s ran out."""
    return ArxivUnavailable(
        f"arXiv's answer from {url} was still arriving when the {budget:.0f} s budget ran out{detail}",
        hint="arXiv or the network is very slow; try again later",
    )


def _inflated(inflate: zlib._Decompress | None, raw: bytes) -> Iterator[bytes]:
    """The bytes `raw` inflates to, at most _CHUNK at a time (a bomb never inflates at once)."""
    if inflate is None:
        yield raw
        return
    try:
        piece = inflate.decompress(raw, _CHUNK)
        while piece:
            yield piece
            piece = inflate.decompress(inflate.unconsumed_tail, _CHUNK)
    except zlib.error as exc:
        raise ArxivError(
            f"arXiv sent a broken gzip body: {exc}",
            hint="the download was probably cut short; try again later",
        ) from exc
