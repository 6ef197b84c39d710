"""The volumes around a mover: point-in-time copies of a source, a destination's target, caches.

Each function returns the object to create, as upstream VolSync would shape it: names from
``names``, size, class and access modes from the spec with upstream's fallbacks (``defaults``),
and the owner and labels from ``metadata``. Immutable fields (class, access modes, data source)
are only ever set here, at creation.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from pyvolsync.api import defaults
from pyvolsync.api.timestamps import parse_time
from pyvolsync.planning import metadata, names

SNAPSHOT_API_VERSION = "snapshot.storage.k8s.io/v1"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
SNAPSHOT_NAME_ANNOTATION = "volsync.backube/snapname"
"""On a destination's volume: the name of the image snapshot being taken of it."""

JsonObject = dict[str, Any]


def claim(
    meta: JsonObject,
    *,
    access_modes: list[str],
    capacity: str,
    storage_class: str | None,
    volume_mode: str | None = None,
    data_source: JsonObject | None = None,
) -> JsonObject:
    """Return a PersistentVolumeClaim with the given metadata and spec fields."""
    spec: JsonObject = {
        "accessModes": list(access_modes),
        "resources": {"requests": {"storage": capacity}},
    }
    if storage_class is not None:
        spec["storageClassName"] = storage_class
    if volume_mode is not None:
        spec["volumeMode"] = volume_mode
    if data_source is not None:
        spec["dataSource"] = data_source
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta, "spec": spec}


def claim_capacity(pvc: Mapping[str, Any]) -> str:
    """Return a PVC's size: its bound capacity when known, else its request."""
    capacity = pvc.get("status", {}).get("capacity", {}).get("storage")
    if capacity is not None:
        return str(capacity)
    return str(pvc["spec"]["resources"]["requests"]["storage"])


def cache_claim(
    owner: metadata.Owner,
    *,
    role: names.Role,
    spec: defaults.EngineSpec,
    data_access_modes: list[str],
    temporary: bool,
) -> JsonObject:
    """Return restic's cache volume: ``cacheCapacity`` (1Gi) with upstream's class fallbacks."""
    meta = metadata.object_metadata(owner, names.cache_claim(role, owner.name), temporary=temporary)
    return claim(
        meta,
        access_modes=defaults.cache_access_modes(spec, data_access_modes=data_access_modes),
        capacity=str(defaults.cache_capacity(spec)),
        storage_class=defaults.cache_storage_class_name(spec),
    )


def clone_claim(
    owner: metadata.Owner, *, source: Mapping[str, Any], spec: defaults.EngineSpec
) -> JsonObject:
    """Return the temporary clone of the source PVC for copyMethod Clone."""
    meta = metadata.object_metadata(owner, names.source_copy(owner.name), temporary=True)
    return claim(
        meta,
        access_modes=list(spec.access_modes or source["spec"]["accessModes"]),
        capacity=str(spec.capacity or claim_capacity(source)),
        storage_class=spec.storage_class_name or source["spec"].get("storageClassName"),
        volume_mode=source["spec"].get("volumeMode"),
        data_source={"kind": "PersistentVolumeClaim", "name": source["metadata"]["name"]},
    )


def volume_snapshot(meta: JsonObject, *, claim_name: str, snapshot_class: str | None) -> JsonObject:
    """Return a VolumeSnapshot of the PVC ``claim_name`` with the given metadata."""
    spec: JsonObject = {"source": {"persistentVolumeClaimName": claim_name}}
    if snapshot_class is not None:
        spec["volumeSnapshotClassName"] = snapshot_class
    return {
        "apiVersion": SNAPSHOT_API_VERSION,
        "kind": "VolumeSnapshot",
        "metadata": meta,
        "spec": spec,
    }


def source_snapshot(
    owner: metadata.Owner, *, source_name: str, spec: defaults.EngineSpec
) -> JsonObject:
    """Return the temporary VolumeSnapshot of the source PVC for copyMethod Snapshot."""
    meta = metadata.object_metadata(owner, names.source_copy(owner.name), temporary=True)
    return volume_snapshot(
        meta, claim_name=source_name, snapshot_class=spec.volume_snapshot_class_name
    )


