"""The local demo: two backups, two restores and the proof that every byte came back.

It plays what a ReplicationSource and a ReplicationDestination would do, with the real
``pyvolsync-mover`` and the real restic, in a temporary directory: back up an app's volume, change
it, back up again (incremental), restore the latest snapshot and the one before it
(``SELECT_PREVIOUS=1``) onto fresh volumes, and compare manifests. The exit code is non-zero
when any check fails, so the demo doubles as a smoke test.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import secrets
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich import console as rich_console

from demo import checks, moverrun, report, sampledata, tree, volumes
from pyvolsync import contract

SOURCE = "app-data"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Mover:
    """Runs the mover as a pod would: one volume mounted at ``DATA_DIR``, one repository."""

    work: Path
    password: str

    @property
    def mount_point(self) -> Path:
        """The pod's ``/data``."""
        return self.work / "pod" / "data"

    def volume(self, name: str) -> Path:
        """Return the directory of the named volume (a PVC, in a cluster)."""
        return self.work / "volumes" / name

    def settings(self, **extra: str) -> dict[str, str]:
        """Return the mover's environment, as the operator sets it on the Job."""
        return {
            contract.EnvVar.DATA_DIR.value: str(self.mount_point),
            contract.EnvVar.RESTIC_REPOSITORY.value: str(self.work / "repository"),
            contract.EnvVar.RESTIC_PASSWORD.value: self.password,
            contract.EnvVar.RESTIC_CACHE_DIR.value: str(self.work / "cache"),
            contract.EnvVar.PRIVILEGED_MOVER.value: "0",
            **extra,
        }

    def run(self, name: str, operation: str, *, volume: str, **extra: str) -> report.Step:
        """Mount ``volume``, run one operation with ``extra`` settings, and return the step."""
        result_path = self.work / "termination-log.json"
        with volumes.mounted(self.volume(volume), mount_point=self.mount_point):
            finished = moverrun.run(
                [operation], settings=self.settings(**extra), result_path=result_path
            )
        return report.Step(name=name, run=finished)


def main(arguments: Sequence[str] | None = None) -> int:
    """Run the demo; return 0 when every check passed."""
    options = parse(arguments)
    console = rich_console.Console(highlight=False)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pyvolsync-demo-") as work:
        mover = Mover(work=Path(work), password=secrets.token_urlsafe(24))
        outcome = story(mover, seed=options.seed, console=console)
    outcome = dataclasses.replace(outcome, seconds=time.perf_counter() - started)
    report.render(outcome, console=console, verbose=options.verbose)
    if options.summary_json:
        Path(options.summary_json).write_text(json.dumps(outcome.to_dict(), indent=2) + "\n")
    return 0 if outcome.passed else 1


def parse(arguments: Sequence[str] | None) -> argparse.Namespace:
    """Return the command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m demo",
        description="Back up generated app data with pyvolsync-mover, restore it, verify it.",
    )
    parser.add_argument("--seed", type=int, default=2026, help="seed of the sample data")
    parser.add_argument("--verbose", action="store_true", help="show the mover's log lines")
    parser.add_argument("--summary-json", metavar="PATH", help="also write the summary as JSON")
    return parser.parse_args(arguments)


def story(mover: Mover, *, seed: int, console: rich_console.Console) -> report.Outcome:
    """Back up twice, restore twice, and return the steps with the checks of the results."""
    console.print(
        "[bold]pyvolsync demo[/]: pyvolsync-mover backs up an app's volume with restic into a "
        "local repository, restores it onto fresh volumes, and every byte is checked.\n"
        f"Work directory (removed at the end): {mover.work}"
    )
    source = mover.volume(SOURCE)
    source.mkdir(parents=True)
    sampledata.write_app_volume(source, seed=seed)
    before = tree.manifest(source)
    console.print(
        f"Generated an app volume: {len(before)} entries, {report.size(tree.total_bytes(before))}"
    )
    steps = [report.announce(mover.run("full backup", "backup", volume=SOURCE), console)]
    change = sampledata.apply_change(source, seed=seed)
    after = tree.manifest(source)
    console.print("Changed the app volume: 1 file added, 1 changed, 1 removed")
    steps.append(report.announce(mover.run("incremental backup", "backup", volume=SOURCE), console))
    restored = [restore(mover, previous, console=console, steps=steps) for previous in (0, 1)]
    evidence = checks.Evidence(
        steps=tuple(steps),
        before=before,
        after=after,
        restored_latest=restored[0],
        restored_previous=restored[1],
        change=change,
        password=mover.password,
    )
    return report.Outcome(steps=tuple(steps), checks=checks.all_checks(evidence))


def restore(
    mover: Mover, previous: int, *, console: rich_console.Console, steps: list[report.Step]
) -> tree.Manifest:
    """Restore onto a fresh volume the snapshot ``previous`` back from the latest; return it."""
    label = "latest" if previous == 0 else "previous"
    volume = f"restore-{label}"
    mover.volume(volume).mkdir()
    step = mover.run(
        f"restore {label}",
        "restore",
        volume=volume,
        **{contract.EnvVar.SELECT_PREVIOUS.value: str(previous)},
    )
    note = f"{contract.EnvVar.SELECT_PREVIOUS}={previous}"
    steps.append(report.announce(dataclasses.replace(step, note=note), console))
    return tree.manifest(mover.volume(volume))
