"""Point-in-time copies, caches and destination volumes are shaped as upstream shapes them."""

from __future__ import annotations

import datetime

from pyvolsync.api import destination, source
from pyvolsync.planning import metadata, names, volumes

OWNER = metadata.Owner(
    api_version="volsync.backube/v1alpha1",
    kind="ReplicationSource",
    name="app",
    namespace="apps",
    uid="uid-1",
)
SOURCE_PVC = {
    "metadata": {"name": "data"},
    "spec": {
        "accessModes": ["ReadWriteOnce"],
        "storageClassName": "longhorn",
        "resources": {"requests": {"storage": "5Gi"}},
    },
    "status": {"capacity": {"storage": "6Gi"}},
}


def test_clone_follows_the_source_unless_the_spec_says_otherwise() -> None:
    clone = volumes.clone_claim(OWNER, source=SOURCE_PVC, spec=source.ResticSourceSpec())
    assert clone["metadata"]["name"] == "volsync-app-src"
    assert clone["metadata"]["labels"]["volsync.backube/cleanup"] == "uid-1"
    assert clone["spec"]["dataSource"] == {"kind": "PersistentVolumeClaim", "name": "data"}
    assert clone["spec"]["storageClassName"] == "longhorn"
    assert clone["spec"]["resources"]["requests"]["storage"] == "6Gi"
    spec = source.ResticSourceSpec.model_validate(
        {"capacity": "8Gi", "storageClassName": "fast", "accessModes": ["ReadWriteMany"]}
    )
    clone = volumes.clone_claim(OWNER, source=SOURCE_PVC, spec=spec)
    assert clone["spec"]["resources"]["requests"]["storage"] == "8Gi"
    assert clone["spec"]["storageClassName"] == "fast"
    assert clone["spec"]["accessModes"] == ["ReadWriteMany"]


def test_a_snapshot_restore_is_sized_from_the_snapshot() -> None:
    snapshot = {"metadata": {"name": "volsync-app-src"}, "status": {"restoreSize": "7Gi"}}
    claim = volumes.claim_from_snapshot(
        OWNER, snapshot=snapshot, source=SOURCE_PVC, spec=source.ResticSourceSpec()
    )
    assert claim["spec"]["resources"]["requests"]["storage"] == "7Gi"
    assert claim["spec"]["dataSource"] == {
        "apiGroup": "snapshot.storage.k8s.io",
        "kind": "VolumeSnapshot",
        "name": "volsync-app-src",
    }


def test_snapshot_readiness() -> None:
    assert not volumes.snapshot_ready({"status": {}})
    assert volumes.snapshot_ready({"status": {"boundVolumeSnapshotContentName": "c"}})
    assert not volumes.snapshot_ready(
        {"status": {"boundVolumeSnapshotContentName": "c", "readyToUse": False}}
    )


def test_cache_claim_defaults_and_fallbacks() -> None:
    cache = volumes.cache_claim(
        OWNER,
        role=names.Role.SOURCE,
        spec=source.ResticSourceSpec.model_validate({"storageClassName": "longhorn"}),
        data_access_modes=["ReadWriteOnce"],
        temporary=False,
    )
    assert cache["metadata"]["name"] == "volsync-src-app-cache"
    assert "volsync.backube/cleanup" not in cache["metadata"]["labels"]
    assert cache["spec"]["resources"]["requests"]["storage"] == "1Gi"
    assert cache["spec"]["storageClassName"] == "longhorn"
    spec = source.ResticSourceSpec.model_validate(
        {"cacheCapacity": "5Gi", "cacheStorageClassName": "openebs-hostpath"}
    )
    cache = volumes.cache_claim(
        OWNER, role=names.Role.SOURCE, spec=spec, data_access_modes=["RWO"], temporary=True
    )
    assert cache["spec"]["storageClassName"] == "openebs-hostpath"
    assert cache["metadata"]["labels"]["volsync.backube/cleanup"] == "uid-1"


def test_destination_volume_and_image_snapshot() -> None:
    spec = destination.ResticDestinationSpec.model_validate(
        {"capacity": "2Gi", "accessModes": ["ReadWriteOnce"], "cleanupTempPVC": True}
    )
    claim = volumes.destination_claim(OWNER, spec=spec, temporary=bool(spec.cleanup_temp_pvc))
    assert claim["metadata"]["name"] == "volsync-app-dest"
    assert claim["metadata"]["labels"]["volsync.backube/cleanup"] == "uid-1"
    moment = datetime.datetime(2026, 3, 1, 10, 20, 30, tzinfo=datetime.UTC)
    assert volumes.image_snapshot_name("volsync-app-dest", moment) == (
        "volsync-app-dest-20260301102030"
    )


def test_a_snapshot_error_is_read_from_its_status() -> None:
    failed = {"status": {"readyToUse": False, "error": {"message": "disk on fire"}}}
    assert volumes.snapshot_error(failed) == "disk on fire"
    assert volumes.snapshot_error({"status": {"readyToUse": True}}) == ""
    assert volumes.snapshot_error({}) == ""


def test_a_claim_is_bound_only_in_phase_bound() -> None:
    assert volumes.claim_bound({"status": {"phase": "Bound"}})
    assert not volumes.claim_bound({"status": {"phase": "Pending"}})
    assert not volumes.claim_bound({"metadata": {"name": "new"}})


def test_the_claims_of_a_job_are_its_pvc_volumes_once_each() -> None:
    job = {
        "spec": {
            "template": {
                "spec": {
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": "volsync-app-src"}},
                        {"name": "cache", "persistentVolumeClaim": {"claimName": "cache"}},
                        {"name": "tmp", "emptyDir": {}},
                        {"name": "again", "persistentVolumeClaim": {"claimName": "cache"}},
                    ]
                }
            }
        }
    }
    assert volumes.claims_of(job) == ["volsync-app-src", "cache"]
    assert volumes.claims_of({"spec": {}}) == []


def test_waiting_is_measured_from_the_objects_creation() -> None:
    created = {"metadata": {"creationTimestamp": "2025-01-01T00:00:00Z"}}
    limit = datetime.timedelta(minutes=10)
    at = datetime.datetime(2025, 1, 1, 0, 10, tzinfo=datetime.UTC)
    assert not volumes.waited_longer_than(created, limit, now=at)
    assert volumes.waited_longer_than(created, limit, now=at + datetime.timedelta(seconds=1))
    assert not volumes.waited_longer_than({"metadata": {}}, limit, now=at)
