"""The storage and snapshot classes the node offers, and the snapshot API types.

One driver (``local.pyvolsync.dev``) backs every class. Besides the agent's own classes it
installs aliases named like the spec's cluster (Longhorn for data, OpenEBS hostpath for caches),
so the spec's manifests apply unchanged:

| StorageClass         | binding              | new directory mode | notes                  |
|----------------------|----------------------|--------------------|------------------------|
| ``local-path``       | Immediate            | 0777               | the default class      |
| ``local-cache``      | WaitForFirstConsumer | 0777               | for caches             |
| ``longhorn``         | Immediate            | 0755, root-owned   | like a fresh ext4 disk |
| ``openebs-hostpath`` | WaitForFirstConsumer | 0777               | like OpenEBS hostpath  |

Every class supports clones (dataSource PVC) and restores (dataSource VolumeSnapshot).

VolumeSnapshotClasses: ``local-snapshots`` (default) and ``longhorn-snapshot-vsc``, both
``deletionPolicy: Delete``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import lightkube
from lightkube import codecs, generic_resource

DRIVER = "local.pyvolsync.dev"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
DEFAULT_SNAPSHOT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"
FIELD_MANAGER = "localcluster-nodeagent"

VolumeSnapshot = generic_resource.create_namespaced_resource(
    SNAPSHOT_GROUP, "v1", "VolumeSnapshot", "volumesnapshots"
)
VolumeSnapshotContent = generic_resource.create_global_resource(
    SNAPSHOT_GROUP, "v1", "VolumeSnapshotContent", "volumesnapshotcontents"
)
VolumeSnapshotClass = generic_resource.create_global_resource(
    SNAPSHOT_GROUP, "v1", "VolumeSnapshotClass", "volumesnapshotclasses"
)


@dataclasses.dataclass(frozen=True)
class LocalClass:
    name: str
    binding_mode: str
    directory_mode: int
    default: bool = False


STORAGE_CLASSES = (
    LocalClass("local-path", "Immediate", 0o777, default=True),
    LocalClass("local-cache", "WaitForFirstConsumer", 0o777),
    LocalClass("longhorn", "Immediate", 0o755),
    LocalClass("openebs-hostpath", "WaitForFirstConsumer", 0o777),
)
SNAPSHOT_CLASSES = (("local-snapshots", True), ("longhorn-snapshot-vsc", False))


def storage_class_manifest(local: LocalClass) -> dict[str, Any]:
    annotations = {DEFAULT_CLASS_ANNOTATION: "true"} if local.default else {}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": local.name, "annotations": annotations},
        "provisioner": DRIVER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": local.binding_mode,
        "allowVolumeExpansion": True,
    }


def snapshot_class_manifest(name: str, *, default: bool) -> dict[str, Any]:
    annotations = {DEFAULT_SNAPSHOT_CLASS_ANNOTATION: "true"} if default else {}
    return {
        "apiVersion": f"{SNAPSHOT_GROUP}/v1",
        "kind": "VolumeSnapshotClass",
        "metadata": {"name": name, "annotations": annotations},
        "driver": DRIVER,
        "deletionPolicy": "Delete",
    }


def directory_mode(class_name: str | None) -> int:
    for local in STORAGE_CLASSES:
        if local.name == class_name:
            return local.directory_mode
    return 0o777


async def install(client: lightkube.AsyncClient) -> None:
    """Create the classes unless they exist (never overwrites a class a user changed)."""
    manifests = [storage_class_manifest(local) for local in STORAGE_CLASSES]
    manifests += [
        snapshot_class_manifest(name, default=default) for name, default in SNAPSHOT_CLASSES
    ]
    for manifest in manifests:
        try:
            await client.create(codecs.from_dict(manifest))
        except lightkube.ApiError as error:
            if error.status.code != 409:
                raise
