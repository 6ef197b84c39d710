"""A restore drill with restic: ``restore verify`` proves the volume came back as backed up.

One repository holds one snapshot of ``verify_support``'s volume, taken by the mover. Each test
empties the volume (as a new scratch volume: only ``lost+found``), restores, and checks what a
user of a drill reads: the exit code, the outcome, the counts and the one-line message naming
what is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.inpod import verify_support
from tests.inpod.restic import mover_support

from pyvolsync import contract

Outcome, Kind, Operation = contract.Outcome, contract.ErrorKind, contract.Operation


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory, restic_dir: Path) -> mover_support.Workspace:
    """A repository with one snapshot of the volume, taken by the mover."""
    space = mover_support.Workspace(tmp_path_factory.mktemp("drill"), restic_dir)
    verify_support.build(space.data)
    backup = space.mover("backup")
    assert backup.returncode == 0, backup
    return space


def _snapshot(space: mover_support.Workspace) -> str:
    return str(space.snapshots()[0]["id"])


def _restored(space: mover_support.Workspace) -> None:
    verify_support.scratch(space.data)
    run = space.mover("restore")
    assert run.returncode == 0 and run.result.outcome is Outcome.SUCCEEDED, run


def test_a_good_restore_verifies_its_files_bytes_and_a_sample(
    drill: mover_support.Workspace,
) -> None:
    verify_support.scratch(drill.data)

    run = drill.mover(
        "restore",
        "verify",
        PYVOLSYNC_PATHS='["config/app.ini", "/photos/2024"]',
        PYVOLSYNC_VERIFY_MIN_BYTES="300000",
    )

    verified = verify_support.passed_verify(run, _snapshot(drill))
    files = verify_support.FILES
    assert verified.verified.startswith(
        f"{files} files and {verify_support.SHOWN} as the snapshot records; "
    )
    assert "2 required paths present" in verified.verified
    assert f"snapshot {verified.snapshot_id[:8]} (" in verified.message


def test_a_smaller_sample_reads_that_many_files(drill: mover_support.Workspace) -> None:
    _restored(drill)

    run = drill.mover("verify", PYVOLSYNC_VERIFY_SAMPLE="2")

    assert run.returncode == 0, run
    assert run.result.operations[0].files_sampled == 2
    assert run.output.count("running: restic dump") == 2
    assert "2 files sampled, each matching the repository" in run.result.verified


def test_a_file_changed_after_the_restore_fails_naming_it(drill: mover_support.Workspace) -> None:
    _restored(drill)
    verify_support.corrupt(drill.data)

    run = drill.mover("verify", PYVOLSYNC_SNAPSHOT=_snapshot(drill), PYVOLSYNC_VERIFY_SAMPLE="1000")

    verified = verify_support.failed_verify(run)
    assert verified.message.endswith(
        "did not verify: content differs from the snapshot (SHA-256): /db/data.sqlite"
    ), "the sizes still match: only the content is wrong"
    assert verified.files_sampled == verify_support.FILES
    assert verified.verified == ""


def test_missing_required_paths_and_a_too_small_volume_fail_naming_them(
    drill: mover_support.Workspace,
) -> None:
    verify_support.scratch(drill.data)

    run = drill.mover(
        "restore",
        "verify",
        PYVOLSYNC_PATHS='["config/app.ini", "config/secrets.env", "logs"]',
        PYVOLSYNC_VERIFY_MIN_BYTES="1000000000",
    )

    verified = verify_support.failed_verify(run)
    assert run.result.operations[0].outcome is Outcome.SUCCEEDED, "the restore itself worked"
    assert "required paths missing: /config/secrets.env, /logs;" in verified.message
    assert (
        f"the volume's files hold {verify_support.SHOWN} ({verify_support.BYTES} bytes), less than "
        "PYVOLSYNC_VERIFY_MIN_BYTES=1000000000"
    ) in verified.message
    assert "app.ini" not in verified.message


def test_a_deleted_file_fails_on_the_file_count(drill: mover_support.Workspace) -> None:
    _restored(drill)
    (drill.data / "config" / "app.ini").unlink()

    run = drill.mover("verify", PYVOLSYNC_SNAPSHOT=_snapshot(drill))

    verified = verify_support.failed_verify(run)
    files, size = verify_support.FILES, verify_support.BYTES
    gone = len(verify_support.CONTENTS["config/app.ini"])
    assert (
        f"the volume holds {files - 1} files where the snapshot records {files}; "
        f"the volume's files hold {size - gone} bytes where the snapshot records {size}"
    ) in verified.message
    assert verified.files_restored == files - 1


def test_files_the_volume_held_before_the_restore_fail_the_count(
    drill: mover_support.Workspace,
) -> None:
    verify_support.scratch(drill.data)
    (drill.data / "left-over.log").write_text("not from the snapshot")

    run = drill.mover("restore", "verify")

    verified = verify_support.failed_verify(run)
    assert (
        f"the volume holds {verify_support.FILES + 1} files where the snapshot records "
        f"{verify_support.FILES} (did the volume hold other files before the restore?)"
    ) in verified.message
    assert "not a file in the snapshot: /left-over.log" in verified.message


def test_a_drill_without_a_snapshot_to_restore_fails(drill: mover_support.Workspace) -> None:
    verify_support.scratch(drill.data)

    run = drill.mover("restore", "verify", SELECT_PREVIOUS="1")

    verified = verify_support.failed_verify(run)
    assert run.result.operations[0].outcome is Outcome.NO_ELIGIBLE_SNAPSHOT
    assert verified.message == (
        f"no snapshot of host volsync and path {drill.data} at or before now with 1 older ones "
        "skipped: there is nothing to verify"
    )
