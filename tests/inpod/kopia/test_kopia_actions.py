"""Actions around a snapshot, extra snapshot arguments, and a restore that deletes extras."""

from __future__ import annotations

import json

from tests.inpod.kopia import kopia_support

from pyvolsync import contract


def test_a_failing_before_action_takes_no_snapshot(workspace: kopia_support.Workspace) -> None:
    (workspace.data / "file").write_text("x")

    run = workspace.mover("backup", KOPIA_BEFORE_SNAPSHOT="echo not ready; exit 3")

    assert run.returncode == 1
    assert run.result.error_kind is contract.ErrorKind.ACTION_FAILED
    assert "not ready" in run.output
    assert not workspace.repository.exists()


def test_actions_run_in_the_volume_and_a_failing_after_action_only_warns(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("x")

    run = workspace.mover(
        "backup",
        KOPIA_BEFORE_SNAPSHOT="echo dumped > dump.sql",
        KOPIA_AFTER_SNAPSHOT='test -z "$KOPIA_PASSWORD" && exit 7',
    )

    assert run.returncode == 0, run
    assert run.result.outcome is contract.Outcome.SUCCEEDED_WITH_WARNINGS
    assert "after-snapshot action failed" in run.result.warnings[0]
    assert (workspace.data / "dump.sql").read_text() == "dumped\n"
    assert run.result.files_new == 2


def test_additional_arguments_reach_the_snapshot_as_whole_arguments(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("x")

    run = workspace.mover(
        "backup", KOPIA_ADDITIONAL_ARGS=json.dumps(["--description", "nightly | two words"])
    )

    assert run.returncode == 0, run
    assert [item["description"] for item in workspace.snapshots()] == ["nightly | two words"]
    connect = next(line for line in run.output.splitlines() if "repository connect" in line)
    assert "--description" not in connect


def test_file_deletion_removes_extras_and_keeps_lost_and_found(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "kept.txt").write_text("from the snapshot")
    workspace.mover("backup")
    target = workspace.root / "restored"
    (target / "lost+found").mkdir(parents=True, mode=0o700)
    (target / "extra.txt").write_text("not in the snapshot")

    run = workspace.mover("restore", DATA_DIR=str(target), KOPIA_ENABLE_FILE_DELETION="true",
                          KOPIA_SOURCE_PATH_OVERRIDE=str(workspace.data))  # fmt: skip

    assert run.returncode == 0, run
    assert sorted(path.name for path in target.iterdir()) == ["kept.txt", "lost+found"]
    assert (target / "lost+found").stat().st_mode & 0o777 == 0o700
