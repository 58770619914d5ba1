"""Repeated timings and the figures the benchmark reports (median, min, max of the repeats)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    """One reported measurement: the median of `samples`, with their min and max.

    `target` is the limit from DESIGN.md ("Targets"), in the figure's unit, or None when
    the figure is context only; `meets` compares the median with it (at most `target`).
    """

    name: str
    unit: str
    samples: tuple[float, ...]
    target: float | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return float(statistics.median(self.samples))

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    @property
    def meets(self) -> bool | None:
        return None if self.target is None else self.median <= self.target

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "unit": self.unit,
            "median": round(self.median, 6),
            "min": round(self.low, 6),
            "max": round(self.high, 6),
            "repeats": len(self.samples),
            "samples": [round(s, 6) for s in self.samples],
            "target": self.target,
            "meets_target": self.meets,
            "note": self.note,
        }


def timed(fn: Callable[[], object]) -> float:
    """Wall seconds of one call."""
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def repeat(fn: Callable[[], object], times: int) -> tuple[float, ...]:
    """Wall seconds of `times` calls, each timed on its own."""
    return tuple(timed(fn) for _ in range(times))


def _number(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    if unit in ("x", "ratio"):
        return f"{value:.2f}"
    if value == int(value):
        return f"{int(value)}"
    return f"{value:.1f}"


def format_table(figures: Sequence[Figure]) -> str:
    """A plain-text table: measure, median, min, max, repeats, target, verdict."""
    head = f"{'measure':<50} {'unit':<5} {'median':>8} {'min':>8} {'max':>8} {'n':>3} {'target':>8}  ok"
    lines = [head, "-" * len(head)]
    for f in figures:
        target = "" if f.target is None else _number(f.target, f.unit)
        verdict = {True: "yes", False: "NO", None: ""}[f.meets]
        lines.append(
            f"{f.name:<50} {f.unit:<5} {_number(f.median, f.unit):>8} {_number(f.low, f.unit):>8} "
            f"{_number(f.high, f.unit):>8} {len(f.samples):>3} {target:>8}  {verdict}"
        )
    return "\n".join(lines)
