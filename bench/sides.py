"""The two contestants of the mover benchmark: the bare engine and ``pyvolsync-mover``.

Both sides get the same treatment so that the difference is the wrapper and nothing else: a
copy of one template repository (same keys, so the same key-derivation cost on every open), an
empty cache directory of their own, the same engine binary, the same data at the same mount
point, output captured through pipes, and a clean environment. The bare side runs what the
engine's shortest script runs: for restic upstream's (``restic backup --host volsync .`` inside
the data directory; ``restic restore latest --target``); for kopia, as each mover Job does,
connecting first (``kopia repository connect``, then ``kopia snapshot create`` of the data
directory; or ``snapshot list`` and ``snapshot restore`` of the newest). The wrapper runs under
``rsslauncher.py`` so that its own peak memory is recorded; see that module for why this is the
correct measure.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import json
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
KOPIA_USERNAME, KOPIA_HOSTNAME = "bench", "bench"
"""The identity both kopia sides snapshot as, so they restore each other's snapshots alike."""
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
    """What both sides share: a home for the repository and cache, the mount point, the engine."""

    name: str
    home: Path
    mount_point: Path
    engine: str
    """``restic`` or ``kopia``."""
    tool: str
    """The engine's binary."""
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

    def engine_settings(self) -> dict[str, str]:
        """Return the variables the engine (and the mover) read: repository, password, cache."""
        if self.engine == "kopia":
            return kopia_settings(self.repository, password=self.password, cache=self.cache)
        return {
            contract.EnvVar.RESTIC_REPOSITORY.value: str(self.repository),
            contract.EnvVar.RESTIC_PASSWORD.value: self.password,
            contract.EnvVar.RESTIC_CACHE_DIR.value: str(self.cache),
        }


def kopia_settings(repository: Path, *, password: str, cache: Path) -> dict[str, str]:
    """Return the kopia mover's variables for a filesystem repository, as the bench's identity."""
    return {
        contract.KopiaEnvVar.REPOSITORY.value: f"filesystem://{repository}",
        contract.KopiaEnvVar.PASSWORD.value: password,
        contract.KopiaEnvVar.CACHE_DIR.value: str(cache),
        contract.KopiaEnvVar.OVERRIDE_USERNAME.value: KOPIA_USERNAME,
        contract.KopiaEnvVar.OVERRIDE_HOSTNAME.value: KOPIA_HOSTNAME,
        "KOPIA_CHECK_FOR_UPDATES": "false",
    }


@dataclasses.dataclass(frozen=True, kw_only=True)
class Bare(Side):
    """The bare engine, as the shortest script runs it."""

    def backup(self) -> Timing:
        """Back up the mount point."""
        if self.engine == "kopia":
            return self.run_all([
                self.kopia_connect(),
                ["snapshot", "create", str(self.mount_point), "--json"],
            ])  # fmt: skip
        return self.run_all([["backup", "--host", contract.RESTIC_HOST, "."]])

    def restore(self) -> Timing:
        """Restore the latest snapshot into the mount point, and time a sync of it separately."""
        if self.engine == "kopia":
            timing = self.kopia_restore()
        else:
            timing = self.run_all([["restore", "latest", "--target", str(self.mount_point)]])
        started = time.perf_counter()
        subprocess.run(["sync", "-f", str(self.mount_point)], check=True)
        return dataclasses.replace(timing, sync_seconds=time.perf_counter() - started)

    def kopia_connect(self) -> list[str]:
        """Return kopia's connect, to a configuration file made anew for every run (as the
        mover does)."""
        self.kopia_config.unlink(missing_ok=True)
        return [
            "repository", "connect", "filesystem", f"--path={self.repository}",
            f"--cache-directory={self.cache}", f"--override-username={KOPIA_USERNAME}",
            f"--override-hostname={KOPIA_HOSTNAME}", "--no-persist-credentials",
        ]  # fmt: skip

    @property
    def kopia_config(self) -> Path:
        return self.home / "kopia.config"

    def kopia_restore(self) -> Timing:
        """Connect, find the newest snapshot of the mount point, restore it: one timing."""
        connected = self.run_all([self.kopia_connect()])
        started = time.perf_counter()
        listing = self.execute(["snapshot", "list", str(self.mount_point), "--json"])
        newest = max(json.loads(listing.stdout), key=lambda item: str(item["startTime"]))
        listed = time.perf_counter() - started
        restored = self.run_all([["snapshot", "restore", str(newest["id"]), str(self.mount_point)]])
        return Timing(
            seconds=connected.seconds + listed + restored.seconds,
            cpu_seconds=connected.cpu_seconds + restored.cpu_seconds,
        )

    def run_all(self, commands: Sequence[Sequence[str]]) -> Timing:
        """Run the engine's ``commands`` one after the other inside the mount point; time all."""
        cpu_before = children_cpu_seconds()
        started = time.perf_counter()
        for arguments in commands:
            self.execute(arguments)
        return Timing(
            seconds=time.perf_counter() - started,
            cpu_seconds=children_cpu_seconds() - cpu_before,
        )

    def execute(self, arguments: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Run the engine once; raise RunError with its last lines if it failed."""
        variables = moverrun.environment(self.engine_settings())
        prefix = (
            [f"--config-file={self.kopia_config}", "--disable-file-logging"]
            if self.engine == "kopia"
            else []
        )
        completed = subprocess.run(
            [self.tool, *prefix, *arguments],
            cwd=self.mount_point,
            env=variables,
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
        )
        if completed.returncode != 0:
            tail = (completed.stdout + completed.stderr).splitlines()[-OUTPUT_TAIL:]
            raise RunError(
                f"{self.engine} {arguments[0]} exited {completed.returncode}:\n" + "\n".join(tail)
            )
        return completed


@dataclasses.dataclass(frozen=True, kw_only=True)
class Wrapper(Side):
    """``pyvolsync-mover``, configured as a mover Job is."""

    def backup(self) -> Timing:
        """Back up the mount point (no retention, so no ``forget``: the bare side does none)."""
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
            settings=self.engine_settings()
            | {
                contract.EnvVar.DATA_DIR.value: str(self.mount_point),
                contract.EnvVar.PRIVILEGED_MOVER.value: "0",
            },
            result_path=self.home / "result.json",
            command=launch_command(rss_report),
            engine=self.engine,
        )
        outcome = finished.result.outcome if finished.result else None
        if finished.returncode != 0 or outcome not in GOOD_OUTCOMES:
            tail = finished.output.splitlines()[-OUTPUT_TAIL:]
            raise RunError(
                f"pyvolsync-mover {self.engine} {operation} exited {finished.returncode} "
                f"({outcome}):\n" + "\n".join(tail)
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
