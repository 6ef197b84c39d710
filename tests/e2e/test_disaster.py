"""A lost cluster comes back from its repository alone, and restoreAsOf picks an older backup.

The first test backs an app up on the session's cluster, then starts a brand-new control plane
(its own etcd, API server, node and operator) that shares nothing with the first but the
repository directory, deploys the same app component there, and checks the volume comes back
byte for byte. The second restores the backup before the latest through restoreAsOf.
"""

from __future__ import annotations

import datetime
import secrets
import subprocess
import time
from pathlib import Path

from localcluster import controlplane
from localcluster.testing import apply, wait_until
from tests.e2e import story
from tests.support import operator as support

APP = "notes"


def back_up_twice(
    cluster: controlplane.ControlPlane, namespace: str, password: str
) -> tuple[str, str, str]:
    """Deploy the app, write v1 and back up, write v2 and back up; return checksums and a
    moment between the two backups."""
    story.deploy_app(cluster, APP, namespace, password=password)
    wait_until(
        lambda: story.claim_phase(cluster, APP, namespace) == "Bound", what="bind", timeout=180
    )
    story.run_job(
        cluster,
        namespace,
        "v1",
        claim=APP,
        script="echo v1 > /data/version && head -c 400000 /dev/urandom > /data/blob",
    )
    story.backup_now(cluster, APP, namespace, "one")
    first = story.run_job(cluster, namespace, "sums-1", claim=APP, script=story.CHECKSUMS)
    time.sleep(2)
    between = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    time.sleep(2)
    story.run_job(cluster, namespace, "v2", claim=APP, script="echo v2 > /data/version")
    story.backup_now(cluster, APP, namespace, "two")
    second = story.run_job(cluster, namespace, "sums-2", claim=APP, script=story.CHECKSUMS)
    return first, second, between


def test_a_fresh_cluster_restores_from_the_repository_alone(
    cluster: controlplane.ControlPlane, operator: object, tmp_path: Path
) -> None:
    namespace = f"lost-{secrets.token_hex(3)}"
    password = secrets.token_hex(12)
    _, latest, _ = back_up_twice(cluster, namespace, password)

    rebuilt = controlplane.ControlPlane(tmp_path / "rebuilt")
    rebuilt.start()
    rebuilt_operator = support.Operator(rebuilt, tmp_path)
    try:
        support.install_crds(rebuilt)
        repository = support.repository_root(rebuilt)
        repository.parent.mkdir(parents=True, exist_ok=True)
        # Only the repository directory survives, with its owners and modes (as on the NAS).
        subprocess.run(
            ["cp", "-a", str(support.repository_root(cluster)), str(repository)], check=True
        )
        rebuilt_operator.start()
        rebuilt_operator.wait_ready()
        story.deploy_app(rebuilt, APP, namespace, password=password)
        wait_until(
            lambda: story.claim_phase(rebuilt, APP, namespace) == "Bound", what="bind", timeout=180
        )
        restored = story.run_job(rebuilt, namespace, "sums", claim=APP, script=story.CHECKSUMS)
        assert restored == latest
    finally:
        rebuilt_operator.stop()
        rebuilt.stop()
    assert rebuilt.running() == []
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")


def test_restore_as_of_through_the_component_picks_the_older_backup(
    cluster: controlplane.ControlPlane, operator: object
) -> None:
    namespace = f"as-of-{secrets.token_hex(3)}"
    password = secrets.token_hex(12)
    first, _, between = back_up_twice(cluster, namespace, password)
    cluster.kubectl("delete", "namespace", namespace, "--wait=true", "--timeout=180s")

    objects = story.render_component(APP, namespace)
    for item in objects:
        if item["kind"] == "ReplicationDestination":
            item["spec"]["restic"]["restoreAsOf"] = between
    cluster.kubectl("create", "namespace", namespace)
    wait_until(
        lambda: (
            cluster.kubectl("get", "sa", "default", "-n", namespace, check=False).returncode == 0
        ),
        what="the default service account",
    )
    apply(
        cluster,
        story.repository_secret(APP, namespace, password=password),
        *objects,
        namespace=namespace,
    )
    wait_until(
        lambda: story.claim_phase(cluster, APP, namespace) == "Bound", what="bind", timeout=180
    )
    restored = story.run_job(cluster, namespace, "sums", claim=APP, script=story.CHECKSUMS)
    assert restored == first
    cluster.kubectl("delete", "namespace", namespace, "--wait=false")
