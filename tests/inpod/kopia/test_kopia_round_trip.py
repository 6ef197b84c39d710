"""A kopia backup restores what it saved: contents, modes, times and links; then increments."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.inpod import inpod_support
from tests.inpod.kopia import kopia_support

from pyvolsync import contract


def build_tree(root: Path) -> None:
    """A small tree with what a volume holds: modes, links, odd names, empty things, depth."""
    (root / "plain.bin").write_bytes(os.urandom(200_000))
    (root / "empty-file").touch()
    (root / "private").write_text("secret-ish")
    (root / "private").chmod(0o600)
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    (root / "script.sh").chmod(0o755)
    (root / "closed-dir").mkdir(mode=0o700)
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "sub" / "deeper" / "file.txt").write_text("deep")
    (root / "empty-dir").mkdir()
    (root / "link-to-plain").symlink_to("plain.bin")
    (root / "dangling-link").symlink_to("no/such/target")
    (root / "ünïcødé 文件 🙂.txt").write_text("unicode")
    (root / "--help").write_text("a name that looks like a flag")
    inpod_support.set_times(root)


def kept_by_kopia(root: Path) -> dict[str, dict[str, object]]:
    """Describe ``root`` as far as bare kopia v0.23.1 restores it (measured): file times to the
    nanosecond, symbolic link times rounded to the microsecond, directory times not at all (a
    restored directory gets the time of its newest child)."""
    entries: dict[str, dict[str, object]] = inpod_support.describe(root)["entries"]
    for entry in entries.values():
        if entry["type"] == stat.S_IFDIR:
            del entry["mtime_ns"]
        elif entry["type"] == stat.S_IFLNK:
            entry["mtime_ns"] = round(int(str(entry["mtime_ns"])) / 1000)
    return entries


def test_a_backup_restores_contents_modes_and_times(workspace: kopia_support.Workspace) -> None:
    build_tree(workspace.data)
    (workspace.data / "lost+found").mkdir()
    (workspace.data / "lost+found" / "#12").write_text("fsck leftovers")

    backup = workspace.mover("backup", KOPIA_SOURCE_PATH_OVERRIDE="/data")
    target = workspace.root / "restored"
    target.mkdir()
    restore = workspace.mover("restore", DATA_DIR=str(target), KOPIA_SOURCE_PATH_OVERRIDE="/data")

    assert backup.returncode == 0 and restore.returncode == 0, (backup, restore)
    saved, restored = backup.result, restore.result
    assert saved.outcome is contract.Outcome.SUCCEEDED
    assert (saved.engine, saved.engine_version) == ("kopia", "0.23.1")
    assert restored.snapshot_id == saved.snapshot_id
    assert restored.snapshots_found == 1
    assert restored.files_restored == 7  # regular files; kopia counts links apart
    assert kept_by_kopia(target) == kept_by_kopia(workspace.data)
    assert not (target / "lost+found").exists(), "the volume's lost+found is not backed up"
    assert "Kopia completed in" in restore.output and "=== Done ===" in restore.output


def test_progress_lines_are_the_ones_the_operator_reads(workspace: kopia_support.Workspace) -> None:
    (workspace.data / "big.bin").write_bytes(os.urandom(20 * 1024**2))

    run = workspace.mover("backup")

    progress = [contract.parse_progress(line) for line in run.output.splitlines()]
    found = [item for item in progress if item is not None]
    assert found, run
    assert all(item.operation == "backup" for item in found)
    assert found[-1].bytes_done == found[-1].bytes_total > 20_000_000


def test_a_second_backup_stores_only_what_changed(workspace: kopia_support.Workspace) -> None:
    build_tree(workspace.data)
    first = workspace.mover("backup").result
    (workspace.data / "plain.bin").write_bytes(os.urandom(1000))

    second = workspace.mover("backup").result

    assert first.files_new == 9  # kopia hashes the 2 symbolic links too
    assert (second.files_new, second.files_unmodified) == (1, 8)
    assert second.snapshot_id != first.snapshot_id
    assert len(workspace.snapshots()) == 2
