"""A cluster moves from upstream VolSync to pyvolsync and back, with upstream's real operator.

docs/migration.md tells users what happens at each step; this test is where each of those
statements comes from. Upstream's operator (built from its Go module, tests/support/upstream.py)
runs a manual and a scheduled source on its own CRDs, created the way Helm creates them. Then:
pyvolsync's CRDs go over upstream's (refused without ``--force-conflicts``), pyvolsync's operator
takes over without syncing anything again, and runs a manual sync of its own; upstream comes
back, accepts every object, runs the next manual sync, and its first status write drops the
status fields only pyvolsync writes.

It runs on a cluster of its own: upstream's operator acts on every object of the cluster, and
this test swaps the CRDs under it. ``make test`` builds upstream's operator in the background
while the suite runs (scripts/run-tests.sh); the fixture waits for that build.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localcluster import controlplane
from localcluster.testing import apply, get, wait_until
from tests.integration.reconcile import helpers
from tests.support import operator as support
from tests.support import upstream

pytestmark = pytest.mark.cluster

SOURCE = "replicationsource"
NAMESPACE = "apps"
YEARLY = "0 0 1 1 *"
UPSTREAM_STATUS = {
    "conditions",
    "lastManualSync",
    "lastSyncDuration",
    "lastSyncStartTime",
    "lastSyncTime",
    "latestMoverStatus",
    "nextSyncTime",
    "restic",
}
"""The status fields upstream's ReplicationSource has (api/v1alpha1 of the release)."""


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[controlplane.ControlPlane]:
    """A local cluster for this module alone, with the node agent and the workload controllers."""
    started = controlplane.ControlPlane(
        tmp_path_factory.mktemp("upstream-cluster"), workload_controllers=True
    )
    started.start()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def upstream_home() -> Path:
    return upstream.home()


def sources() -> list[dict[str, Any]]:
    return [
        helpers.replication_source("manual", copy_method="Direct", trigger={"manual": "first"}),
        helpers.replication_source("scheduled", copy_method="Direct", trigger={"schedule": YEARLY}),
    ]


def synced(plane: controlplane.ControlPlane, name: str, manual: str | None = None) -> Any:
    """Return the status once `name`'s last sync (of manual trigger `manual`) succeeded."""
    found = helpers.status(plane, SOURCE, name, NAMESPACE)
    done = found.get("lastSyncTime") and not found.get("lastSyncStartTime")
    if manual is not None:
        done = done and found.get("lastManualSync") == manual
    if done and (found.get("latestMoverStatus") or {}).get("result") == "Successful":
        return found
    return None


def wait_synced(
    plane: controlplane.ControlPlane, name: str, manual: str | None = None
) -> dict[str, Any]:
    return dict(
        wait_until(
            lambda: synced(plane, name, manual),
            what=f"{name}'s sync {manual or ''} to succeed",
            timeout=120,
            explain=lambda: str(helpers.status(plane, SOURCE, name, NAMESPACE)),
        )
    )


def job_uids(plane: controlplane.ControlPlane) -> set[str]:
    return {job["metadata"]["uid"] for job in helpers.mover_jobs(plane, NAMESPACE)}


def apply_our_crds(
    plane: controlplane.ControlPlane, *, force: bool
) -> subprocess.CompletedProcess[str]:
    files = sorted((support.ROOT / "deploy" / "crds").glob("volsync.backube_*.yaml"))
    arguments = ["apply", "--server-side", *(["--force-conflicts"] if force else [])]
    for path in files:
        arguments += ["-f", str(path)]
    return plane.kubectl(*arguments, check=False)


def test_upstream_to_pyvolsync_and_back(
    plane: controlplane.ControlPlane, upstream_home: Path, tmp_path: Path
) -> None:
    for path in upstream.crd_files(upstream_home):
        plane.kubectl("create", "-f", str(path))
    plane.wait_for_all(
        "crd", [f"{plural}.volsync.backube" for plural in upstream.PLURALS], "Established"
    )
    plane.kubectl("create", "namespace", NAMESPACE)
    apply(
        plane,
        helpers.repository_secret("repo", path="apps/app"),
        helpers.claim("data"),
        *sources(),
        namespace=NAMESPACE,
    )

    # Upstream runs both sources once: the manual trigger, and the schedule's first sync.
    theirs = upstream.UpstreamOperator(plane, upstream_home, tmp_path)
    theirs.start()
    try:
        by_upstream = {
            "manual": wait_synced(plane, "manual", "first"),
            "scheduled": wait_synced(plane, "scheduled"),
        }
    finally:
        theirs.stop()

    # pyvolsync's CRDs over upstream's: refused until the conflicts are forced.
    refused = apply_our_crds(plane, force=False)
    assert refused.returncode != 0 and "conflict" in refused.stderr.lower(), refused.stderr
    apply_our_crds(plane, force=True).check_returncode()

    # pyvolsync takes over: nothing syncs again, every status is kept, the schedule goes on.
    jobs_before = job_uids(plane)
    with support.running(plane, tmp_path, "--mover-image", upstream.MOVER_IMAGE):
        for name, before in by_upstream.items():
            taken = wait_until(
                lambda name=name: (
                    (found := helpers.status(plane, SOURCE, name, NAMESPACE)).get(
                        "observedGeneration"
                    )
                    and found
                ),
                what=f"pyvolsync to take {name} over",
            )
            for field in (
                "lastSyncTime",
                "lastSyncDuration",
                "lastManualSync",
                "latestMoverStatus",
            ):
                assert taken.get(field) == before.get(field), (name, field, taken, before)
        scheduled = helpers.status(plane, SOURCE, "scheduled", NAMESPACE)
        assert scheduled["nextSyncTime"] == by_upstream["scheduled"]["nextSyncTime"]
        assert job_uids(plane) <= jobs_before, "no Job at takeover"
        helpers.set_manual_trigger(plane, SOURCE, "manual", NAMESPACE, "second")
        by_us = wait_synced(plane, "manual", "second")
    ours_only = set(by_us) - UPSTREAM_STATUS
    assert {"lastSyncResult", "observedGeneration"} <= ours_only, by_us

    # Upstream again: it accepts the objects and syncs; its first status write drops ours.
    theirs.start()
    try:
        helpers.set_manual_trigger(plane, SOURCE, "manual", NAMESPACE, "third")
        again = wait_synced(plane, "manual", "third")
        scheduled = wait_until(
            lambda: (
                not (
                    set(found := helpers.status(plane, SOURCE, "scheduled", NAMESPACE))
                    - UPSTREAM_STATUS
                )
                and found
            ),
            what="upstream's status write on the scheduled source",
        )
    finally:
        theirs.stop()
    assert set(again) <= UPSTREAM_STATUS, again
    assert scheduled["lastSyncTime"] == by_upstream["scheduled"]["lastSyncTime"]
    source = get(plane, SOURCE, "manual", namespace=NAMESPACE)
    assert source is not None and source["spec"]["trigger"] == {"manual": "third"}
