"""A tree built to break backup tools comes back identical in bytes and metadata."""

from __future__ import annotations

import shutil

from tests.inpod import inpod_support
from tests.inpod.restic import mover_support

from pyvolsync import contract


def test_hostile_tree_round_trips_identically(workspace: mover_support.Workspace) -> None:
    inpod_support.build_hostile_tree(workspace.data)
    before = inpod_support.describe(workspace.data)

    backup = workspace.mover("backup")
    shutil.rmtree(workspace.data)
    workspace.data.mkdir()
    (workspace.data / "lost+found").mkdir()
    restore = workspace.mover("restore")

    assert backup.returncode == 0, backup
    assert backup.result.outcome is contract.Outcome.SUCCEEDED
    assert restore.returncode == 0, restore
    assert restore.result.outcome is contract.Outcome.SUCCEEDED
    assert restore.result.snapshot_id == backup.result.snapshot_id
    after = inpod_support.describe(workspace.data)
    assert after["hardlinks"] == before["hardlinks"]
    assert after["entries"] == before["entries"]


def test_only_the_top_level_lost_and_found_is_left_out(workspace: mover_support.Workspace) -> None:
    (workspace.data / "lost+found").mkdir()
    (workspace.data / "lost+found" / "#12").write_text("fsck")
    (workspace.data / "app" / "lost+found").mkdir(parents=True)
    (workspace.data / "app" / "lost+found" / "data.db").write_text("the app's own")

    backup = workspace.mover("backup")
    listing = workspace.restic("ls", "latest", "--no-lock").stdout.splitlines()

    assert backup.result.outcome is contract.Outcome.SUCCEEDED, backup
    assert "/app/lost+found/data.db" in listing
    assert not any(line.startswith("/lost+found") for line in listing)


def test_snapshot_path_is_the_data_dir_with_contents_at_the_root(
    workspace: mover_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("x")

    workspace.mover("backup")
    (snapshot,) = workspace.snapshots()

    assert snapshot["hostname"] == "volsync"
    assert snapshot["paths"] == [str(workspace.data)]
    assert "/file" in workspace.restic("ls", "latest", "--no-lock").stdout.splitlines()
