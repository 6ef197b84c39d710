"""Repositories: created only by a backup into nothing, opened only with the right password, and
shared by identities that keep their own snapshots and retention."""

from __future__ import annotations

from tests.inpod import inpod_support
from tests.inpod.kopia import kopia_support

from pyvolsync import contract

Kind = contract.ErrorKind


def test_an_empty_source_takes_no_snapshot_and_creates_nothing(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "lost+found").mkdir()

    run = workspace.mover("backup")

    assert run.returncode == 0
    assert run.result.outcome is contract.Outcome.SOURCE_EMPTY
    assert not workspace.repository.exists()


def test_a_wrong_password_is_named_and_creates_nothing(workspace: kopia_support.Workspace) -> None:
    (workspace.data / "file").write_text("x")
    workspace.mover("backup")
    blobs = sorted(path.name for path in workspace.repository.iterdir())

    run = workspace.mover("backup", KOPIA_PASSWORD="not the password at all")

    assert run.returncode == contract.ExitCode.WRONG_PASSWORD == 12
    assert run.result.error_kind is Kind.WRONG_PASSWORD
    assert "KOPIA_PASSWORD" in run.result.message
    assert "not the password at all" not in run.output + run.result_text
    assert sorted(path.name for path in workspace.repository.iterdir()) == blobs


def test_a_restore_from_a_missing_repository_never_creates_one(
    workspace: kopia_support.Workspace,
) -> None:
    run = workspace.mover("restore")
    workspace.repository.mkdir()
    in_empty_directory = workspace.mover("restore")

    for finished in (run, in_empty_directory):
        assert finished.returncode == contract.ExitCode.REPOSITORY_MISSING == 10, finished
        assert finished.result.error_kind is Kind.REPOSITORY_MISSING
    # kopia's filesystem storage notes its directory layout (.shards) when it opens an empty
    # directory; what makes a repository is the kopia.repository blob, and there is none.
    assert [path.name for path in workspace.repository.iterdir()] in ([], [".shards"])


def test_retention_keeps_what_it_says_for_the_overridden_source_path(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("x")
    settings = {"KOPIA_SOURCE_PATH_OVERRIDE": "/data", "KOPIA_RETAIN_LATEST": "2"}

    for _ in range(4):
        assert workspace.mover("backup", **settings).returncode == 0

    snapshots = workspace.snapshots()
    assert len(snapshots) == 2
    assert {
        (item["source"]["userName"], item["source"]["host"], item["source"]["path"])
        for item in snapshots
    } == {("app", "ns", "/data")}


def test_two_identities_in_one_repository_keep_their_own_snapshots(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "owner.txt").write_text("first")
    for _ in range(2):
        workspace.mover("backup", KOPIA_OVERRIDE_USERNAME="first", KOPIA_RETAIN_LATEST="1")
    (workspace.data / "owner.txt").write_text("second")
    workspace.mover("backup", KOPIA_OVERRIDE_USERNAME="second", KOPIA_RETAIN_LATEST="1")
    target = workspace.root / "restored"
    target.mkdir()

    run = workspace.mover("restore", DATA_DIR=str(target), KOPIA_OVERRIDE_USERNAME="first",
                          KOPIA_SOURCE_PATH_OVERRIDE=str(workspace.data))  # fmt: skip

    owners = sorted(item["source"]["userName"] for item in workspace.snapshots())
    assert owners == ["first", "second"]
    assert (target / "owner.txt").read_text() == "first", run


def test_the_password_never_reaches_the_log_or_the_result(
    workspace: kopia_support.Workspace,
) -> None:
    (workspace.data / "file").write_text("x")

    runs = [
        workspace.mover("backup"),
        workspace.mover("restore", KOPIA_REPOSITORY="filesystem:///nowhere"),
    ]

    # MoverRun itself fails a test whose output or result holds the password; say it here too.
    for run in runs:
        assert inpod_support.PASSWORD not in run.output + run.result_text
    assert runs[1].result.error_kind is Kind.REPOSITORY_MISSING
