"""A kopia restore picks the snapshot a person asked for, by time (any offset) and by count."""

from __future__ import annotations

from tests.inpod.kopia import kopia_support

from pyvolsync import contract

SOURCE = "/data"
TARGET = f"{kopia_support.USERNAME}@{kopia_support.HOSTNAME}:{SOURCE}"


def _three_dated_snapshots(workspace: kopia_support.Workspace) -> dict[str, str]:
    """Snapshots of 10:00, 12:00 and 14:00 UTC, each with a file naming its hour."""
    (workspace.data / "hour.txt").write_text("now")
    workspace.mover("backup", KOPIA_SOURCE_PATH_OVERRIDE=SOURCE)  # creates the repository
    ids = {}
    for hour in ("10", "12", "14"):
        (workspace.data / "hour.txt").write_text(hour)
        ids[hour] = workspace.snapshot_at(f"2024-05-01 {hour}:00:00 UTC", source=SOURCE)
    return ids


def _restore(
    workspace: kopia_support.Workspace, **settings: str
) -> tuple[str, contract.MoverResult]:
    target = workspace.root / "restored"
    target.mkdir(exist_ok=True)
    run = workspace.mover(
        "restore", DATA_DIR=str(target), KOPIA_SOURCE_PATH_OVERRIDE=SOURCE, **settings
    )
    assert run.returncode == 0, run
    hour = target / "hour.txt"
    return (hour.read_text() if hour.exists() else ""), run.result


def test_restore_as_of_a_time_with_an_offset_compares_times(
    workspace: kopia_support.Workspace,
) -> None:
    ids = _three_dated_snapshots(workspace)

    # 13:30 at +02:00 is 11:30 UTC: the 10:00 snapshot (as text, "12:00Z" <= "13:30+02:00").
    hour, result = _restore(workspace, KOPIA_RESTORE_AS_OF="2024-05-01T13:30:00+02:00")

    assert hour == "10"
    assert result.snapshot_id == ids["10"]


def test_previous_skips_that_many_older_snapshots(workspace: kopia_support.Workspace) -> None:
    _three_dated_snapshots(workspace)

    hour, _ = _restore(workspace, KOPIA_RESTORE_AS_OF="2024-05-01T14:00:00Z", KOPIA_PREVIOUS="1")

    assert hour == "12"


def test_no_eligible_snapshot_is_said_and_leaves_the_volume_alone(
    workspace: kopia_support.Workspace,
) -> None:
    _three_dated_snapshots(workspace)

    hour, result = _restore(workspace, KOPIA_RESTORE_AS_OF="2024-05-01T09:00:00Z")

    assert hour == ""
    assert result.outcome is contract.Outcome.NO_ELIGIBLE_SNAPSHOT
    assert result.snapshots_found == 4
    assert "nothing was restored" in result.message
