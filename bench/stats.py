"""From repeated timings to the figures the targets are stated in: medians, ratios, throughput.

Pure functions over numbers, kept apart from the running so that what "within 3%" means is
written down once and tested. The median of a few repeats is robust to one run disturbed by
another job on a shared machine; a ratio above 1 means the wrapper is slower than bare restic.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence
from typing import Any

MEGABYTE = 1_000_000


@dataclasses.dataclass(frozen=True, kw_only=True)
class Target:
    """A bound on the wrapper's cost relative to bare restic."""

    max_ratio: float | None = None
    max_extra_seconds: float | None = None

    def met(self, *, ratio: float, extra_seconds: float) -> bool:
        """True when both stated bounds hold."""
        ratio_ok = self.max_ratio is None or ratio <= self.max_ratio
        extra_ok = self.max_extra_seconds is None or extra_seconds <= self.max_extra_seconds
        return ratio_ok and extra_ok

    def __str__(self) -> str:
        parts = []
        if self.max_ratio is not None:
            parts.append(f"≤ {self.max_ratio:.2f}x")
        if self.max_extra_seconds is not None:
            parts.append(f"≤ +{self.max_extra_seconds:g} s")
        return ", ".join(parts)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Comparison:
    """One step measured on both sides."""

    step: str
    bare_seconds: tuple[float, ...]
    wrapper_seconds: tuple[float, ...]
    data_bytes: int
    target: Target

    @property
    def bare_median(self) -> float:
        return statistics.median(self.bare_seconds)

    @property
    def wrapper_median(self) -> float:
        return statistics.median(self.wrapper_seconds)

    @property
    def ratio(self) -> float:
        """Wrapper time over bare time, of the medians."""
        return self.wrapper_median / self.bare_median

    @property
    def extra_seconds(self) -> float:
        """Wrapper time minus bare time, of the medians."""
        return self.wrapper_median - self.bare_median

    @property
    def paired_ratio(self) -> float:
        """The median of each repeat's wrapper/bare ratio: the two ran back to back, so a load
        change between repeats cancels out."""
        pairs = zip(self.wrapper_seconds, self.bare_seconds, strict=True)
        return statistics.median(wrapper / bare for wrapper, bare in pairs)

    @property
    def met(self) -> bool:
        return self.target.met(ratio=self.ratio, extra_seconds=self.extra_seconds)

    def to_dict(self) -> dict[str, Any]:
        """Return every figure, rounded for reading, plus the raw repeats."""
        return {
            "step": self.step,
            "bare_seconds": rounded(self.bare_seconds),
            "wrapper_seconds": rounded(self.wrapper_seconds),
            "bare_median_seconds": round(self.bare_median, 3),
            "wrapper_median_seconds": round(self.wrapper_median, 3),
            "ratio": round(self.ratio, 4),
            "paired_ratio": round(self.paired_ratio, 4),
            "extra_seconds": round(self.extra_seconds, 3),
            "bare_megabytes_per_second": throughput(self.data_bytes, self.bare_median),
            "wrapper_megabytes_per_second": throughput(self.data_bytes, self.wrapper_median),
            "target": str(self.target),
            "met": self.met,
        }


def rounded(values: Sequence[float]) -> list[float]:
    """Return the values rounded to milliseconds."""
    return [round(value, 3) for value in values]


def throughput(data_bytes: int, seconds: float) -> float:
    """Return decimal megabytes per second."""
    return round(data_bytes / MEGABYTE / seconds, 1) if seconds > 0 else 0.0


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the value below which ``fraction`` of ``values`` lie, interpolating linearly.

    ``percentile(values, 0.99)`` of 100 samples lies between the two largest; of one sample it is
    that sample. Raises ValueError for no values.
    """
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * min(max(fraction, 0.0), 1.0)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def distribution(values: Sequence[float]) -> dict[str, Any]:
    """Return count, p50, p90, p99, max and mean, in milliseconds-rounded seconds."""
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "p50": round(percentile(values, 0.50), 3),
        "p90": round(percentile(values, 0.90), 3),
        "p99": round(percentile(values, 0.99), 3),
        "max": round(max(values), 3),
        "mean": round(statistics.fmean(values), 3),
    }


def histogram(values: Sequence[float], *, low: float, high: float, buckets: int) -> list[int]:
    """Count ``values`` in ``buckets`` equal buckets over [low, high), plus one for later values.

    Values below ``low`` go into the first bucket; the extra last entry counts values at or
    above ``high``.
    """
    counts = [0] * (buckets + 1)
    width = (high - low) / buckets
    for value in values:
        index = buckets if value >= high else max(int((value - low) // width), 0)
        counts[index] += 1
    return counts
