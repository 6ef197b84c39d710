"""A paused source starts nothing, says so, and catches up when unpaused.

Pausing is how users stop backups during maintenance: a new manual trigger must not start a
mover while ``spec.paused`` is true, the condition must say ``Paused`` (upstream says nothing and
creates a Job that never runs), and clearing ``paused`` must run the pending sync.
"""

from __future__ import annotations

import time

from localcluster import controlplane
from localcluster.testing import apply

from reconcile import helpers

SOURCE = "replicationsource"


def test_a_paused_source_waits_and_unpausing_runs_the_pending_sync(
    cluster: controlplane.ControlPlane, namespace: str, operator: object
) -> None:
    helpers.prepare_app(cluster, namespace)
    apply(
        cluster, helpers.replication_source("app", trigger={"manual": "one"}), namespace=namespace
    )
    helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "one")

    helpers.patch_spec(
        cluster, SOURCE, "app", namespace, {"paused": True, "trigger": {"manual": "two"}}
    )
    condition = helpers.wait_for_reason(cluster, SOURCE, "app", namespace, "Paused")
    assert condition["status"] == "False"
    assert "spec.paused" in condition["message"]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        assert helpers.mover_jobs(cluster, namespace) == []
        assert helpers.status(cluster, SOURCE, "app", namespace)["lastManualSync"] == "one"
        time.sleep(0.5)

    helpers.patch_spec(cluster, SOURCE, "app", namespace, {"paused": False})
    resumed = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "two")
    assert resumed["latestMoverStatus"]["result"] == "Successful"
    assert helpers.condition(cluster, SOURCE, "app", namespace)["reason"] == "WaitingForManual"
