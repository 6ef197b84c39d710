"""``pyvolsync-mover ENGINE ls|cat|download|find|diff``: one file back from an older snapshot,
with awkward names, links, holes and deep paths, byte for byte and without a restore.

The scenarios are the same for every engine: each engine's test module imports them, and its
folder's ``workspace`` fixture gives them that engine's mover and repository."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest
from tests.inpod import browse_support
from tests.inpod.browse_support import DEEP, NEWLINE, SPACES, UNICODE
from tests.inpod.inpod_support import EngineWorkspace

from pyvolsync import contract


@pytest.fixture
def two_snapshots(workspace: EngineWorkspace) -> tuple[EngineWorkspace, str, str]:
    """Version 1 of the tree, then version 2 (a file changed, one removed, one added)."""
    browse_support.build_awkward_tree(workspace.data, version=1)
    first = workspace.mover("backup", PYVOLSYNC_SOURCE="apps/wiki").result.snapshot_id
    (workspace.data / "sub" / "config.ini").write_text("[app]\nversion = 2\n")
    (workspace.data / "script.sh").unlink()
    (workspace.data / "new.txt").write_text("new")
    second = workspace.mover("backup", PYVOLSYNC_SOURCE="apps/wiki").result.snapshot_id
    return workspace, first, second


def _paths(*paths: str) -> str:
    return json.dumps(list(paths))


def test_ls_lists_an_older_snapshots_folder_in_long_form(
    two_snapshots: tuple[EngineWorkspace, str, str],
) -> None:
    space, first, _ = two_snapshots

    listed = space.mover("ls", PYVOLSYNC_SNAPSHOT=first[:8], PYVOLSYNC_PATHS=_paths("/"))

    assert listed.returncode == 0, listed
    entries = {entry.path: entry for entry in browse_support.tree(listed)}
    assert {f"/{UNICODE}", f"/{NEWLINE}", f"/{SPACES}", "/--help", "/script.sh"} <= set(entries)
    assert "/new.txt" not in entries, "the older snapshot is read"
    assert entries["/script.sh"].mode == "-rwxr-xr-x" and entries["/script.sh"].size == 18
    assert entries["/sub"].type == "dir" and entries["/sub"].mode.startswith("d")
    assert (entries["/link-to-plain"].type, entries["/link-to-plain"].target) == (
        "symlink",
        "plain.bin",
    )
    assert entries["/sparse.img"].size == browse_support.HOLE
    assert entries["/script.sh"].mtime.endswith("Z")
    assert contract.parse_tree(listed.output) == (list(entries.values()), first)
    deep = space.mover("ls", PYVOLSYNC_PATHS=_paths(DEEP))
    assert [entry.path for entry in browse_support.tree(deep)] == [f"/{DEEP}/deep-file"]


def test_cat_and_download_give_the_bytes_modes_and_times_of_that_snapshot(
    two_snapshots: tuple[EngineWorkspace, str, str], tmp_path: Path
) -> None:
    space, first, _ = two_snapshots
    original = space.data

    cat = space.mover("cat", PYVOLSYNC_SNAPSHOT=first, PYVOLSYNC_PATHS=_paths("sub/config.ini"))
    download = space.mover(
        "download",
        PYVOLSYNC_SNAPSHOT=first,
        PYVOLSYNC_PATHS=_paths("/sub", f"/{NEWLINE}", "/sparse.img", "/link-to-plain", "/"),
    )

    assert cat.returncode == 0, cat
    assert browse_support.streams(cat) == {"/sub/config.ini": b"[app]\nversion = 1\n"}
    assert download.returncode == 0, download
    archives = browse_support.streams(download)
    assert list(archives) == ["/sub", f"/{NEWLINE}", "/sparse.img", "/link-to-plain", "/"]
    whole = browse_support.extracted(archives["/"], tmp_path / "whole")
    assert (whole / "sub" / "config.ini").read_text() == "[app]\nversion = 1\n"
    assert (whole / NEWLINE).read_text() == "newline in the name"
    assert (whole / "sparse.img").read_bytes() == (original / "sparse.img").read_bytes()
    assert (whole / "plain.bin").read_bytes() == (original / "plain.bin").read_bytes()
    assert os.readlink(whole / "link-to-plain") == "plain.bin"
    assert (whole / DEEP / "deep-file").read_text() == "deep"
    script = (whole / "script.sh").stat()
    assert oct(script.st_mode & 0o7777) == "0o755"
    one = browse_support.extracted(archives[f"/{NEWLINE}"], tmp_path / "one")
    assert [path.name for path in one.iterdir()] == [NEWLINE]


def test_every_file_keeps_its_modification_time_to_the_second(
    two_snapshots: tuple[EngineWorkspace, str, str], tmp_path: Path
) -> None:
    space, first, _ = two_snapshots
    download = space.mover("download", PYVOLSYNC_SNAPSHOT=first, PYVOLSYNC_PATHS=_paths("/sub"))
    listed = space.mover("ls", PYVOLSYNC_SNAPSHOT=first, PYVOLSYNC_PATHS=_paths("/sub"))

    target = browse_support.extracted(browse_support.streams(download)["/sub"], tmp_path)

    (entry,) = browse_support.tree(listed)
    mtime = (target / "sub" / "config.ini").stat().st_mtime
    assert contract_time(mtime) == entry.mtime


def contract_time(seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(int(seconds), tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_find_names_every_snapshot_holding_a_match_newest_first(
    two_snapshots: tuple[EngineWorkspace, str, str],
) -> None:
    space, first, second = two_snapshots

    found = space.mover("find", PYVOLSYNC_PATTERN="*.ini")
    scripts = space.mover("find", PYVOLSYNC_PATTERN="script.*")

    assert found.returncode == 0, found
    assert [(entry.path, entry.snapshot) for entry in browse_support.tree(found)] == [
        ("/sub/config.ini", second),
        ("/sub/config.ini", first),
    ]
    assert [entry.snapshot for entry in browse_support.tree(scripts)] == [first]


def test_diff_says_what_was_added_removed_and_modified(
    two_snapshots: tuple[EngineWorkspace, str, str],
) -> None:
    space, first, second = two_snapshots

    compared = space.mover("diff", PYVOLSYNC_SNAPSHOT=first, PYVOLSYNC_OTHER_SNAPSHOT=second[:8])

    assert compared.returncode == 0, compared
    assert [(entry.change, entry.path) for entry in browse_support.tree(compared)] == [
        ("added", "/new.txt"),
        ("removed", "/script.sh"),
        ("modified", "/sub/config.ini"),
    ]


def test_a_missing_path_names_the_closest_and_a_folder_is_not_a_file(
    two_snapshots: tuple[EngineWorkspace, str, str],
) -> None:
    space, _, _ = two_snapshots

    missing = space.mover("cat", PYVOLSYNC_PATHS=_paths("/sub/confg.ini"))
    folder = space.mover("cat", PYVOLSYNC_PATHS=_paths("/sub"))
    outside = space.mover("ls", PYVOLSYNC_PATHS=_paths("/sub/../../etc"))
    gone_folder = space.mover("ls", PYVOLSYNC_PATHS=_paths("/nothing/here.txt"))

    assert missing.returncode == contract.ExitCode.INVALID_CONFIGURATION, missing
    assert "has no /sub/confg.ini; the closest in /sub: /sub/config.ini" in missing.output
    assert "/sub in snapshot" in folder.result.message and "is a folder" in folder.result.message
    assert "leaves the volume" in outside.result.message, outside
    assert "has no /nothing/here.txt; / holds" in gone_folder.result.message, gone_folder
    assert contract.parse_tree(missing.output) is None
