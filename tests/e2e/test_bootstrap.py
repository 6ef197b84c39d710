"""The spec's bootstrap stories with the app component, the operator and the volume populator.

Scenario B: a truly new app (no repository) starts on an empty volume and gets backed up.
Scenario A: the same app deployed again after its namespace was lost gets its volume restored
from the latest backup before it starts, byte for byte. Both with the restic component and with
the kopia one (`pyvolsync render-component --engine kopia`).
"""

from __future__ import annotations

import secrets

import pytest
from localcluster import controlplane
from localcluster.testing import wait_until
from tests.e2e import story

WRITE = (
    "mkdir -p /data/photos/2026 && echo 'first light' > /data/notes.txt && "
    "head -c 2000000 /dev/urandom > /data/photos/2026/sunrise.raw && "
    "echo {marker} > /data/photos/2026/marker && ln -s notes.txt /data/readme"
)


@pytest.mark.parametrize("engine", ["restic", "kopia"])
def test_new_app_starts_empty_then_comes_back_from_its_backup(
    cluster: controlplane.ControlPlane, operator: object, engine: str
) -> None:
    app = "photos"
    namespace = f"bootstrap-{engine}-{secrets.token_hex(3)}"
    password = secrets.token_hex(12)

    # Scenario B: no repository yet; the PVC binds to an empty volume, and says why.
    story.deploy_app(cluster, app, namespace, password=password, engine=engine)
    wait_until(
        lambda: story.claim_phase(cluster, app, namespace) == "Bound",
        what="the new app's PVC to bind",
        timeout=180,
    )
    bootstrap = story.status(cluster, "replicationdestination", f"{app}-bootstrap", namespace)
    assert bootstrap["lastSyncResult"]["errorKind"] == "repository-missing"
    assert bootstrap["conditions"][0]["reason"] == "RepositoryMissing"
    reasons = {
        reason for _, reason, _ in story.events_about(cluster, namespace, f"{app}-bootstrap")
    }
    assert "RepositoryMissing" in reasons
    listing = story.run_job(cluster, namespace, "look", claim=app, script=story.CHECKSUMS)
    assert listing.strip() == ""

    # The app writes; two backups follow, the second after a change.
    story.run_job(cluster, namespace, "write-1", claim=app, script=WRITE.format(marker="one"))
    first = story.backup_now(cluster, app, namespace, "backup-1")
    assert first["latestMoverStatus"]["result"] == "Successful", first
    story.run_job(
        cluster, namespace, "write-2", claim=app, script="echo two > /data/photos/2026/marker"
    )
    second = story.backup_now(cluster, app, namespace, "backup-2")
    assert second["lastSyncResult"]["outcome"] == "succeeded", second
    expected = story.run_job(cluster, namespace, "sums", claim=app, script=story.CHECKSUMS)
    assert "marker" in expected

    # Disaster: the namespace is gone, with every volume in it.
    cluster.kubectl("delete", "namespace", namespace, "--wait=true", "--timeout=180s")

    # Scenario A: deployed again, the PVC is populated from the latest backup before binding.
    story.deploy_app(cluster, app, namespace, password=password, engine=engine)
    wait_until(
        lambda: story.claim_phase(cluster, app, namespace) == "Bound",
        what="the restored PVC to bind",
        timeout=180,
    )
    restored = story.run_job(cluster, namespace, "sums", claim=app, script=story.CHECKSUMS)
    assert restored == expected
    marker = story.run_job(
        cluster, namespace, "marker", claim=app, script="cat /data/photos/2026/marker"
    )
    assert marker.strip() == "two"
    bootstrap = story.status(cluster, "replicationdestination", f"{app}-bootstrap", namespace)
    assert bootstrap["lastSyncResult"]["snapshotID"] == second["lastSyncResult"]["snapshotID"]
    reasons = {reason for _, reason, _ in story.events_about(cluster, namespace, app)}
    assert {"VolSyncPopulatorPVCCreated", "VolSyncPopulatorFinished"} <= reasons
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")
