"""Backups: repository creation, incremental runs, empty sources, unreadable files, bad settings."""

from __future__ import annotations

import json
import os
import re

from tests.inpod.restic import mover_support

from pyvolsync import contract

Outcome, Kind = contract.Outcome, contract.ErrorKind


def test_first_backup_creates_the_repository_and_prints_upstream_lines(
    workspace: mover_support.Workspace,
) -> None:
    (workspace.data / "a.txt").write_text("alpha")
    (workspace.data / "b.bin").write_bytes(os.urandom(50_000))

    run = workspace.mover("backup")

    assert run.returncode == 0, run
    assert workspace.repository.joinpath("config").is_file()
    assert re.search(r"^processed 2 files, .* in \d+:\d\d$", run.output, re.MULTILINE)
    assert re.search(r"^snapshot [0-9a-f]{8} saved$", run.output, re.MULTILINE)
    assert re.search(r"^Restic completed in \d+s$", run.output, re.MULTILINE)
    assert "=== Starting backup ===" in run.output
    result = run.result
    assert result.outcome is Outcome.SUCCEEDED
    assert (result.files_new, result.files_changed, result.files_unmodified) == (2, 0, 0)
    assert result.bytes_processed == 50_005
    assert result.bytes_added > 50_000
    assert result.restic_version == "0.18.1"
    assert [snapshot["id"] for snapshot in workspace.snapshots()] == [result.snapshot_id]


def test_incremental_backup_stores_only_what_changed(workspace: mover_support.Workspace) -> None:
    for number in range(20):
        (workspace.data / f"file-{number}.bin").write_bytes(os.urandom(20_000))
    first = workspace.mover("backup").result
    (workspace.data / "file-3.bin").write_bytes(os.urandom(20_000))
    (workspace.data / "new.bin").write_bytes(os.urandom(10_000))

    second = workspace.mover("backup").result

    assert (second.files_new, second.files_changed, second.files_unmodified) == (1, 1, 19)
    assert 30_000 <= second.bytes_added < 60_000
    assert second.bytes_added < first.bytes_added / 5
    snapshots = workspace.snapshots()
    assert [snapshot["id"] for snapshot in snapshots] == [first.snapshot_id, second.snapshot_id]
    assert snapshots[1]["parent"] == first.snapshot_id


def test_an_empty_source_is_an_explicit_outcome_and_touches_nothing(
    workspace: mover_support.Workspace,
) -> None:
    (workspace.data / "lost+found").mkdir()
    (workspace.data / "lost+found" / "#7").write_text("fsck leftovers only")

    run = workspace.mover("backup", "prune", FORGET_OPTIONS="--keep-last 1")

    assert run.returncode == 0, run
    assert run.result.outcome is Outcome.SOURCE_EMPTY
    assert [(item.operation, item.outcome) for item in run.result.operations] == [
        (contract.Operation.BACKUP, Outcome.SOURCE_EMPTY),
        (contract.Operation.PRUNE, Outcome.SKIPPED),
    ]
    assert "=== Directory is empty skipping backup ===" in run.output
    assert not workspace.repository.exists()


def test_unreadable_files_are_warnings_that_name_them(
    open_workspace: mover_support.Workspace,
) -> None:
    """As a non-root mover (PRIVILEGED_MOVER=0): restic exit 3 still saves a snapshot."""
    (open_workspace.data / "readable.txt").write_text("fine")
    (open_workspace.data / "locked").mkdir()
    (open_workspace.data / "locked" / "root-only.key").write_text("unreadable")
    (open_workspace.data / "locked" / "root-only.key").chmod(0o600)

    run = open_workspace.mover("backup", PATH=open_workspace.restic_as_nobody())

    assert run.returncode == 0, run
    result = run.result
    assert result.outcome is Outcome.SUCCEEDED_WITH_WARNINGS
    assert len(result.warnings) == 1
    assert "locked/root-only.key" in result.warnings[0]
    assert "permission denied" in result.warnings[0]
    assert result.snapshot_id
    listing = open_workspace.restic("ls", result.snapshot_id, "--no-lock").stdout
    assert "/readable.txt" in listing
    assert "root-only.key" not in listing


def test_bad_retention_runs_nothing_and_names_the_token(workspace: mover_support.Workspace) -> None:
    (workspace.data / "a").write_text("a")

    run = workspace.mover("backup", FORGET_OPTIONS="--keep-last 3 --prune")

    assert run.returncode == contract.ExitCode.INVALID_CONFIGURATION, run
    assert run.result.error_kind is Kind.INVALID_CONFIGURATION
    assert "'--prune'" in run.result.message
    assert "FORGET_OPTIONS" in run.result.message
    assert not workspace.repository.exists()


def test_a_missing_mandatory_variable_is_named(workspace: mover_support.Workspace) -> None:
    run = workspace.mover("backup", RESTIC_CACHE_DIR=None)

    assert run.returncode == contract.ExitCode.INVALID_CONFIGURATION, run
    assert "RESTIC_CACHE_DIR must be set" in run.result.message
    assert "ERROR: RESTIC_CACHE_DIR must be set" in run.output


def test_an_unknown_operation_is_refused_before_anything_runs(
    workspace: mover_support.Workspace,
) -> None:
    (workspace.data / "a").write_text("a")

    run = workspace.mover("backup", "teleport")

    assert run.returncode == contract.ExitCode.INVALID_CONFIGURATION, run
    assert "teleport" in run.result.message
    assert not workspace.repository.exists()


def test_without_privileged_mover_it_warns_and_works(workspace: mover_support.Workspace) -> None:
    (workspace.data / "a").write_text("a")

    run = workspace.mover("backup", PRIVILEGED_MOVER=None)

    assert run.returncode == 0, run
    assert "WARNING: PRIVILEGED_MOVER is not set" in run.output


def test_json_log_format_gives_one_object_per_line(workspace: mover_support.Workspace) -> None:
    (workspace.data / "a").write_text("a")

    run = workspace.mover("backup", PYVOLSYNC_LOG_FORMAT="json", PRIVILEGED_MOVER=None)

    records = [json.loads(line) for line in run.output.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(re.fullmatch(r"snapshot [0-9a-f]{8} saved", item["message"]) for item in records)
    assert any(
        item["level"] == "warning" and "PRIVILEGED_MOVER" in item["message"] for item in records
    )


def test_unlock_before_the_first_backup_is_not_an_error(workspace: mover_support.Workspace) -> None:
    (workspace.data / "a").write_text("a")

    run = workspace.mover("unlock", "backup")

    assert run.returncode == 0, run
    unlock, backup = run.result.operations
    assert unlock.outcome is Outcome.SUCCEEDED
    assert "does not exist yet" in unlock.message
    assert backup.outcome is Outcome.SUCCEEDED
    assert run.result.snapshot_id == backup.snapshot_id
