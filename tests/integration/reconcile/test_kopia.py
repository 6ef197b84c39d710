"""A kopia manifest as the perfectra1n/volsync fork's users write it: backup, then restore.

Real Jobs run `pyvolsync-mover kopia` with the real kopia binary against a filesystem repository
on the repository volume; the restored bytes must equal the source's, and kopia itself (run here
on the host, as a user would) must list the snapshot under the fork's identity.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
from typing import Any

from localcluster import controlplane
from localcluster.testing import apply

from reconcile import helpers

PASSWORD = "kopia-test-password"
SOURCE = "replicationsource"
DESTINATION = "replicationdestination"


def kopia_snapshots(repository: pathlib.Path, scratch: pathlib.Path) -> list[dict[str, Any]]:
    """`kopia snapshot list --all --json` of the repository, run on the host."""
    environment = {
        **os.environ,
        "KOPIA_PASSWORD": PASSWORD,
        "KOPIA_CONFIG_PATH": str(scratch / "kopia.config"),
        "KOPIA_CACHE_DIRECTORY": str(scratch / "cache"),
        "KOPIA_CHECK_FOR_UPDATES": "false",
    }
    subprocess.run(
        ["kopia", "repository", "connect", "filesystem", f"--path={repository}"],
        env=environment, check=True, capture_output=True, text=True,
    )  # fmt: skip
    listed = subprocess.run(
        ["kopia", "snapshot", "list", "--all", "--json"],
        env=environment, check=True, capture_output=True, text=True,
    )  # fmt: skip
    found: list[dict[str, Any]] = json.loads(listed.stdout)
    return found


def _repository_and_volume(cluster: controlplane.ControlPlane, namespace: str) -> None:
    """Create the kopia repository Secret `kopia-repo` and the app's empty PVC `data`."""
    apply(
        cluster,
        helpers.kopia_secret("kopia-repo", path=f"{namespace}/kopia", password=PASSWORD),
        helpers.claim("data"),
        namespace=namespace,
    )


