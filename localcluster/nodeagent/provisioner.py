"""Dynamic provisioning and deletion of directory-backed PersistentVolumes.

Plays the CSI external-provisioner for the agent's StorageClasses: it creates a directory and a
PV pre-bound (``claimRef``) to the claim, and leaves the binding itself to kube-controller-manager's
PV binder. Like the external-provisioner it only handles data sources it knows (a PVC = clone, a
VolumeSnapshot = restore); a claim whose ``dataSourceRef`` names another kind (e.g. a VolSync
ReplicationDestination) is left to that kind's volume populator. WaitForFirstConsumer claims wait
for the scheduler's ``volume.kubernetes.io/selected-node`` annotation.
"""

from __future__ import annotations

import functools
import logging
import pathlib
from typing import Any

from lightkube import codecs
from lightkube.resources import core_v1

from localcluster.nodeagent import classes, context, kube
from localcluster.nodeagent.informer import TaskSet

LOG = logging.getLogger(__name__)
SELECTED_NODE = "volume.kubernetes.io/selected-node"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
FINALIZER = "local.pyvolsync.dev/volume-protection"
KNOWN_SOURCES = {("", "PersistentVolumeClaim"), (classes.SNAPSHOT_GROUP, "VolumeSnapshot")}


class SourceNotReadyError(Exception):
    """The clone or restore source is not usable yet; provisioning retries on the next pass."""


def data_source(claim: core_v1.PersistentVolumeClaim) -> tuple[str, str, str] | None:
    """(apiGroup, kind, name) of the claim's data source, if any."""
    assert claim.spec is not None
    reference: Any = claim.spec.dataSourceRef or claim.spec.dataSource
    if reference is None:
        return None
    return (reference.apiGroup or "", reference.kind, reference.name)


def left_to_populator(claim: core_v1.PersistentVolumeClaim) -> bool:
    source = data_source(claim)
    return source is not None and source[:2] not in KNOWN_SOURCES


def volume_name(claim: core_v1.PersistentVolumeClaim) -> str:
    assert claim.metadata is not None
    return f"pvc-{claim.metadata.uid}"


def volume_path(volume: core_v1.PersistentVolume) -> pathlib.Path | None:
    spec = volume.spec
    if spec is None:
        return None
    if spec.local is not None:
        return pathlib.Path(spec.local.path)
    if spec.hostPath is not None:
        return pathlib.Path(spec.hostPath.path)
    return None


def needs_volume(ctx: context.Context, claim: core_v1.PersistentVolumeClaim) -> bool:
    metadata, spec = claim.metadata, claim.spec
    if metadata is None or spec is None or spec.volumeName or metadata.deletionTimestamp:
        return False
    storage_class = ctx.caches.storage_classes.get(spec.storageClassName or "")
    if storage_class is None or storage_class.provisioner != classes.DRIVER:
        return False
    if left_to_populator(claim):
        return False
    if storage_class.volumeBindingMode == "WaitForFirstConsumer":
        selected = kube.annotations_of(claim).get(SELECTED_NODE)
        if selected != ctx.settings.node_name:
            return False
    return ctx.caches.volumes.get(volume_name(claim)) is None


def releasable(volume: core_v1.PersistentVolume) -> bool:
    """Our volume whose claim is gone (reclaim Delete), or which a user deleted while unbound."""
    if FINALIZER not in kube.finalizers_of(volume) or volume.spec is None:
        return False
    phase = volume.status.phase if volume.status else None
    if volume.spec.persistentVolumeReclaimPolicy == "Delete" and phase == "Released":
        return True
    return (
        volume.metadata is not None and bool(volume.metadata.deletionTimestamp) and phase != "Bound"
    )


