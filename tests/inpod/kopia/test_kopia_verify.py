"""A restore drill with kopia: ``restore verify`` proves the volume came back as backed up.

One repository holds one snapshot of ``verify_support``'s volume, taken by the mover as
``app@ns:/data``. Each test restores it into a scratch folder (``DATA_DIR``; the snapshot is
found by its source path) and checks what a user of a drill reads: the exit code, the outcome,
the counts (the manifest's root summary) and the one-line message naming what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.inpod import verify_support
from tests.inpod.kopia import kopia_support

from pyvolsync import contract

Outcome, Kind, Operation = contract.Outcome, contract.ErrorKind, contract.Operation
SOURCE = "/data"


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory, kopia_dir: Path) -> kopia_support.Workspace:
    """A repository with one snapshot of the volume, taken by the mover."""
    space = kopia_support.Workspace(tmp_path_factory.mktemp("drill"), kopia_dir)
    space.env["KOPIA_SOURCE_PATH_OVERRIDE"] = SOURCE
    verify_support.build(space.data)
    backup = space.mover("backup")
    assert backup.returncode == 0, backup
    (space.root / "scratch").mkdir()
    space.env["DATA_DIR"] = str(space.root / "scratch")
    return space


def _scratch(space: kopia_support.Workspace) -> Path:
    folder = Path(space.env["DATA_DIR"])
    verify_support.scratch(folder)
    return folder


def _snapshot(space: kopia_support.Workspace) -> str:
    return str(space.snapshots()[0]["id"])


def _restored(space: kopia_support.Workspace) -> Path:
    folder = _scratch(space)
    run = space.mover("restore")
    assert run.returncode == 0 and run.result.outcome is Outcome.SUCCEEDED, run
    return folder


def test_a_good_restore_verifies_its_files_bytes_and_a_sample(
    drill: kopia_support.Workspace,
) -> None:
    _scratch(drill)

    run = drill.mover(
        "restore",
        "verify",
        PYVOLSYNC_PATHS='["config/app.ini", "/photos/2024", "current-db"]',
        PYVOLSYNC_VERIFY_MIN_BYTES="300000",
    )

    verified = verify_support.passed_verify(run, _snapshot(drill))
    files = verify_support.FILES
    assert verified.verified == (
        f"{files} files and {verify_support.SHOWN} as the snapshot records; {files} files "
        "sampled, each matching the repository; 3 required paths present; at least 293.0 KiB"
    )


def test_a_file_changed_after_the_restore_fails_naming_it(drill: kopia_support.Workspace) -> None:
    folder = _restored(drill)
    verify_support.corrupt(folder)

    run = drill.mover("verify", PYVOLSYNC_SNAPSHOT=_snapshot(drill), PYVOLSYNC_VERIFY_SAMPLE="1000")

    verified = verify_support.failed_verify(run)
    assert verified.message.endswith(
        "did not verify: content differs from the snapshot (SHA-256): /db/data.sqlite"
    ), "the sizes still match: only the content is wrong"
    assert verified.files_sampled == verify_support.FILES


def test_missing_required_paths_and_a_too_small_volume_fail_naming_them(
    drill: kopia_support.Workspace,
) -> None:
    _scratch(drill)

    run = drill.mover(
        "restore",
        "verify",
        PYVOLSYNC_PATHS='["config/app.ini", "config/secrets.env", "logs"]',
        PYVOLSYNC_VERIFY_MIN_BYTES="1000000000",
    )

    verified = verify_support.failed_verify(run)
    assert run.result.operations[0].outcome is Outcome.SUCCEEDED, "the restore itself worked"
    assert verified.message.endswith(
        "did not verify: required paths missing: /config/secrets.env, /logs; the volume's files "
        f"hold {verify_support.SHOWN} ({verify_support.BYTES} bytes), less than "
        "PYVOLSYNC_VERIFY_MIN_BYTES=1000000000"
    )


def test_a_deleted_file_fails_on_the_file_count(drill: kopia_support.Workspace) -> None:
    folder = _restored(drill)
    (folder / "db" / "data.sqlite-wal").unlink()

    run = drill.mover("verify", PYVOLSYNC_SNAPSHOT=_snapshot(drill)[:8])

    verified = verify_support.failed_verify(run)
    files = verify_support.FILES
    assert verified.message.endswith(
        f"did not verify: the volume holds {files - 1} files where the snapshot records {files}"
    ), "an empty file is missing: the bytes still match"


def test_an_incremental_snapshot_verifies_against_its_whole_tree(
    tmp_path: Path, kopia_dir: Path
) -> None:
    """kopia's ``stats.fileCount`` counts only the files a snapshot hashed; the tree's count is
    its root's summary, which verify compares."""
    space = kopia_support.Workspace(tmp_path, kopia_dir)
    space.env["KOPIA_SOURCE_PATH_OVERRIDE"] = SOURCE
    verify_support.build(space.data)
    assert space.mover("backup").returncode == 0
    (space.data / "added.txt").write_text("one more file")
    assert space.mover("backup").returncode == 0
    newest = max(space.snapshots(), key=lambda item: item["startTime"])
    assert newest["stats"]["fileCount"] == 1, "kopia hashed only the new file"
    (tmp_path / "scratch").mkdir()
    space.env["DATA_DIR"] = str(tmp_path / "scratch")

    run = space.mover("restore", "verify")

    assert run.returncode == 0, run
    verified = run.result.operations[-1]
    assert verified.snapshot_id == newest["id"]
    assert verified.files_restored == verify_support.FILES + 1