def snapshot_ready(snapshot: Mapping[str, Any]) -> bool:
    """Return True once a snapshot is bound to content and not explicitly unready."""
    status = snapshot.get("status") or {}
    return (
        bool(status.get("boundVolumeSnapshotContentName")) and status.get("readyToUse") is not False
    )


def snapshot_error(snapshot: Mapping[str, Any]) -> str:
    """Return the snapshotter's error message on a snapshot, or "" when it reports none."""
    error = (snapshot.get("status") or {}).get("error") or {}
    return str(error.get("message") or "")


def claim_bound(pvc: Mapping[str, Any]) -> bool:
    """Return True once a PVC is bound to a volume."""
    return (pvc.get("status") or {}).get("phase") == "Bound"


def claims_of(job: Mapping[str, Any]) -> list[str]:
    """Return the names of the PVCs a Job's pods mount, in the order of their volumes."""
    template = job.get("spec", {}).get("template", {}).get("spec", {})
    found = []
    for volume in template.get("volumes") or []:
        name = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if name and name not in found:
            found.append(name)
    return found


def waited_longer_than(
    obj: Mapping[str, Any], limit: datetime.timedelta, *, now: datetime.datetime
) -> bool:
    """Return True when ``obj`` was created more than ``limit`` before ``now``."""
    created = parse_time(obj.get("metadata", {}).get("creationTimestamp"))
    return created is not None and now - created > limit


def claim_from_snapshot(
    owner: metadata.Owner,
    *,
    snapshot: Mapping[str, Any],
    source: Mapping[str, Any],
    spec: defaults.EngineSpec,
) -> JsonObject:
    """Return the temporary PVC restored from the source's snapshot, for the mover to read.

    Its size is ``capacity``, else the snapshot's restore size, else the source's size.
    """
    meta = metadata.object_metadata(owner, names.source_copy(owner.name), temporary=True)
    restore_size = (snapshot.get("status") or {}).get("restoreSize")
    capacity = spec.capacity or (restore_size if restore_size not in (None, 0, "0") else None)
    return claim(
        meta,
        access_modes=list(spec.access_modes or source["spec"]["accessModes"]),
        capacity=str(capacity or claim_capacity(source)),
        storage_class=spec.storage_class_name or source["spec"].get("storageClassName"),
        volume_mode=source["spec"].get("volumeMode"),
        data_source={
            "apiGroup": SNAPSHOT_GROUP,
            "kind": "VolumeSnapshot",
            "name": snapshot["metadata"]["name"],
        },
    )


def destination_claim(
    owner: metadata.Owner, *, spec: defaults.EngineSpec, temporary: bool
) -> JsonObject:
    """Return the PVC a destination restores into when ``destinationPVC`` is not set.

    The validator has already made sure ``capacity`` and ``accessModes`` are given;
    ``temporary`` (``cleanupTempPVC``) marks it for deletion after the restore.
    """
    meta = metadata.object_metadata(owner, names.destination_claim(owner.name), temporary=temporary)
    return claim(
        meta,
        access_modes=list(spec.access_modes or []),
        capacity=str(spec.capacity),
        storage_class=spec.storage_class_name,
        volume_mode="Filesystem",
    )


def image_snapshot_name(claim_name: str, now: datetime.datetime) -> str:
    """Return the name of a destination's image snapshot: ``<pvc>-<UTC YYYYMMDDHHMMSS>``."""
    return f"{claim_name}-{now.astimezone(datetime.UTC):%Y%m%d%H%M%S}"


def image_snapshot(
    owner: metadata.Owner,
    *,
    name: str,
    claim_name: str,
    spec: defaults.EngineSpec,
) -> JsonObject:
    """Return the VolumeSnapshot a destination with copyMethod Snapshot publishes as its image.

    It is not temporary: it lives until a newer image replaces it.
    """
    meta = metadata.object_metadata(owner, name)
    return volume_snapshot(
        meta, claim_name=claim_name, snapshot_class=spec.volume_snapshot_class_name
    )
