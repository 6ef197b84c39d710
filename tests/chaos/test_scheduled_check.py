"""A pack corrupted on disk is found by the operator's scheduled `restic check` and reported.

The operator here checks every source's repository at each sync (`--check-interval 1s`) and
reads all of its data (`--check-read-data-subset 100%`), so a flipped byte in a pack file cannot
hide. The backup that ran before the check in the same Job is kept and recorded; the damage is
reported on its own (a Warning event, the condition, the metric), every sync checks again while
the repository stays damaged, and once the pack is repaired the next check clears it all.
"""

from __future__ import annotations

import pathlib

import pytest
from localcluster import controlplane
from localcluster.testing import apply
from tests.chaos import conftest, control_helpers, data_helpers
from tests.integration.reconcile import helpers

SOURCE = data_helpers.SOURCE
JOB = "volsync-src-app"
KEPT = {"app", "volsync-src-app-cache"}


@pytest.fixture(scope="module")
def operator_arguments() -> tuple[str, ...]:
    return (
        "--log-level", "DEBUG", "--check-interval", "1s", "--check-read-data-subset", "100%",
    )  # fmt: skip


def damaged_gauge(operator: conftest.Operator, labels: dict[str, str]) -> float | None:
    return data_helpers.metric_value(operator.metrics_port, "pyvolsync_repository_damaged", labels)


def damage_notes(plane: controlplane.ControlPlane, namespace: str) -> list[str]:
    found = control_helpers.warnings(plane, namespace, "app")
    return [note for reason, note in found if reason == "RepositoryDamaged"]


def test_a_corrupted_pack_is_found_by_the_scheduled_check_and_reported(
    cluster: controlplane.ControlPlane,
    namespace: str,
    *,
    operator: conftest.Operator,
    repository_root: pathlib.Path,
    chaos_size: conftest.ChaosSize,
    tmp_path: pathlib.Path,
) -> None:
    repository = repository_root / namespace / "app"
    labels = data_helpers.source_labels(namespace, "app")
    first_written = control_helpers.prepare_source_volume(cluster, namespace, chaos_size)
    apply(cluster, control_helpers.backup_source("app", retain={"last": "5"}), namespace=namespace)
    first = data_helpers.sync(cluster, namespace, "app", "one")
    assert first["latestMoverStatus"]["result"] == "Successful", first
    pack, original = data_helpers.corrupt_largest_pack(repository)
    second_written = control_helpers.write_data(
        cluster, namespace, chaos_size, claim="app", marker="two"
    )

    damaged = data_helpers.sync(cluster, namespace, "app", "two")

    # The backup of this sync is saved and recorded as the latest sync ...
    second = damaged["lastSyncResult"]["snapshotID"]
    assert damaged["latestMoverStatus"]["result"] == "Successful", damaged
    assert damaged["lastSyncTime"] > first["lastSyncTime"]
    assert second in {item["id"] for item in helpers.snapshots(repository)}
    # ... and the damage is reported on its own, naming the pack.
    assert damaged["lastSyncResult"]["errorKind"] == "repository-damaged"
    assert pack.name[:16] in damaged["lastSyncResult"]["message"]
    assert damaged.get("restic", {}).get("lastChecked") == first.get("restic", {}).get(
        "lastChecked"
    ), "a check that found damage is not recorded as passed"
    (note,) = damage_notes(cluster, namespace)
    assert note.startswith(f"the backup was saved (snapshot {second[:8]}), but the scheduled")
    assert pack.name[:16] in note and "restic repair" in note
    condition = helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "RepositoryDamaged")
    assert condition["message"].startswith("the backup was saved, but restic check found")
    assert damaged_gauge(operator, labels) == 1
    assert data_helpers.pods_created(cluster, namespace, JOB) == 2, "damage is not retried"
    control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)

    # Repaired by hand (the pack put back): the next sync checks again and clears the report.
    data_helpers.overwrite(pack, original)
    repaired = data_helpers.sync(cluster, namespace, "app", "three")

    assert repaired["latestMoverStatus"]["result"] == "Successful", repaired
    assert repaired["lastSyncResult"]["outcome"] == "succeeded"
    assert repaired["restic"]["lastChecked"] == repaired["lastSyncTime"]
    helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "WaitingForManual")
    assert damaged_gauge(operator, labels) == 0
    assert len(damage_notes(cluster, namespace)) == 1
    third = repaired["lastSyncResult"]["snapshotID"]
    expected = {
        first["lastSyncResult"]["snapshotID"]: first_written,
        second: second_written,
        third: second_written,
    }
    data_helpers.assert_snapshots_restore(repository, expected, tmp_path)
    control_helpers.assert_nothing_left(cluster, namespace, claims=KEPT)
