"""Retention and prune as a user checks them: in the repository, not in the operator's words.

Two sources back up the same changing volume three times. One keeps the last two snapshots and
prunes on every sync (``pruneIntervalDays: 0``: due whenever time has passed since the last
prune); the other keeps the newest snapshot of the latest hour and never comes due for a prune
(7 days). Counting snapshots with ``restic snapshots`` shows each policy applied; ``restic prune
--dry-run`` shows the first repository holds no unreferenced data while the second still does.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

from localcluster import controlplane
from localcluster.testing import apply, wait_until

from reconcile import helpers

SOURCE = "replicationsource"
NEW_DATA = "rm -f /data/blob-* && head -c 300000 /dev/urandom > /data/blob-{round}"
POLICIES = {
    "last": {"retain": {"last": "2"}, "pruneIntervalDays": 0},
    "hourly": {"retain": {"hourly": 1}},
}


def sync_round(
    plane: controlplane.ControlPlane,
    namespace: str,
    round_: int,
    *,
    jobs: dict[str, dict[str, Any]],
) -> dict[str, dict[str, Any]]:
    """Change the data, trigger both sources, wait for both; return their statuses."""
    helpers.run_shell(
        plane, namespace, f"write-{round_}", claim_name="data", script=NEW_DATA.format(round=round_)
    )
    trigger = {"manual": f"round-{round_}"}
    apply(
        plane,
        *(
            helpers.replication_source(
                name, repository=name, copy_method="Direct", trigger=trigger, **settings
            )
            for name, settings in POLICIES.items()
        ),
        namespace=namespace,
    )
    record = helpers.job_recorder(plane, namespace, jobs)
    return {
        name: helpers.wait_for_manual_sync(
            plane, SOURCE, name, namespace, trigger["manual"], on_poll=record
        )
        for name in POLICIES
    }


def unused_blobs(repository: pathlib.Path) -> int:
    report = helpers.restic(repository, "prune", "--dry-run").stdout
    found = re.search(r"total prune:\s+(\d+) blobs", report)
    assert found, report
    return int(found.group(1))


def test_retention_is_applied_and_prune_runs_when_due(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    repository_root: pathlib.Path,
) -> None:
    apply(
        cluster,
        helpers.claim("data"),
        *(helpers.repository_secret(name, path=f"{namespace}/{name}") for name in POLICIES),
        namespace=namespace,
    )
    jobs: dict[str, dict[str, Any]] = {}
    made: dict[str, list[dict[str, Any]]] = {name: [] for name in POLICIES}
    for round_ in (1, 2, 3):
        statuses = sync_round(cluster, namespace, round_, jobs=jobs)
        for name, found in statuses.items():
            assert found["latestMoverStatus"]["result"] == "Successful", (name, found)
            snapshot_id = found["lastSyncResult"]["snapshotID"]
            listed = helpers.snapshots(repository_root / namespace / name)
            made[name] += [item for item in listed if item["id"] == snapshot_id]

    kept = {
        name: [item["id"] for item in helpers.snapshots(repository_root / namespace / name)]
        for name in POLICIES
    }
    assert kept["last"] == [item["id"] for item in made["last"][-2:]]
    assert kept["hourly"] == [made["hourly"][-1]["id"]]

    arguments = {
        job["metadata"]["name"]: job["spec"]["template"]["spec"]["containers"][0]["args"]
        for job in jobs.values()
    }
    assert arguments == {"volsync-src-last": ["backup", "prune"], "volsync-src-hourly": ["backup"]}
    assert len(jobs) == 6
    pruned = helpers.status(cluster, SOURCE, "last", namespace)
    assert helpers.parse_time(pruned["restic"]["lastPruned"]) == helpers.parse_time(
        pruned["lastSyncTime"]
    )
    assert "lastPruned" not in (
        helpers.status(cluster, SOURCE, "hourly", namespace).get("restic") or {}
    )
    assert unused_blobs(repository_root / namespace / "last") == 0
    assert unused_blobs(repository_root / namespace / "hourly") > 0
    wait_until(lambda: not helpers.mover_jobs(cluster, namespace), what="the Jobs to be deleted")