def test_a_fork_manifest_backs_up_and_restores_the_same_bytes_with_kopia(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    repository_root: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    _repository_and_volume(cluster, namespace)
    helpers.run_shell(
        cluster, namespace, "writer", claim_name="data",
        script=helpers.WRITE_SAMPLE.format(marker="kopia"),
    )  # fmt: skip
    original = helpers.tree_checksum(cluster, namespace, "sum-original", "data")
    source = helpers.manifest(
        helpers.VOLSYNC,
        "ReplicationSource",
        "web-app",
        {
            "sourcePVC": "data",
            "trigger": {"manual": "first"},
            "kopia": {
                "repository": "kopia-repo",
                "copyMethod": "Snapshot",
                "compression": "zstd",
                "retain": {"hourly": 24, "daily": 7},
            },
        },
    )
    apply(cluster, source, namespace=namespace)
    backed_up = helpers.wait_for_manual_sync(cluster, SOURCE, "web-app", namespace, "first")
    assert backed_up["latestMoverStatus"]["result"] == "Successful", backed_up
    assert backed_up["lastSyncResult"]["outcome"] == "succeeded", backed_up
    assert backed_up["kopia"]["lastConfiguredMetadataCacheSizeLimitMB"] > 0

    restore = helpers.manifest(
        helpers.VOLSYNC,
        "ReplicationDestination",
        "restore",
        {
            "trigger": {"manual": "restore-once"},
            "kopia": {
                "repository": "kopia-repo",
                "copyMethod": "Direct",
                "capacity": "1Gi",
                "accessModes": ["ReadWriteOnce"],
                "sourceIdentity": {"sourceName": "web-app"},
            },
        },
    )
    apply(cluster, restore, namespace=namespace)
    restored = helpers.wait_for_manual_sync(
        cluster, DESTINATION, "restore", namespace, "restore-once"
    )
    assert restored["latestMoverStatus"]["result"] == "Successful", restored
    assert restored["kopia"]["requestedIdentity"] == f"web-app@{namespace}:/data"
    claim_name = restored["latestImage"]["name"]
    assert helpers.tree_checksum(cluster, namespace, "sum-restored", claim_name) == original

    snapshots = kopia_snapshots(repository_root / namespace / "kopia", tmp_path)
    sources = {
        f"{item['source']['userName']}@{item['source']['host']}:{item['source']['path']}"
        for item in snapshots
    }
    assert sources == {f"web-app@{namespace}:/data"}


WRITERS = [f"writer-{index}" for index in range(5)]


def test_five_sources_back_up_into_one_repository_at_once_and_each_restores_its_own(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    repository_root: pathlib.Path,
    tmp_path: pathlib.Path,
) -> None:
    """kopia takes no repository lock: five writers at once, each with its own identity and
    retention; every restore gives back exactly that writer's bytes."""
    apply(
        cluster,
        helpers.kopia_secret("kopia-repo", path=f"{namespace}/kopia", password=PASSWORD),
        namespace=namespace,
    )
    apply(cluster, *(helpers.claim(f"{name}-data") for name in WRITERS), namespace=namespace)
    originals = {}
    for name in WRITERS:
        script = helpers.WRITE_SAMPLE.format(marker=name)
        helpers.run_shell(
            cluster, namespace, f"fill-{name}", claim_name=f"{name}-data", script=script
        )
        originals[name] = helpers.tree_checksum(cluster, namespace, f"sum-{name}", f"{name}-data")
    assert len(set(originals.values())) == len(WRITERS)
    sources = [
        helpers.manifest(
            helpers.VOLSYNC,
            "ReplicationSource",
            name,
            {
                "sourcePVC": f"{name}-data",
                "trigger": {"manual": "first"},
                "kopia": {
                    "repository": "kopia-repo",
                    "copyMethod": "Direct",
                    "retain": {"latest": 1},
                },
            },
        )
        for name in WRITERS
    ]
    apply(cluster, *sources, namespace=namespace)  # all at once: no mover limit
    for name in WRITERS:
        status = helpers.wait_for_manual_sync(
            cluster, SOURCE, name, namespace, "first", timeout=240
        )
        assert status["latestMoverStatus"]["result"] == "Successful", (name, status)

    restores = [
        helpers.manifest(
            helpers.VOLSYNC,
            "ReplicationDestination",
            f"restore-{name}",
            {
                "trigger": {"manual": "restore-once"},
                "kopia": {
                    "repository": "kopia-repo",
                    "copyMethod": "Direct",
                    "capacity": "1Gi",
                    "accessModes": ["ReadWriteOnce"],
                    "sourceIdentity": {"sourceName": name},
                },
            },
        )
        for name in WRITERS
    ]
    apply(cluster, *restores, namespace=namespace)
    for name in WRITERS:
        restored = helpers.wait_for_manual_sync(
            cluster, DESTINATION, f"restore-{name}", namespace, "restore-once", timeout=240
        )
        claim_name = restored["latestImage"]["name"]
        checksum = helpers.tree_checksum(cluster, namespace, f"check-{name}", claim_name)
        assert checksum == originals[name], name

    snapshots = kopia_snapshots(repository_root / namespace / "kopia", tmp_path)
    owners = sorted(item["source"]["userName"] for item in snapshots)
    assert owners == sorted(WRITERS)


SIXTY_FILES = "for i in $(seq 1 60); do head -c 40000 /dev/urandom > /data/file-$i; done"
WIPE = "for i in $(seq 7 60); do rm /data/file-$i; done"


def test_a_wiped_kopia_volume_is_flagged_and_its_last_good_snapshot_pinned(
    cluster: controlplane.ControlPlane,
    namespace: str,
    operator: object,
    tmp_path: pathlib.Path,
    repository_root: pathlib.Path,
) -> None:
    _repository_and_volume(cluster, namespace)
    helpers.run_shell(cluster, namespace, "fill", claim_name="data", script=SIXTY_FILES)
    spec = {
        "sourcePVC": "data",
        "trigger": {"manual": "first"},
        "kopia": {"repository": "kopia-repo", "copyMethod": "Direct", "retain": {"latest": 1}},
    }
    apply(
        cluster,
        helpers.manifest(helpers.VOLSYNC, "ReplicationSource", "app", spec),
        namespace=namespace,
    )
    good = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "first")
    helpers.run_shell(cluster, namespace, "wipe", claim_name="data", script=WIPE)
    helpers.set_manual_trigger(cluster, SOURCE, "app", namespace, "after-wipe")
    wiped = helpers.wait_for_manual_sync(cluster, SOURCE, "app", namespace, "after-wipe")

    anomaly = wiped["anomaly"]
    assert anomaly["snapshotID"] == wiped["lastSyncResult"]["snapshotID"]
    assert "54 of 60 files are gone (90%)" in anomaly["reason"], anomaly
    listed = kopia_snapshots(repository_root / namespace / "kopia", tmp_path)
    pinned = [item for item in listed if item.get("pins")]
    assert [item["id"] for item in pinned] == [anomaly["lastGood"]]
    assert pinned[0]["rootEntry"]["summ"]["files"] == 60
    assert good["lastSyncResult"]["snapshotID"] != anomaly["lastGood"], "kopia rewrote it pinned"
    reasons = [reason for _, reason, _ in helpers.event_reasons(cluster, namespace, "app")]
    assert "BackupSuspicious" in reasons
