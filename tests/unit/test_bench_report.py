"""docs/benchmarks.md as `make bench` renders it, from a fixed results document.

The page is what readers quote, so it must say exactly what the results document says: the
command, the machine and the load, each table row from its figures, a verdict per target, a
failed benchmark as failed (never as a missing row), and no template placeholder left behind.
The bootstrap benchmark's split of its time into steps is pure logic over watch events, checked
here on a hand-made timeline.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from bench import bootstrap, mover, report, timeline

MACHINE = {
    "date": "2026-11-26T01:40:57+00:00",
    "cpu_model": "AMD EPYC",
    "cpus": 2,
    "memory_bytes": 24 * 2**30,
    "kernel": "6.18.44",
    "python": "3.11.7",
    "restic": "restic 0.18.1 compiled with go1.26.8 on linux/amd64",
    "load_average_1m": 4.41,
    "load_average_1m_end": 3.21,
}


def comparison(step: str, bare: list[float], mover: list[float], target: str) -> dict[str, Any]:
    bare_median, mover_median = sorted(bare)[1], sorted(mover)[1]
    return {
        "step": step,
        "bare_seconds": bare,
        "wrapper_seconds": mover,
        "bare_median_seconds": bare_median,
        "wrapper_median_seconds": mover_median,
        "ratio": round(mover_median / bare_median, 4),
        "paired_ratio": 1.0,
        "extra_seconds": round(mover_median - bare_median, 3),
        "bare_megabytes_per_second": 55.0,
        "wrapper_megabytes_per_second": 51.6,
        "target": target,
        "met": target == "≤ +0.3 s",
    }


def mover_result() -> dict[str, Any]:
    return {
        "benchmark": "mover",
        "command": "python -m bench.mover",
        "machine": MACHINE,
        "dataset": {"files": 50_000, "bytes": 2**30},
        "page_cache": "dropped before each step",
        "repeat": 3,
        "restores_verified": True,
        "comparisons": [
            comparison(
                "full backup", [19.523, 18.865, 23.798], [20.813, 20.411, 21.504], "≤ 1.03x"
            ),
            comparison("incremental", [3.501, 3.723, 3.119], [3.47, 3.8, 2.8], "≤ +0.3 s"),
        ],
        "cpu_comparisons": [
            comparison("full backup", [15.9, 15.95, 16.0], [16.3, 16.37, 16.4], "")
        ],
        "restic_repository_open_seconds": 0.3,
        "wrapper_peak_rss_bytes": 15_300_000,
        "wrapper_peak_rss_met": True,
    }


def bootstrap_result() -> dict[str, Any]:
    stages = {"job": 0.15, "pod_running": 0.09, "pod_done": 5.55, "job_done": 1.03}
    stages |= {"snapshot": 0.02, "snapshot_ready": 5.78, "image": 0.07, "prime": 0.05}
    stages |= {"prime_volume": 4.37, "bound": 0.04}
    repeat = {
        "first": "bootstrap",
        "bootstrap_seconds": 18.33,
        "restic_seconds": 3.95,
        "restic_sync_seconds": 0.45,
        "stages": stages,
        "mover_report": {"run": 5.37, "restore": 5.34},
    }
    return {
        "benchmark": "bootstrap",
        "command": "python -m bench.bootstrap",
        "machine": MACHINE,
        "dataset": {"files": 20_000, "bytes": 500 * 2**20},
        "page_cache": "dropped before each step",
        "repeat": 1,
        "comparison": {
            **comparison("bootstrap", [3.95, 3.95, 3.95], [18.33, 18.33, 18.33], "≤ +60 s"),
            "met": True,
        },
        "stage_medians_seconds": stages,
        "repeats": [repeat],
    }


def document() -> dict[str, Any]:
    return {
        "command": "make bench",
        "size": "full",
        "machine": MACHINE,
        "duration_seconds": 1800,
        "benchmarks": {
            "mover": mover_result(),
            "operator_scale": {"error": "Traceback ...\nRuntimeError: the API server went away"},
            "bootstrap": bootstrap_result(),
        },
    }


def rendered(results: dict[str, Any] | None = None) -> str:
    return report.render(results or document(), template=report.TEMPLATE.read_text())


def test_the_page_names_the_command_the_machine_and_the_load() -> None:
    page = rendered()

    assert "{{" not in page and "}}" not in page
    assert "`make bench` (full size) on 2026-11-26T01:40:57+00:00 in 30 min" in page
    assert "2 CPUs (AMD EPYC), 24 GiB RAM, Linux 6.18.44, Python 3.11.7, restic 0.18.1" in page
    assert "load average was 4.41 at the start and 3.21 at the end" in page


def test_each_mover_row_comes_from_its_figures_with_its_verdict() -> None:
    page = rendered()

    assert (
        "| full backup | 19.52 s | 20.81 s | 1.066 | +1.29 s | 55.0 / 51.6 | ≤ 1.03x: missed |"
        in page
    )
    assert "| incremental | 3.50 s | 3.47 s | 0.991 | -0.03 s |" in page
    assert "| full backup | 15.95 s | 16.37 s | 1.026 | +0.42 s |" in page
    assert "own peak RSS < 60 MB | 15.3 MB | ✓ met |" in page
    assert "full backup 19.5 20.8 / 18.9 20.4 / 23.8 21.5" in page


def test_the_summary_has_one_verdict_per_target_and_a_failure_says_so() -> None:
    page = rendered()
    summary = page.split("## Summary", 1)[1].split("\n## ", 1)[0]

    assert "full backup ≤ 1.03x | 1.066x, +1.29 s | ✗ missed |" in summary
    assert "incremental ≤ +0.3 s | 0.991x, -0.03 s | ✓ met |" in summary
    assert "| bootstrap overhead ≤ +60 s | +14.38 s (18.3 s against 4.0 s) | ✓ met |" in summary
    assert "| Operator at scale | | failed: RuntimeError: the API server went away | ✗ |" in summary
    assert "| Stampede control | | not run | |" in summary
    assert "## Operator at scale\n\n_Failed in this run:_\n\n```\nTraceback" in page
    assert "RuntimeError: the API server went away\n```" in page
    assert "## Stampede control\n\n_Not run in this invocation._" in page


def test_the_bootstrap_section_splits_the_time_by_step_and_owner() -> None:
    page = rendered()
    section = page.split("## Bootstrap", 1)[1]

    assert "| `restic restore` by hand | 3.95 s | 3.95, 3.95, 3.95 | 55.0 |" in section
    assert "| **overhead** | **+14.38 s** | 4.64x | |" in section
    assert "overhead ≤ +60 s: **met**" in section
    assert "| (for information: `restic restore` + `sync -f`) | 4.40 s | 4.40 | |" in section
    assert "took 5.3 s by its own report, against 4.4 s for `restic restore` + `sync -f`" in section
    for name, label, owner in bootstrap.STAGES:
        median = bootstrap_result()["stage_medians_seconds"][name]
        assert f"| {label} | {owner} | {median:.2f} s |" in section
    assert "Storage: 10.2 s" in section
    assert (
        "its restore operation (listing the snapshots, `restic restore`, syncing the volume) "
        "took 5.3 s" in section
    )
    assert "operator's own steps" in section and "0.3 s in all" in section


def test_rendering_is_a_pure_function_of_the_document() -> None:
    results = document()
    before = copy.deepcopy(results)

    assert rendered(results) == rendered(results)
    assert results == before
    assert re.search(r"\n{3,}", rendered(results)) is None


def event(at: float, kind: str, name: str, **body: Any) -> timeline.Event:
    return timeline.Event(
        at=at, kind=kind, type="MODIFIED", body={"metadata": {"name": name}, **body}
    )


def test_each_step_ends_at_its_first_milestone_after_the_start() -> None:
    terminated = {
        "state": {
            "terminated": {
                "message": '{"duration_seconds": 3.5, '
                '"operations": [{"operation": "restore", '
                '"duration_seconds": 3.25}]}'
            }
        }
    }
    running: dict[str, Any] = {"state": {"running": {}}}
    events = [
        event(5.0, "PersistentVolumeClaim", "shop", status={"phase": "Bound"}),  # before start
        event(10.2, "Job", "volsync-dst-shop-bootstrap"),
        event(10.4, "Pod", "mover", status={"containerStatuses": [running]}),
        event(14.0, "Pod", "mover", status={"containerStatuses": [terminated]}),
        event(15.0, "Job", "volsync-dst-shop-bootstrap", status={"succeeded": 1}),
        event(15.1, "VolumeSnapshot", "shop-bootstrap-1"),
        event(17.0, "VolumeSnapshot", "shop-bootstrap-1", status={"readyToUse": True}),
        event(
            17.1, "ReplicationDestination", "shop-bootstrap", status={"latestImage": {"name": "x"}}
        ),
        event(17.2, "PersistentVolumeClaim", "vs-prime-123"),
        event(19.0, "PersistentVolume", "pvc-9", spec={"claimRef": {"name": "vs-prime-123"}}),
        event(19.5, "PersistentVolumeClaim", "shop", status={"phase": "Bound"}),
    ]

    marks = bootstrap.milestones(events, start=10.0)
    steps = bootstrap.stages(marks, start=10.0)

    assert steps == {
        "job": 0.2,
        "pod_running": 0.2,
        "pod_done": 3.6,
        "job_done": 1.0,
        "snapshot": 0.1,
        "snapshot_ready": 1.9,
        "image": 0.1,
        "prime": 0.1,
        "prime_volume": 1.8,
        "bound": 0.5,
    }
    assert round(sum(steps.values()), 3) == 9.5
    assert bootstrap.mover_report(events, start=10.0) == {"run": 3.5, "restore": 3.25}


def test_a_milestone_never_seen_merges_its_step_into_the_next() -> None:
    events = [
        event(11.0, "Job", "mover"),
        event(16.0, "PersistentVolumeClaim", "shop", status={"phase": "Bound"}),
    ]

    steps = bootstrap.stages(bootstrap.milestones(events, start=10.0), start=10.0)

    assert steps == {"job": 1.0, "bound": 5.0}


def test_a_partial_run_keeps_the_other_results_and_says_where_they_came_from() -> None:
    previous = document()
    previous["machine"] = {**MACHINE, "date": "2026-11-20T10:00:00+00:00"}
    partial = document()
    partial["command"] = "make bench BENCH_ARGS='--only mover'"
    partial["benchmarks"] = {"mover": mover_result()}

    report.carry_over(partial, previous)

    assert set(partial["benchmarks"]) == {"mover", "bootstrap"}  # a failure is not kept
    assert "carried_over" not in partial["benchmarks"]["mover"]
    assert partial["benchmarks"]["bootstrap"]["carried_over"] == {
        "command": "make bench",
        "date": "2026-11-20T10:00:00+00:00",
    }
    assert (
        "kept from an earlier run: Bootstrap: an app's PVC restored from its backup "
        "(`make bench`, 2026-11-20T10:00:00+00:00)." in rendered(partial)
    )


def test_the_kopia_mover_and_the_engines_sections_say_which_engine_and_the_ratio() -> None:
    kopia = mover_result()
    kopia |= {"engine": "kopia", "command": "python -m bench.mover --engine kopia"}
    kopia["repository_open_seconds"] = kopia.pop("restic_repository_open_seconds", 0.24)
    engines = {
        "command": "python -m bench.engines",
        "machine": MACHINE | {"kopia": "kopia v0.23.1"},
        "dataset": {"files": 50_000, "bytes": 2**30},
        "page_cache": "warm",
        "repeat": 3,
        "steps": [
            {
                "step": "full backup",
                "seconds": {"restic": [60.0, 62.0, 61.0], "kopia": [30.0, 31.0, 29.0]},
                "median_seconds": {"restic": 61.0, "kopia": 30.0},
                "kopia_over_restic": 0.492,
                "megabytes_per_second": {"restic": 17.6, "kopia": 35.8},
            }
        ],
    }
    results = document()
    results["benchmarks"] |= {"mover_kopia": kopia, "engines": engines}

    page = rendered(results)

    assert "| step | bare kopia | pyvolsync-mover |" in page
    assert "one kopia command that opens the repository took" in page
    assert "| full backup | 61.0 s | 30.0 s | 0.49 | 17.6 / 35.8 |" in page
    assert "full backup restic 60.0 / 62.0 / 61.0, kopia 30.0 / 31.0 / 29.0" in page
    assert page.count("## Engines: kopia against restic through the operator") == 1
    assert "| full backup: kopia / restic (info) | 0.49x | ✓ met |" in page


def test_kopia_backups_get_their_own_incremental_target() -> None:
    assert str(mover.target(mover.INCREMENTAL, "kopia")) != str(
        mover.target(mover.INCREMENTAL, "restic")
    )
    assert mover.target(mover.FULL, "kopia") == mover.target(mover.FULL, "restic")
