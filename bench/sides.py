"""The two contestants of the mover benchmark: bare restic and ``pyvolsync-mover``.

Both sides get the same treatment so that the difference is the wrapper and nothing else: a
copy of one template repository (same keys, so the same key-derivation cost on every open), an
empty cache directory of their own, the same restic binary, the same data at the same mount
point, output captured through pipes, and a clean environment. The bare side runs what
upstream's script runs (``restic backup --host volsync .`` inside the data directory;
``restic restore latest --target``). The wrapper runs under ``rsslauncher.py`` so that its own
peak memory is recorded; see that module for why this is the correct measure.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from demo import moverrun

from pyvolsync import contract

LAUNCHER = Path(__file__).with_name("rsslauncher.py")
OUTPUT_TAIL = 20
GOOD_OUTCOMES = (contract.Outcome.SUCCEEDED, contract.Outcome.SUCCEEDED_WITH_WARNINGS)


class RunError(RuntimeError):
    """A timed run did not succeed, so its time means nothing."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Timing:
    """One timed run: wall-clock seconds, and what else was measured alongside."""

    seconds: float
    cpu_seconds: float = 0.0
    """User plus system CPU time of every process the run started (restic included)."""
    peak_rss_bytes: int | None = None
    sync_seconds: float | None = None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Side:
    """What both sides share: a home for the repository and cache, the mount point, restic."""

    name: str
    home: Path
    mount_point: Path
    restic: str
    password: str

    @property
    def repository(self) -> Path:
        return self.home / "repository"

    @property
    def cache(self) -> Path:
        return self.home / "cache"

    def reset(self, template: Path) -> None:
        """Start over from a copy of the template repository and an empty cache."""
        shutil.rmtree(self.home, ignore_errors=True)
        self.home.mkdir(parents=True)
        shutil.copytree(template, self.repository)
        self.cache.mkdir()

    def restic_settings(self) -> dict[str, str]:
        """Return the repository, password and cache variables restic reads."""
        return {
            contract.EnvVar.RESTIC_REPOSITORY.value: str(self.repository),
            contract.EnvVar.RESTIC_PASSWORD.value: self.password,
            contract.EnvVar.RESTIC_CACHE_DIR.value: str(self.cache),
        }


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bare(Side):
    """Bare restic, as upstream's script runs it."""

    def backup(self) -> Timing:
        """Back up the mount point."""
        return self.run(["backup", "--host", contract.RESTIC_HOST, "."])

    def restore(self) -> Timing:
        """Restore the latest snapshot into the mount point, and time a sync of it separately."""
        timing = self.run(["restore", "latest", "--target", str(self.mount_point)])
        started = time.perf_counter()
        subprocess.run(["sync", "-f", str(self.mount_point)], check=True)
        return dataclasses.replace(timing, sync_seconds=time.perf_counter() - started)

    def run(self, arguments: Sequence[str]) -> Timing:
        """Run restic with ``arguments`` inside the mount point; return its times."""
        variables = moverrun.environment(self.restic_settings())
        cpu_before = children_cpu_seconds()
        started = time.perf_counter()
        completed = subprocess.run(
            [self.restic, *arguments],
            cwd=self.mount_point,
            env=variables,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        seconds = time.perf_counter() - started
        if completed.returncode != 0:
            tail = (completed.stdout + completed.stderr).splitlines()[-OUTPUT_TAIL:]
            raise RunError(
                f"restic {arguments[0]} exited {completed.returncode}:\n" + "\n".join(tail)
            )
        return Timing(seconds=seconds, cpu_seconds=children_cpu_seconds() - cpu_before)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Wrapper(Side):
    """``pyvolsync-mover``, configured as a mover Job is."""

    def backup(self) -> Timing:
        """Back up the mount point (no retention, so no ``forget``: bare restic does none)."""
        return self.run("backup")

    def restore(self) -> Timing:
        """Restore the newest snapshot of the mount point into it (the mover then syncs)."""
        return self.run("restore")

    def run(self, operation: str) -> Timing:
        """Run one operation under the memory-measuring launcher; return time and peak RSS."""
        rss_report = self.home / "peak-rss-kib"
        rss_report.unlink(missing_ok=True)
        cpu_before = children_cpu_seconds()
        finished = moverrun.run(
            [operation],
            settings=self.restic_settings()
            | {
                contract.EnvVar.DATA_DIR.value: str(self.mount_point),
                contract.EnvVar.PRIVILEGED_MOVER.value: "0",
            },
            result_path=self.home / "result.json",
            command=launch_command(rss_report),
        )
        outcome = finished.result.outcome if finished.result else None
        if finished.returncode != 0 or outcome not in GOOD_OUTCOMES:
            tail = finished.output.splitlines()[-OUTPUT_TAIL:]
            raise RunError(
                f"pyvolsync-mover {operation} exited {finished.returncode} ({outcome}):\n"
                + "\n".join(tail)
            )
        return Timing(
            seconds=finished.seconds,
            cpu_seconds=children_cpu_seconds() - cpu_before,
            peak_rss_bytes=read_peak_rss(rss_report),
        )


def children_cpu_seconds() -> float:
    """Return the CPU time of this process's finished children and their waited-for descendants.

    The difference around one run is the CPU that run used, restic included: less disturbed
    than wall-clock time by other jobs on a shared machine.
    """
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def launch_command(rss_report: Path) -> list[str]:
    """Return the command that runs the ``pyvolsync-mover`` entry point under the launcher."""
    (entry_point,) = importlib.metadata.entry_points(group="console_scripts", name=moverrun.PROGRAM)
    return [sys.executable, str(LAUNCHER), str(rss_report), entry_point.value, moverrun.PROGRAM]


def read_peak_rss(report: Path) -> int | None:
    """Return the launcher's peak RSS in bytes, or None if it wrote none."""
    try:
        return int(report.read_text()) * 1024
    except (FileNotFoundError, ValueError):
        return None
