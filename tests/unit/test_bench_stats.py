"""The benchmark's verdicts: medians, ratios and what "within 3%" or "within 0.3 s" means."""

from __future__ import annotations

import pytest
from bench import stats


def comparison(bare: tuple[float, ...], wrapper: tuple[float, ...], target: stats.Target):
    return stats.Comparison(
        step="full backup",
        bare_seconds=bare,
        wrapper_seconds=wrapper,
        data_bytes=100_000_000,
        target=target,
    )


def test_figures_come_from_the_medians_so_one_disturbed_repeat_does_not_count() -> None:
    item = comparison((10.0, 50.0, 10.2), (10.1, 10.3, 90.0), stats.Target(max_ratio=1.03))

    assert item.bare_median == 10.2
    assert item.wrapper_median == 10.3
    assert item.ratio == pytest.approx(10.3 / 10.2)
    assert item.extra_seconds == pytest.approx(0.1)
    assert item.met
    assert item.paired_ratio == pytest.approx(10.1 / 10.0)
    document = item.to_dict()
    assert document["bare_megabytes_per_second"] == 9.8
    assert document["wrapper_megabytes_per_second"] == 9.7
    assert document["wrapper_seconds"] == [10.1, 10.3, 90.0]


@pytest.mark.parametrize(
    ("target", "bare", "wrapper", "met"),
    [
        (stats.Target(max_ratio=1.03), 10.0, 10.29, True),
        (stats.Target(max_ratio=1.03), 10.0, 10.31, False),
        (stats.Target(max_extra_seconds=0.3), 1.0, 1.29, True),
        (stats.Target(max_extra_seconds=0.3), 1.0, 1.31, False),
        (stats.Target(), 1.0, 9.0, True),
    ],
)
def test_targets(target: stats.Target, bare: float, wrapper: float, met: bool) -> None:
    assert comparison((bare,), (wrapper,), target).met is met


def test_targets_read_as_the_issue_states_them() -> None:
    assert str(stats.Target(max_ratio=1.03)) == "≤ 1.03x"
    assert str(stats.Target(max_extra_seconds=0.3)) == "≤ +0.3 s"
    assert str(stats.Target()) == ""


def test_percentiles_interpolate_between_samples() -> None:
    values = [float(value) for value in range(1, 101)]
    assert stats.percentile(values, 0.5) == pytest.approx(50.5)
    assert stats.percentile(values, 0.99) == pytest.approx(99.01)
    assert stats.percentile([3.0], 0.99) == 3.0
    with pytest.raises(ValueError):
        stats.percentile([], 0.5)
    summary = stats.distribution([0.2, 0.1, 0.4, 0.3])
    assert summary["count"] == 4
    assert summary["max"] == 0.4
    assert summary["p50"] == pytest.approx(0.25)
    assert stats.distribution([]) == {"count": 0}


def test_a_histogram_counts_late_values_apart() -> None:
    counts = stats.histogram(
        [-1.0, 0.0, 9.9, 10.0, 55.0, 99.9, 100.0, 250.0], low=0, high=100, buckets=10
    )
    assert counts == [3, 1, 0, 0, 0, 1, 0, 0, 0, 1, 2]
