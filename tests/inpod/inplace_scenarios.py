"""``pyvolsync-mover ENGINE restore-paths|remove-paths``: chosen paths put back into the live
volume from an older snapshot, every other file untouched, and the safety copy pinned as it is
taken.

The scenarios are the same for every engine: each engine's test module imports them, and its
folder's ``workspace`` fixture gives them that engine's mover and repository."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import pytest
from tests.inpod import browse_support
from tests.inpod.browse_support import NEWLINE, SPACES, UNICODE
from tests.inpod.inpod_support import EngineWorkspace

from pyvolsync import contract

Seen = tuple[str, int, str, int]


def volume_state(root: Path) -> dict[str, Seen]:
    """Return every entry under ``root``: kind, permission bits, content hash or link target,
    and modification time (links are not followed)."""
    found: dict[str, Seen] = {}
    for folder, folders, files in os.walk(root):
        for name in folders + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                kind, content = "link", os.readlink(path)
            elif stat.S_ISDIR(info.st_mode):
                kind, content = "dir", ""
            else:
                kind = "file"
                content = hashlib.sha256(Path(path).read_bytes()).hexdigest()
            found[os.path.relpath(path, root)] = (
                kind, stat.S_IMODE(info.st_mode), content, int(info.st_mtime),
            )  # fmt: skip
    return found


def _paths(*paths: str) -> str:
    return json.dumps(list(paths))


@pytest.fixture
def damaged(workspace: EngineWorkspace) -> tuple[EngineWorkspace, str, dict[str, Seen]]:
    """A backup of the awkward tree, then the app's damage: a changed file, a removed one, a
    file added to a folder, a link pointed elsewhere. Returns the snapshot and the tree as it
    was backed up."""
    browse_support.build_awkward_tree(workspace.data, version=1)
    before = volume_state(workspace.data)
    snapshot = workspace.mover("backup", PYVOLSYNC_SOURCE="apps/wiki").result.snapshot_id
    (workspace.data / "sub" / "config.ini").write_text("corrupted")
    (workspace.data / "sub" / "stray.tmp").write_text("left by the app")
    (workspace.data / NEWLINE).unlink()
    (workspace.data / "link-to-plain").unlink()
    (workspace.data / "link-to-plain").symlink_to("script.sh")
    (workspace.data / UNICODE).write_text("changed after the backup, not restored")
    return workspace, snapshot, before


def test_chosen_paths_come_back_exactly_and_nothing_else_changes(
    damaged: tuple[EngineWorkspace, str, dict[str, Seen]],
) -> None:
    space, snapshot, before = damaged
    untouched = {path: seen for path, seen in volume_state(space.data).items()
                 if not path.startswith(("sub", NEWLINE, "link-to-plain"))}  # fmt: skip

    restored = space.mover(
        "restore-paths",
        PYVOLSYNC_SOURCE="apps/wiki",
        PYVOLSYNC_SNAPSHOT=snapshot[:8],
        PYVOLSYNC_PATHS=_paths("/sub", f"/{NEWLINE}", "/link-to-plain"),
    )

    assert restored.returncode == 0, restored
    after = volume_state(space.data)
    for path in ("sub", "sub/config.ini", NEWLINE, "link-to-plain"):
        assert after[path] == before[path], (path, after[path], before[path])
    assert "sub/stray.tmp" not in after, "a restored folder is what the snapshot holds"
    assert {path: after[path] for path in untouched} == untouched
    assert after[UNICODE] != before[UNICODE], "a path not named stays as the app left it"
    assert not [name for name in os.listdir(space.data) if name.startswith(".pyvolsync")]
    assert [entry.path for entry in browse_support.tree(restored)] == [
        "/sub", f"/{NEWLINE}", "/link-to-plain",
    ]  # fmt: skip


def test_a_missing_path_is_named_with_the_closest_and_nothing_is_touched(
    damaged: tuple[EngineWorkspace, str, dict[str, Seen]],
) -> None:
    space, snapshot, _ = damaged
    as_it_was = volume_state(space.data)

    refused = space.mover(
        "restore-paths",
        PYVOLSYNC_SOURCE="apps/wiki",
        PYVOLSYNC_SNAPSHOT=snapshot,
        PYVOLSYNC_PATHS=_paths("/sub/config.ini", "/sub/confg.ini"),
    )
    whole = space.mover("restore-paths", PYVOLSYNC_SOURCE="apps/wiki", PYVOLSYNC_PATHS=_paths("/"))

    assert refused.returncode != 0
    assert refused.result.error_kind is contract.ErrorKind.INVALID_CONFIGURATION
    assert "has no /sub/confg.ini" in refused.result.message
    assert "the closest in /sub: /sub/config.ini" in refused.result.message
    assert whole.returncode != 0 and "whole volume" in whole.result.message
    assert volume_state(space.data) == as_it_was


def test_a_dry_run_names_what_would_come_back_and_touches_nothing(
    damaged: tuple[EngineWorkspace, str, dict[str, Seen]],
) -> None:
    space, snapshot, _ = damaged
    as_it_was = volume_state(space.data)

    planned = space.mover(
        "restore-paths",
        PYVOLSYNC_SOURCE="apps/wiki",
        PYVOLSYNC_PATHS=_paths(f"/{SPACES}", "/sub"),
        PYVOLSYNC_DRY_RUN="true",
    )

    assert planned.returncode == 0, planned
    entries, chosen = contract.parse_tree(planned.output) or ([], "")
    assert chosen == snapshot, "the newest snapshot, named in full"
    assert [entry.path for entry in entries] == [f"/{SPACES}", "/sub"]
    assert volume_state(space.data) == as_it_was


def test_a_killed_runs_leftovers_go_and_remove_paths_removes(
    damaged: tuple[EngineWorkspace, str, dict[str, Seen]],
) -> None:
    space, _, before = damaged
    leftover = space.data / "sub" / ".pyvolsync-restoring-999"
    leftover.mkdir()
    (leftover / "config.ini").write_text("half written")

    restored = space.mover(
        "restore-paths", PYVOLSYNC_SOURCE="apps/wiki", PYVOLSYNC_PATHS=_paths("/sub/config.ini")
    )
    removed = space.mover("remove-paths", PYVOLSYNC_PATHS=_paths("/sub/stray.tmp", "/nothing"))

    assert restored.returncode == 0 and removed.returncode == 0, (restored, removed)
    assert sorted(os.listdir(space.data / "sub")) == ["config.ini"]
    assert volume_state(space.data)["sub/config.ini"] == before["sub/config.ini"]


def test_a_safety_copy_is_pinned_as_it_is_taken(workspace: EngineWorkspace) -> None:
    (workspace.data / "app.db").write_text("live data")

    taken = workspace.mover("backup", PYVOLSYNC_SOURCE="apps/wiki", PYVOLSYNC_PIN_BACKUP="true")
    listed = workspace.mover("snapshots", PYVOLSYNC_SOURCE="apps/wiki")

    assert taken.returncode == 0, taken
    catalog = contract.parse_catalog(listed.output) or []
    assert [(entry.id, entry.pinned) for entry in catalog] == [(taken.result.snapshot_id, True)]


def test_paths_come_back_from_a_mounted_copy_of_the_volume(
    workspace: EngineWorkspace, tmp_path: Path
) -> None:
    """The undo of a restore whose safety copy is a VolumeSnapshot: the paths are read from a
    volume made from it, mounted as a folder; the repository is not read."""
    before = tmp_path / "before"
    before.mkdir()
    browse_support.build_awkward_tree(before, version=1)
    expected = volume_state(before)
    browse_support.build_awkward_tree(workspace.data, version=2)
    (workspace.data / "sub" / "added-by-restore.txt").write_text("x")
    untouched = volume_state(workspace.data)[UNICODE]

    restored = workspace.mover(
        "restore-paths",
        PYVOLSYNC_FROM_FOLDER=str(before),
        PYVOLSYNC_PATHS=_paths("/sub", "/plain.bin", "/link-to-plain", "/only-after"),
        PYVOLSYNC_ABSENT_REMOVED="true",
    )

    assert restored.returncode == 0, restored
    after = volume_state(workspace.data)
    for path in ("sub", "sub/config.ini", "plain.bin", "link-to-plain"):
        assert after[path] == expected[path], (path, after[path], expected[path])
    assert "sub/added-by-restore.txt" not in after
    assert after[UNICODE] == untouched
