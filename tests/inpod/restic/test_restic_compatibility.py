"""Both ways with upstream VolSync: its repositories restore with ours, ours restore with its rules.

Upstream's script backs up with ``cd $DATA_DIR; restic backup --host volsync --exclude=lost+found
.`` and restores the newest snapshot whose line in the ``restic snapshots`` table contains
``/data``, with ``restic restore ID -t . --host volsync --include-xattr user.*`` inside the data
directory. The workspace's data directory ends in ``/data``, as in a pod.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.inpod import inpod_support
from tests.inpod.restic import mover_support

from pyvolsync import contract


def _plain_tree(root: Path) -> None:
    (root / "app" / "db").mkdir(parents=True)
    (root / "app" / "db" / "table.dat").write_bytes(os.urandom(40_000))
    (root / "app" / "config.yaml").write_text("key: value\n")
    (root / "app" / "current").symlink_to("db/table.dat")
    (root / "empty").mkdir()
    os.setxattr(root / "app" / "config.yaml", "user.origin", b"upstream")
    os.chown(root / "app" / "config.yaml", 1001, 1001)
    inpod_support.set_times(root)


def _upstream_select(workspace: mover_support.Workspace) -> str:
    """Upstream's rule: rows of the snapshots table that contain /data, the last one wins."""
    table = workspace.restic("snapshots").stdout.splitlines()
    rows = [line.split() for line in table if "/data" in line]
    return rows[-1][0]


def test_a_repository_written_by_upstream_restores_with_ours(
    workspace: mover_support.Workspace,
) -> None:
    _plain_tree(workspace.data)
    (workspace.data / "lost+found").mkdir()
    before = inpod_support.describe(workspace.data)
    workspace.restic("init")
    workspace.restic("backup", "--host", "volsync", "--exclude=lost+found", ".", cwd=workspace.data)
    shutil.rmtree(workspace.data)
    workspace.data.mkdir()

    run = workspace.mover("restore")

    assert run.returncode == 0, run
    assert run.result.outcome is contract.Outcome.SUCCEEDED
    assert inpod_support.describe(workspace.data) == before


def test_a_snapshot_taken_by_ours_is_selected_and_restored_by_upstream_rules(
    workspace: mover_support.Workspace,
) -> None:
    _plain_tree(workspace.data)
    before = inpod_support.describe(workspace.data)
    older = workspace.mover("backup").result.snapshot_id
    (workspace.data / "app" / "newer.txt").write_text("second backup")
    before_newer = inpod_support.describe(workspace.data)
    newest = workspace.mover("backup").result.snapshot_id
    target = workspace.root / "elsewhere" / "data"
    target.mkdir(parents=True)

    chosen = _upstream_select(workspace)
    workspace.restic(
        "restore", chosen, "-t", ".", "--host", "volsync", "--include-xattr", "user.*", cwd=target
    )

    assert newest.startswith(chosen) and not older.startswith(chosen)
    assert inpod_support.describe(target) == before_newer != before
