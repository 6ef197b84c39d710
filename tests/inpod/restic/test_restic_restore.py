"""Restores: which snapshot (RESTORE_AS_OF, SELECT_PREVIOUS), --delete, and the three outcomes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.inpod.restic import mover_support

from pyvolsync import contract

Outcome, Kind = contract.Outcome, contract.ErrorKind
VERSIONS = {"v1": "2024-01-01 10:00:00", "v2": "2024-01-02 10:00:00", "v3": "2024-01-03 10:00:00"}


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory, restic_dir: Path) -> mover_support.Workspace:
    """A repository with three snapshots of the data directory, one a day, holding v1..v3."""
    space = mover_support.Workspace(tmp_path_factory.mktemp("history"), restic_dir)
    space.restic("init")
    for version, time in VERSIONS.items():
        (space.data / "version").write_text(version)
        (space.data / version).write_text("only in this version")
        space.backup_at(time)
    return space


def _empty(data: Path) -> None:
    shutil.rmtree(data)
    data.mkdir()


@pytest.mark.parametrize(
    ("settings", "version"),
    [
        ({}, "v3"),
        ({"SELECT_PREVIOUS": "1"}, "v2"),
        ({"RESTORE_AS_OF": "2024-01-02T12:00:00Z"}, "v2"),
        ({"RESTORE_AS_OF": "2024-01-02T10:00:00Z"}, "v2"),
        ({"RESTORE_AS_OF": "2024-01-02T12:00:00+02:00", "SELECT_PREVIOUS": "1"}, "v1"),
    ],
)
def test_the_chosen_snapshot_is_restored(
    history: mover_support.Workspace, settings: dict[str, str], version: str
) -> None:
    _empty(history.data)

    run = history.mover("restore", **settings)

    assert run.returncode == 0, run
    assert run.result.outcome is Outcome.SUCCEEDED
    assert (history.data / "version").read_text() == version
    assert f"Selected restic snapshot with id: {run.result.snapshot_id}" in run.output
    assert "Restoring snapshot" in run.output
    assert run.result.files_restored == 1 + int(version[1])


def test_no_snapshot_old_enough_is_an_explicit_outcome_and_writes_nothing(
    history: mover_support.Workspace,
) -> None:
    _empty(history.data)
    (history.data / "keep-me").write_text("untouched")

    run = history.mover("restore", RESTORE_AS_OF="2023-12-31T23:59:59Z")

    assert run.returncode == 0, run
    assert run.result.outcome is Outcome.NO_ELIGIBLE_SNAPSHOT
    assert "=== No data will be restored ===" in run.output
    assert sorted(path.name for path in history.data.iterdir()) == ["keep-me"]


def test_previous_beyond_the_history_restores_nothing(history: mover_support.Workspace) -> None:
    run = history.mover("restore", SELECT_PREVIOUS="3")

    assert run.result.outcome is Outcome.NO_ELIGIBLE_SNAPSHOT


@pytest.mark.parametrize(
    ("delete", "left_over"),
    [("--delete", False), ("", True)],
)
def test_delete_removes_files_not_in_the_snapshot_only_when_asked(
    history: mover_support.Workspace, delete: str, left_over: bool
) -> None:
    _empty(history.data)
    (history.data / "stray.txt").write_text("not in any snapshot")
    (history.data / "lost+found").mkdir()
    (history.data / "lost+found" / "#5").write_text("fsck")

    run = history.mover("restore", RESTORE_OPTIONS=delete)

    assert run.result.outcome is Outcome.SUCCEEDED, run
    assert (history.data / "stray.txt").exists() is left_over
    assert (history.data / "lost+found" / "#5").exists()
    assert (history.data / "v3").exists()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("RESTORE_AS_OF", "2024-01-02"),
        ("SELECT_PREVIOUS", "-1"),
        ("RESTORE_OPTIONS", "--overwrite=never"),
    ],
)
def test_bad_restore_settings_are_named_and_nothing_is_written(
    history: mover_support.Workspace, name: str, value: str
) -> None:
    _empty(history.data)

    run = history.mover("restore", **{name: value})

    assert run.returncode == contract.ExitCode.INVALID_CONFIGURATION, run
    assert run.result.error_kind is Kind.INVALID_CONFIGURATION
    assert name in run.result.message
    assert list(history.data.iterdir()) == []


def test_an_empty_repository_has_no_eligible_snapshot(workspace: mover_support.Workspace) -> None:
    workspace.restic("init")

    run = workspace.mover("restore")

    assert run.returncode == 0, run
    assert run.result.outcome is Outcome.NO_ELIGIBLE_SNAPSHOT


def test_a_missing_repository_fails_and_is_never_created(
    workspace: mover_support.Workspace,
) -> None:
    run = workspace.mover("restore")

    assert run.returncode == contract.ExitCode.REPOSITORY_MISSING, run
    assert run.result.outcome is Outcome.FAILED
    assert run.result.error_kind is Kind.REPOSITORY_MISSING
    assert "a restore never creates a repository" in run.result.message
    assert not workspace.repository.exists()
