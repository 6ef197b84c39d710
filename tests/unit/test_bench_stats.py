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