class Provisioner:
    def __init__(self, ctx: context.Context, *, on_done: Any) -> None:
        self.ctx = ctx
        self.tasks = TaskSet("provisioner", on_done=on_done)

    async def reconcile(self) -> None:
        for claim in self.ctx.caches.claims.values():
            if needs_volume(self.ctx, claim):
                assert claim.metadata is not None
                work = functools.partial(self.provision, claim)
                self.tasks.start(f"provision/{claim.metadata.uid}", work)
        for volume in self.ctx.caches.volumes.values():
            if releasable(volume):
                assert volume.metadata is not None and volume.metadata.name is not None
                name = volume.metadata.name
                self.tasks.start(f"delete/{name}", functools.partial(self.delete, name))

    async def provision(self, cached: core_v1.PersistentVolumeClaim) -> None:
        assert cached.metadata is not None and cached.metadata.name is not None
        client = self.ctx.client
        claim = await kube.get_or_none(
            client,
            core_v1.PersistentVolumeClaim,
            cached.metadata.name,
            namespace=cached.metadata.namespace,
        )
        if claim is None or claim.metadata.uid != cached.metadata.uid or claim.spec.volumeName:
            return
        name = volume_name(claim)
        if await kube.get_or_none(client, core_v1.PersistentVolume, name) is not None:
            return
        try:
            source = await self.source_directory(claim)
        except SourceNotReadyError as waiting:
            LOG.info(
                "claim %s/%s waits: %s", claim.metadata.namespace, claim.metadata.name, waiting
            )
            return
        directory = self.ctx.settings.layout.volume_dir(name)
        if source is None:
            await kube.make_directory(
                directory, classes.directory_mode(claim.spec.storageClassName)
            )
        else:
            await kube.copy_tree(source, directory)
        await client.create(codecs.from_dict(self.volume_manifest(claim, directory)))
        message = f"Successfully provisioned volume {name}"
        await self.ctx.event(claim, "ProvisioningSucceeded", message)

    async def source_directory(self, claim: core_v1.PersistentVolumeClaim) -> pathlib.Path | None:
        source = data_source(claim)
        if source is None:
            return None
        _group, kind, name = source
        namespace = kube.namespace_of(claim)
        if kind == "PersistentVolumeClaim":
            return await self.claim_directory(name, namespace)
        return await self.snapshot_directory(name, namespace)

    async def claim_directory(self, name: str, namespace: str) -> pathlib.Path:
        client = self.ctx.client
        source = await kube.get_or_none(
            client, core_v1.PersistentVolumeClaim, name, namespace=namespace
        )
        if source is None or not source.spec.volumeName:
            raise SourceNotReadyError(f"source claim {name} is not bound")
        volume = await kube.get_or_none(client, core_v1.PersistentVolume, source.spec.volumeName)
        path = volume_path(volume) if volume is not None else None
        if path is None or not path.is_dir():
            raise SourceNotReadyError(f"source claim {name} has no local volume")
        return path

    async def snapshot_directory(self, name: str, namespace: str) -> pathlib.Path:
        client = self.ctx.client
        snapshot = await kube.get_or_none(client, classes.VolumeSnapshot, name, namespace=namespace)
        status = (snapshot or {}).get("status") or {}
        content_name = status.get("boundVolumeSnapshotContentName")
        if not status.get("readyToUse") or not content_name:
            raise SourceNotReadyError(f"snapshot {name} is not ready")
        content = await kube.get_or_none(client, classes.VolumeSnapshotContent, content_name)
        handle = ((content or {}).get("status") or {}).get("snapshotHandle")
        path = self.ctx.settings.layout.snapshot_dir(handle) if handle else None
        if path is None or not path.is_dir():
            raise SourceNotReadyError(f"snapshot {name} has no local data")
        return path

    def volume_manifest(
        self, claim: core_v1.PersistentVolumeClaim, directory: pathlib.Path
    ) -> dict[str, Any]:
        assert claim.metadata is not None and claim.spec is not None
        storage_class = self.ctx.caches.storage_classes.get(claim.spec.storageClassName or "")
        requests = (claim.spec.resources.requests if claim.spec.resources else None) or {}
        node_term = {
            "key": "kubernetes.io/hostname",
            "operator": "In",
            "values": [self.ctx.settings.node_name],
        }
        return {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {
                "name": volume_name(claim),
                "annotations": {PROVISIONED_BY: classes.DRIVER},
                "finalizers": [FINALIZER],
            },
            "spec": {
                "capacity": {"storage": requests.get("storage", "1Gi")},
                "accessModes": claim.spec.accessModes or ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": (
                    storage_class.reclaimPolicy if storage_class else None
                )
                or "Delete",
                "storageClassName": claim.spec.storageClassName,
                "volumeMode": claim.spec.volumeMode or "Filesystem",
                "claimRef": {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "namespace": claim.metadata.namespace,
                    "name": claim.metadata.name,
                    "uid": claim.metadata.uid,
                },
                "local": {"path": str(directory)},
                "nodeAffinity": {
                    "required": {"nodeSelectorTerms": [{"matchExpressions": [node_term]}]}
                },
            },
        }

    async def delete(self, name: str) -> None:
        client = self.ctx.client
        volume = await kube.get_or_none(client, core_v1.PersistentVolume, name)
        if volume is None or not releasable(volume):
            return
        path = volume_path(volume)
        if path is not None and path.parent == self.ctx.settings.layout.volume_dir("x").parent:
            await kube.remove_tree(path)
        await kube.delete_ignoring_missing(client, core_v1.PersistentVolume, name)
        await kube.remove_finalizer(
            client, core_v1.PersistentVolume, name, FINALIZER, namespace=None
        )
        LOG.info("deleted volume %s", name)
