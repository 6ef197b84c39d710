"""The anomaly guard through the real operator, real restic and `pyvolsync ack`.

An app with 60 files keeps one snapshot (`retain.last: 1`) and prunes at every backup. It then
deletes 54 of its files. The story a user lives through: the backup after the wipe is flagged
(status, a Warning event, `pyvolsync describe`), the snapshot before it is pinned, and retention
and prune stop while the backups go on; `pyvolsync ack` releases them and the pinned last good
snapshot outlives the retention run that follows. A malformed guard annotation is reported by
name and the backups continue.
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

from localcluster import controlplane
from localcluster.testing import wait_until
from tests.integration.cli.conftest import Cli
from tests.integration.cli.test_cli_commands import PASSWORD, SOURCE, backed_up_source
from tests.integration.reconcile import helpers

from pyvolsync import contract

SIXTY_FILES = (
    "for i in $(seq 1 60); do head -c 40000 /dev/urandom > /data/file-$i; done && ls /data | wc -l"
)
WIPE = "for i in $(seq 7 60); do rm /data/file-$i; done && ls /data | wc -l"


def _sync(
    plane: controlplane.ControlPlane, namespace: str, value: str, jobs: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    helpers.set_manual_trigger(plane, SOURCE, "app", namespace, value)
    record = helpers.job_recorder(plane, namespace, jobs)
    found = helpers.wait_for_manual_sync(plane, SOURCE, "app", namespace, value, on_poll=record)
    assert found["latestMoverStatus"]["result"] == "Successful", found
    return found


def wiped_source(
    plane: controlplane.ControlPlane, namespace: str, jobs: dict[str, dict[str, Any]]
) -> tuple[str, dict[str, Any]]:
    """Back up source `app` (60 files, keep the last snapshot, prune every time), delete 54 of
    its files and back it up again; return the first snapshot's ID and the status after."""
    first = backed_up_source(
        plane, namespace, script=SIXTY_FILES, retain={"last": "1"}, pruneIntervalDays=0
    )
    left = helpers.run_shell(plane, namespace, "wipe", claim_name="data", script=WIPE)
    assert left.strip() == "6", left
    return first["lastSyncResult"]["snapshotID"], _sync(plane, namespace, "after-wipe", jobs)


def _job_of(jobs: dict[str, dict[str, Any]], snapshot_round: int) -> dict[str, Any]:
    job = sorted(jobs.values(), key=lambda item: item["metadata"]["creationTimestamp"])
    return job[snapshot_round]


def _environment(job: dict[str, Any]) -> dict[str, str]:
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {item["name"]: item.get("value", "") for item in container["env"] if "value" in item}


def _snapshots(repository: pathlib.Path) -> list[dict[str, Any]]:
    return helpers.snapshots(repository, password=PASSWORD)


def test_a_wipe_holds_retention_until_acknowledged_and_the_last_good_snapshot_survives(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    cli: Cli,
    repository_root: pathlib.Path,
) -> None:
    repository = repository_root / namespace / "app"
    jobs: dict[str, dict[str, Any]] = {}
    good, wiped = wiped_source(cluster, namespace, jobs)

    anomaly = wiped["anomaly"]
    assert anomaly["snapshotID"] == wiped["lastSyncResult"]["snapshotID"]
    assert anomaly["reason"].startswith("54 of 60 files are gone (90%)"), anomaly
    pinned = {item["id"]: item for item in _snapshots(repository)}
    assert len(pinned) == 2, "retain.last 1 was not applied to the wipe"
    assert contract.PINNED in pinned[anomaly["lastGood"]]["tags"]
    assert pinned[anomaly["lastGood"]]["original"] == good
    assert wiped["snapshots"]["pinned"] == 1
    reasons = helpers.event_reasons(cluster, namespace, "app")
    [warning] = [(kind, note) for kind, reason, note in reasons if reason == "BackupSuspicious"]
    assert warning[0] == "Warning" and f"pyvolsync ack app -n {namespace}" in warning[1]
    described = cli("describe", "app", "-n", namespace)
    assert "SUSPICIOUS BACKUP" in described.stdout and "54 of 60 files are gone" in described.stdout

    # Held: the next backup runs without prune and forgets nothing; a bad annotation is named.
    annotate = {"metadata": {"annotations": {"pyvolsync.dev/anomaly-guard": "files-drop=200"}}}
    cluster.kubectl(
        "patch", SOURCE, "app", "-n", namespace, "--type=merge", "-p", json.dumps(annotate)
    )
    held = _sync(cluster, namespace, "while-held", jobs)
    assert held["anomaly"] == anomaly, "one anomaly, reported once"
    job = _job_of(jobs, 1)
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["backup"]
    assert "acknowledge with `pyvolsync ack`" in _environment(job)["PYVOLSYNC_RETENTION_HELD"]
    assert _environment(job)["PYVOLSYNC_GUARD"] == contract.Guard().to_text()
    assert len(_snapshots(repository)) == 3
    notes = [note for _, reason, note in helpers.event_reasons(cluster, namespace, "app")
             if reason == "AnomalyGuardMisconfigured"]  # fmt: skip
    assert notes and "pyvolsync.dev/anomaly-guard='files-drop=200'" in notes[0], notes
    assert "not a percentage from 1 to 100" in notes[0]

    acknowledged = cli("ack", "app", "-n", namespace)

    assert acknowledged.returncode == 0, acknowledged.stdout + acknowledged.stderr
    assert f"snapshot {anomaly['snapshotID'][:8]} acknowledged" in acknowledged.stdout
    wait_until(
        lambda: "anomaly" not in helpers.status(cluster, SOURCE, "app", namespace),
        what="the operator to clear the acknowledged anomaly",
    )
    released = _sync(cluster, namespace, "after-ack", jobs)
    assert _job_of(jobs, 2)["spec"]["template"]["spec"]["containers"][0]["args"] == [
        "backup",
        "prune",
    ]
    kept = [item["id"] for item in _snapshots(repository)]
    assert kept == [anomaly["lastGood"], released["lastSyncResult"]["snapshotID"]], (
        "retention removed everything but the newest and the pinned last good snapshot"
    )
    again = cli("ack", "app", "-n", namespace)
    assert (
        again.returncode == 2
        and "has no suspicious backup to acknowledge" in again.stdout + again.stderr
    )
