"""Retention: FORGET_OPTIONS applied after a backup keeps exactly what restic's policy says."""

from __future__ import annotations

import datetime
import os

import pytest
from tests.inpod.restic import mover_support

from pyvolsync import contract


def _ago(**delta: float) -> str:
    moment = datetime.datetime.now(datetime.UTC) - datetime.timedelta(**delta)
    return moment.strftime("%Y-%m-%d %H:%M:%S")


CALENDAR = {
    "jan-1-morning": "2020-01-01 10:00:00",
    "jan-1-noon": "2020-01-01 12:00:00",
    "jan-2": "2020-01-02 09:00:00",
    "jan-3-morning": "2020-01-03 09:00:00",
    "jan-3-evening": "2020-01-03 18:00:00",
    "feb-10": "2020-02-10 08:00:00",
}


@pytest.mark.parametrize(
    ("times", "options", "kept"),
    [
        pytest.param(
            CALENDAR,
            "--keep-daily 3 --keep-monthly=2",
            {"now", "feb-10", "jan-3-evening"},
            id="daily-and-monthly-buckets",
        ),
        pytest.param(
            {
                "hour-ago": _ago(hours=1),
                "two-days-ago": _ago(days=2),
                "ten-days-ago": _ago(days=10),
            },
            "--keep-within 7d --keep-last=1",
            {"now", "hour-ago", "two-days-ago"},
            id="within-duration-of-the-newest",
        ),
    ],
)
def test_retention_keeps_what_the_policy_says(
    workspace: mover_support.Workspace, times: dict[str, str], options: str, kept: set[str]
) -> None:
    (workspace.data / "file").write_text("content")
    workspace.restic("init")
    labels = {workspace.backup_at(time): label for label, time in times.items()}
    other_host = workspace.restic(
        "backup", "--host", "laptop", "--time", "2019-01-01 00:00:00", ".", cwd=workspace.data
    )
    assert other_host.returncode == 0

    run = workspace.mover("backup", FORGET_OPTIONS=options)

    assert run.returncode == 0, run
    assert "=== Starting forget ===" in run.output
    labels[run.result.snapshot_id] = "now"
    remaining = workspace.snapshots()
    assert {labels[item["id"]] for item in remaining if item["hostname"] == "volsync"} == kept
    assert [item["hostname"] for item in remaining].count("laptop") == 1


def test_without_retention_every_snapshot_stays(workspace: mover_support.Workspace) -> None:
    (workspace.data / "file").write_text("content")

    for _ in range(2):
        assert workspace.mover("backup").result.outcome is contract.Outcome.SUCCEEDED

    assert len(workspace.snapshots()) == 2


def test_prune_after_forget_gives_the_space_back(workspace: mover_support.Workspace) -> None:
    (workspace.data / "file").write_bytes(os.urandom(2_000_000))
    workspace.mover("backup")
    (workspace.data / "file").write_bytes(os.urandom(2_000_000))

    run = workspace.mover("backup", "prune", FORGET_OPTIONS="--keep-last 1")

    assert run.returncode == 0, run
    assert [(item.operation, item.outcome) for item in run.result.operations] == [
        (contract.Operation.BACKUP, contract.Outcome.SUCCEEDED),
        (contract.Operation.PRUNE, contract.Outcome.SUCCEEDED),
    ]
    data = (workspace.repository / "data").rglob("*")
    packs = sum(path.stat().st_size for path in data if path.is_file())
    assert 2_000_000 < packs < 3_000_000
    assert len(workspace.snapshots()) == 1


def test_sources_sharing_a_repository_each_keep_their_own_snapshots(
    workspace: mover_support.Workspace,
) -> None:
    workspace.restic("init")
    (workspace.data / "owner").write_text("upstream")
    legacy = workspace.backup_at("2020-01-01 10:00:00")
    taken: dict[str, list[str]] = {"shop/a": [], "shop/b": []}
    for round_ in range(2):
        for source, identities in taken.items():
            (workspace.data / "owner").write_text(f"{source} {round_}")
            run = workspace.mover("backup", FORGET_OPTIONS="--keep-last 1", PYVOLSYNC_SOURCE=source)
            assert run.returncode == 0, run
            identities.append(run.result.snapshot_id)

    left = {item["id"]: item.get("tags") for item in workspace.snapshots()}
    restore = workspace.mover("restore")

    assert left == {
        taken["shop/a"][-1]: ["pyvolsync-source=shop/a"],
        taken["shop/b"][-1]: ["pyvolsync-source=shop/b"],
    }, f"untagged {legacy} is forgotten with the first source's own"
    assert restore.result.outcome is contract.Outcome.SUCCEEDED_WITH_WARNINGS, restore
    assert restore.result.snapshot_id == taken["shop/b"][-1]
    (warning,) = restore.result.warnings
    assert "2 ReplicationSources" in warning and "shop/a, shop/b" in warning
    assert f"{taken['shop/b'][-1][:8]} taken by shop/b" in warning
    assert (workspace.data / "owner").read_text() == "shop/b 1"
