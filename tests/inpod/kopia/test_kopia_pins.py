"""``pyvolsync-mover kopia pin|unpin|forget``: kopia's own pins, and one snapshot deleted."""

from __future__ import annotations

from tests.inpod import inpod_support
from tests.inpod.kopia import kopia_support

from pyvolsync import contract


def _backups(workspace: kopia_support.Workspace, count: int) -> list[str]:
    ids = []
    for number in range(count):
        (workspace.data / f"{number}.txt").write_text(str(number))
        ids.append(workspace.mover("backup").result.snapshot_id)
    return ids


def test_a_pinned_snapshot_survives_retention_and_unpin_removes_every_pin(
    workspace: kopia_support.Workspace,
) -> None:
    oldest, _ = _backups(workspace, 2)
    target = f"app@ns:{workspace.data}"

    pinned = workspace.mover("pin", PYVOLSYNC_SNAPSHOT=oldest[:8])

    assert pinned.returncode == 0, pinned
    entry = inpod_support.the_entry(pinned)
    assert entry.pinned, entry
    workspace.kopia("snapshot", "pin", "--add=by-hand", entry.id)
    (workspace.data / "late.txt").write_text("late")
    backup = workspace.mover("backup", KOPIA_RETAIN_LATEST="1").result
    listed = workspace.snapshots(target)
    assert len(listed) == 2 and sorted(listed[0]["pins"]) == ["by-hand", contract.PINNED]
    assert (backup.snapshots_kept, backup.snapshots_pinned) == (2, 1), "the status summary"
    assert backup.oldest_snapshot == entry.time < backup.newest_snapshot, backup

    unpinned = workspace.mover("unpin", PYVOLSYNC_SNAPSHOT=listed[0]["id"][:8])

    assert unpinned.returncode == 0 and not inpod_support.the_entry(unpinned).pinned, unpinned
    assert "(by-hand, pyvolsync-pinned)" in unpinned.result.operations[0].message
    (workspace.data / "later.txt").write_text("later")
    workspace.mover("backup", KOPIA_RETAIN_LATEST="1")
    assert len(workspace.snapshots(target)) == 1


def test_forget_deletes_one_snapshot_refuses_a_pinned_one_and_names_a_wrong_id(
    workspace: kopia_support.Workspace,
) -> None:
    first, middle, last = _backups(workspace, 3)
    pinned_id = inpod_support.the_entry(workspace.mover("pin", PYVOLSYNC_SNAPSHOT=last)).id

    refused = workspace.mover("forget", PYVOLSYNC_SNAPSHOT=pinned_id)
    missing = workspace.mover("forget", PYVOLSYNC_SNAPSHOT="ffff0000")
    forgotten = workspace.mover("forget", PYVOLSYNC_SNAPSHOT=middle)

    assert "is pinned: unpin it first" in refused.result.operations[0].message, refused
    assert "no snapshot ID begins with 'ffff0000'" in missing.result.operations[0].message, missing
    assert forgotten.returncode == 0 and inpod_support.the_entry(forgotten).id == middle, forgotten
    remaining = [item["id"] for item in workspace.snapshots(f"app@ns:{workspace.data}")]
    assert remaining == [first, pinned_id]
