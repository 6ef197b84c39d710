"""What the demo proves, each as a check a user would make by hand after a backup and a restore.

Kept apart from the story so each check reads as one sentence with its evidence, and so the
checks can be exercised on hand-built evidence without running restic.
"""

from __future__ import annotations

import dataclasses

from demo import report, sampledata, tree


@dataclasses.dataclass(frozen=True, kw_only=True)
class Evidence:
    """Everything the demo observed: the mover's steps and the manifests around them."""

    steps: tuple[report.Step, ...]
    before: tree.Manifest
    after: tree.Manifest
    restored_latest: tree.Manifest
    restored_previous: tree.Manifest
    change: sampledata.Change
    password: str

    def step(self, prefix: str) -> report.Step | None:
        """Return the first step whose name starts with ``prefix``."""
        return next((item for item in self.steps if item.name.startswith(prefix)), None)


def all_checks(evidence: Evidence) -> tuple[report.Check, ...]:
    """Return every check of the demo, in the order a person would make them."""
    return (
        every_step_succeeded(evidence),
        identical("latest restore = volume now", evidence.after, evidence.restored_latest),
        identical("previous restore = volume before", evidence.before, evidence.restored_previous),
        differ_by_the_change(evidence),
        incremental_stored_only_the_change(evidence),
        restores_read_the_right_snapshots(evidence),
        password_never_shown(evidence),
    )


def every_step_succeeded(evidence: Evidence) -> report.Check:
    """The mover exited 0 with a good outcome for each step."""
    failed = [step.name for step in evidence.steps if not step.run.succeeded]
    detail = "failed: " + ", ".join(failed) if failed else f"{len(evidence.steps)} of 4 steps"
    return report.Check(
        name="every mover run succeeded",
        passed=not failed and len(evidence.steps) == 4,
        detail=detail,
    )


def identical(name: str, expected: tree.Manifest, actual: tree.Manifest) -> report.Check:
    """The two trees have equal bytes, modes, mtimes and symlink targets."""
    if tree.digest(expected) == tree.digest(actual):
        detail = f"{len(actual)} entries, sha256 {tree.digest(actual)[:12]}…"
        return report.Check(name=name, passed=True, detail=detail)
    return report.Check(name=name, passed=False, detail=describe(tree.difference(expected, actual)))


def describe(
    difference: tree.Difference,
    *,
    labels: tuple[str, str, str] = ("missing", "unexpected", "different"),
    most: int = 2,
) -> str:
    """Return a short account of a difference, naming a few paths of each kind.

    ``labels`` name the removed, added and changed paths.
    """
    parts = []
    kinds = (difference.removed, difference.added, difference.changed)
    for label, paths in zip(labels, kinds, strict=True):
        if paths:
            shown = ", ".join(sorted(paths)[:most])
            parts.append(f"{len(paths)} {label} ({shown}{', …' if len(paths) > most else ''})")
    return "; ".join(parts) or "no difference"


def differ_by_the_change(evidence: Evidence) -> report.Check:
    """Going from the previous restore to the latest one is exactly the edit the demo made."""
    found = tree.difference(evidence.restored_previous, evidence.restored_latest)
    expected = tree.Difference(
        added=evidence.change.added,
        removed=evidence.change.removed,
        changed=evidence.change.changed,
    )
    return report.Check(
        name="previous → latest = the change",
        passed=found == expected,
        detail=describe(found, labels=("removed", "added", "changed"), most=1),
    )


def incremental_stored_only_the_change(evidence: Evidence) -> report.Check:
    """The incremental backup saw one new file and one changed file, and skipped the rest."""
    step = evidence.step("incremental")
    result = step.run.result if step else None
    if result is None:
        return report.Check(
            name="incremental stored only the change", passed=False, detail="no result"
        )
    passed = (
        result.files_new == len(evidence.change.added)
        and result.files_changed == len(evidence.change.changed)
        and result.files_unmodified > 0
    )
    detail = (
        f"{result.files_new} new, {result.files_changed} changed, "
        f"{result.files_unmodified} unchanged; {report.size(result.bytes_added)} added"
    )
    return report.Check(name="incremental stored only the change", passed=passed, detail=detail)


def restores_read_the_right_snapshots(evidence: Evidence) -> report.Check:
    """The latest restore read the incremental's snapshot and the previous one the full's."""
    pairs = (("restore latest", "incremental"), ("restore previous", "full"))
    found = [(snapshot(evidence, restore), snapshot(evidence, backup)) for restore, backup in pairs]
    passed = all(restored and restored == saved for restored, saved in found)
    detail = ", ".join(
        f"{restore.split()[1]} read {restored[:8] or '?'}"
        + ("" if restored == saved else f" (expected {saved[:8] or '?'})")
        for (restore, _), (restored, saved) in zip(pairs, found, strict=True)
    )
    return report.Check(name="restores chose the right snapshots", passed=passed, detail=detail)


def snapshot(evidence: Evidence, prefix: str) -> str:
    """Return the snapshot id the named step's result reports, or an empty string."""
    step = evidence.step(prefix)
    result = step.run.result if step else None
    return result.snapshot_id if result else ""


def password_never_shown(evidence: Evidence) -> report.Check:
    """The repository password is in none of the mover's log lines or result documents."""
    leaked = [
        step.name
        for step in evidence.steps
        if evidence.password in step.run.output or evidence.password in repr(step.run.result)
    ]
    detail = "leaked in: " + ", ".join(leaked) if leaked else "not in any log line or result"
    return report.Check(name="password kept secret", passed=not leaked, detail=detail)
