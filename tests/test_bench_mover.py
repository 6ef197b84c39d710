"""``make bench-mover`` end to end on a tiny data set: the harness itself must be right.

Times are not asserted (they belong to the benchmark's report, not to a test); what is asserted
is what makes the figures trustworthy: both sides ran every step of every repeat, every restore
was verified against the data set, the wrapper's own memory was measured, and the data set was
cached under ``PYVOLSYNC_CACHE`` and put back after the run, and no work directory (they hold
whole repositories) outlives it, not even one left by a killed run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bench import datasets

ROOT = Path(__file__).parents[1]


def test_the_benchmark_measures_both_sides_and_verifies_every_restore(tmp_path: Path) -> None:
    results = tmp_path / "mover.json"
    arguments = ["--size", "2M", "--files", "120", "--repeat", "2", "--cache", "warm"]
    left_by_a_killed_run = tmp_path / "cache" / "bench-work-999999999" / "bare" / "repository"
    left_by_a_killed_run.mkdir(parents=True)

    completed = subprocess.run(
        [sys.executable, "-m", "bench.mover", *arguments, "--json", str(results)],
        cwd=ROOT,
        env={**os.environ, "PYVOLSYNC_CACHE": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(results.read_text())
    steps = {item["step"]: item for item in document["comparisons"]}
    assert list(steps) == ["full backup", "incremental", "full restore", "restore (+sync)"]
    for item in steps.values():
        assert len(item["bare_seconds"]) == len(item["wrapper_seconds"]) == 2
        assert all(seconds > 0 for seconds in item["bare_seconds"] + item["wrapper_seconds"])
    cpu = {item["step"]: item for item in document["cpu_comparisons"]}
    assert list(cpu) == ["full backup", "incremental", "full restore"]
    for item in cpu.values():
        assert all(seconds > 0 for seconds in item["bare_seconds"] + item["wrapper_seconds"])
    assert steps["full restore"]["target"] == "≤ 1.03x"
    assert steps["incremental"]["target"] == "≤ +0.3 s"
    assert document["restores_verified"] is True
    assert document["page_cache"] == "warm"
    assert document["dataset"] == {"files": 120, "bytes": 2 * 2**20}
    assert 5_000_000 < document["wrapper_peak_rss_bytes"] < 500_000_000
    assert set(document["wrapper_peak_rss_bytes_by_step"]) == {
        "full backup",
        "incremental",
        "full restore",
    }
    assert document["machine"]["restic"].startswith("restic 0.")
    assert "pyvolsync-mover vs bare restic" in completed.stdout
    cached = datasets.load(
        datasets.location(total_bytes=2 * 2**20, files=120, cache=tmp_path / "cache")
    )
    assert cached is not None, "the data set is back in its cache after the run"
    assert not list((tmp_path / "cache").glob("bench-work-*")), "work directories are removed"
