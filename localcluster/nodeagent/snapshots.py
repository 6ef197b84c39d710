"""Snapshot controller and CSI snapshotter in one: VolumeSnapshot -> a copied directory.

For a VolumeSnapshot of a claim on one of the agent's volumes (and a class of its driver) it
copies the volume's directory to ``snapshots/<content name>``, creates a bound
VolumeSnapshotContent, and reports ``readyToUse``, ``restoreSize`` and ``creationTime`` on both.
Deleting the VolumeSnapshot deletes the content and its directory when the deletion policy is
Delete. Pre-provisioned contents (``source.snapshotHandle`` naming an existing directory under
``snapshots/``) are bound too. Faults: see ``faults.py``.
"""

from __future__ import annotations

import asyncio
import datetime
import functools
import logging
from typing import Any

import lightkube
from lightkube import codecs
from lightkube.resources import core_v1
from lightkube.types import PatchType

from localcluster.nodeagent import classes, context, faults, kube, provisioner, quantity
from localcluster.nodeagent.informer import TaskSet

LOG = logging.getLogger(__name__)
SNAPSHOT_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
CONTENT_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"


def content_name(snapshot: Any) -> str:
    return f"snapcontent-{snapshot.metadata.uid}"


def rfc3339(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def content_manifest(
    name: str, snapshot: Any, snapshot_class: Any, *, volume_name: str
) -> dict[str, Any]:
    """A VolumeSnapshotContent bound to ``snapshot``, as the snapshot controller creates it."""
    return {
        "apiVersion": f"{classes.SNAPSHOT_GROUP}/v1",
        "kind": "VolumeSnapshotContent",
        "metadata": {"name": name, "finalizers": [CONTENT_FINALIZER]},
        "spec": {
            "deletionPolicy": snapshot_class.get("deletionPolicy", "Delete"),
            "driver": classes.DRIVER,
            "source": {"volumeHandle": volume_name},
            "volumeSnapshotClassName": snapshot_class.metadata.name,
            "volumeSnapshotRef": {
                "apiVersion": f"{classes.SNAPSHOT_GROUP}/v1",
                "kind": "VolumeSnapshot",
                "name": snapshot.metadata.name,
                "namespace": snapshot.metadata.namespace,
                "uid": snapshot.metadata.uid,
            },
        },
    }


class Snapshotter:
    def __init__(self, ctx: context.Context, *, on_done: Any) -> None:
        self.ctx = ctx
        self.tasks = TaskSet("snapshotter", on_done=on_done)

    def snapshot_class(self, snapshot: Any) -> Any:
        """The snapshot's class if it belongs to this driver (explicit or the default)."""
        name = (snapshot.get("spec") or {}).get("volumeSnapshotClassName")
        candidates = self.ctx.caches.snapshot_classes.values()
        for candidate in candidates:
            if candidate.get("driver") != classes.DRIVER:
                continue
            is_default = (
                kube.annotations_of(candidate).get(classes.DEFAULT_SNAPSHOT_CLASS_ANNOTATION)
                == "true"
            )
            if candidate.metadata.name == name or (name is None and is_default):
                return candidate
        return None

    async def reconcile(self) -> None:
        for snapshot in self.ctx.caches.snapshots.values():
            key = snapshot.metadata.uid
            if snapshot.metadata.deletionTimestamp:
                if SNAPSHOT_FINALIZER in kube.finalizers_of(snapshot):
                    work = functools.partial(self.delete_snapshot, snapshot)
                    self.tasks.start(f"delete/{key}", work)
                continue
            status = snapshot.get("status") or {}
            if status.get("readyToUse") or status.get("error"):
                continue
            if self.snapshot_class(snapshot) is None:
                continue
            self.tasks.start(f"take/{key}", functools.partial(self.take, snapshot))
        for content in self.ctx.caches.contents.values():
            deleting = content.metadata.deletionTimestamp
            if deleting and CONTENT_FINALIZER in kube.finalizers_of(content):
                name = content.metadata.name
                self.tasks.start(f"content/{name}", functools.partial(self.delete_content, name))

    def fault(self, snapshot: Any, snapshot_class: Any) -> faults.SnapshotFault:
        namespace = self.ctx.caches.namespaces.get(snapshot.metadata.namespace)
        for source in (snapshot, snapshot_class, namespace):
            value = kube.annotations_of(source).get(faults.SNAPSHOT_FAULT) if source else None
            if value:
                return faults.parse_snapshot_fault(value)
        return faults.SnapshotFault()

    async def take(self, cached: Any) -> None:
        client = self.ctx.client
        namespace, name = cached.metadata.namespace, cached.metadata.name
        snapshot = await kube.get_or_none(client, classes.VolumeSnapshot, name, namespace=namespace)
        if snapshot is None or snapshot.metadata.uid != cached.metadata.uid:
            return
        snapshot_class = self.snapshot_class(snapshot)
        if snapshot_class is None:
            return
        await kube.add_finalizer(client, classes.VolumeSnapshot, snapshot, SNAPSHOT_FINALIZER)
        await self.record_default_class(snapshot, snapshot_class)
        source = snapshot["spec"].get("source") or {}
        if source.get("volumeSnapshotContentName"):
            await self.bind_existing(snapshot, source["volumeSnapshotContentName"])
            return
        fault = self.fault(snapshot, snapshot_class)
        if fault.fail:
            await self.report_error(
                snapshot, "snapshot failed: injected fault (snapshot-fault: fail)"
            )
            return
        if fault.delay_seconds:
            await self.patch_snapshot_status(snapshot, {"readyToUse": False})
            await asyncio.sleep(fault.delay_seconds)
            snapshot = await kube.get_or_none(
                client, classes.VolumeSnapshot, name, namespace=namespace
            )
            if snapshot is None or snapshot.metadata.deletionTimestamp:
                return
        claim_name = str(source.get("persistentVolumeClaimName") or "")
        claim = await kube.get_or_none(
            client, core_v1.PersistentVolumeClaim, claim_name, namespace=namespace
        )
        volume = None
        if claim is not None and claim.spec.volumeName:
            volume = await kube.get_or_none(client, core_v1.PersistentVolume, claim.spec.volumeName)
        path = provisioner.volume_path(volume) if volume is not None else None
        if claim is None or path is None or not path.is_dir():
            await self.patch_snapshot_status(snapshot, {"readyToUse": False})
            return
        await self.cut(snapshot, snapshot_class, claim, volume, path)

    async def record_default_class(self, snapshot: Any, snapshot_class: Any) -> None:
        """Write the chosen default class into the spec, as the snapshot controller does."""
        if snapshot["spec"].get("volumeSnapshotClassName"):
            return
        patch = {"spec": {"volumeSnapshotClassName": kube.name_of(snapshot_class)}}
        try:
            await self.ctx.client.patch(
                classes.VolumeSnapshot,
                kube.name_of(snapshot),
                patch,
                namespace=kube.namespace_of(snapshot),
                patch_type=PatchType.MERGE,
            )
        except lightkube.ApiError as error:
            LOG.info("snapshot %s keeps an empty class: %s", kube.name_of(snapshot), error)

    async def cut(
        self, snapshot: Any, snapshot_class: Any, claim: Any, volume: Any, path: Any
    ) -> None:
        name = content_name(snapshot)
        await kube.copy_tree(path, self.ctx.settings.layout.snapshot_dir(name))
        capacity = (claim.status.capacity if claim.status else None) or volume.spec.capacity or {}
        size_text = capacity.get("storage", "0")
        moment = datetime.datetime.now(datetime.UTC)
        manifest = content_manifest(
            name, snapshot, snapshot_class, volume_name=kube.name_of(volume)
        )
        try:
            await self.ctx.client.create(codecs.from_dict(manifest))
        except lightkube.ApiError as error:
            if error.status.code != 409:
                raise
        content_status = {
            "snapshotHandle": name,
            "creationTime": int(moment.timestamp() * 1e9),
            "readyToUse": True,
            "restoreSize": quantity.to_bytes(size_text),
        }
        await self.ctx.client.patch(
            classes.VolumeSnapshotContent.Status,
            name,
            {"status": content_status},
            patch_type=PatchType.MERGE,
        )
        await self.patch_snapshot_status(
            snapshot,
            {
                "boundVolumeSnapshotContentName": name,
                "creationTime": rfc3339(moment),
                "readyToUse": True,
                "restoreSize": size_text,
                "error": None,
            },
        )
        await self.ctx.event(
            snapshot,
            "SnapshotReady",
            f"Snapshot {snapshot.metadata.namespace}/{snapshot.metadata.name} is ready to use.",
        )

    async def bind_existing(self, snapshot: Any, name: str) -> None:
        content = await kube.get_or_none(self.ctx.client, classes.VolumeSnapshotContent, name)
        handle = ((content or {}).get("spec") or {}).get("source", {}).get("snapshotHandle")
        if (
            content is None
            or not handle
            or not self.ctx.settings.layout.snapshot_dir(handle).is_dir()
        ):
            await self.report_error(snapshot, f"VolumeSnapshotContent {name} has no local data")
            return
        moment = datetime.datetime.now(datetime.UTC)
        await kube.add_finalizer(
            self.ctx.client, classes.VolumeSnapshotContent, content, CONTENT_FINALIZER
        )
        await self.ctx.client.patch(
            classes.VolumeSnapshotContent.Status,
            name,
            {
                "status": {
                    "snapshotHandle": handle,
                    "readyToUse": True,
                    "creationTime": int(moment.timestamp() * 1e9),
                }
            },
            patch_type=PatchType.MERGE,
        )
        await self.patch_snapshot_status(
            snapshot,
            {
                "boundVolumeSnapshotContentName": name,
                "readyToUse": True,
                "creationTime": rfc3339(moment),
            },
        )

    async def report_error(self, snapshot: Any, message: str) -> None:
        moment = rfc3339(datetime.datetime.now(datetime.UTC))
        await self.patch_snapshot_status(
            snapshot, {"readyToUse": False, "error": {"message": message, "time": moment}}
        )
        await self.ctx.event(snapshot, "SnapshotCreationFailed", message, warning=True)

    async def patch_snapshot_status(self, snapshot: Any, status: dict[str, Any]) -> None:
        await self.ctx.client.patch(
            classes.VolumeSnapshot.Status,
            snapshot.metadata.name,
            {"status": status},
            namespace=snapshot.metadata.namespace,
            patch_type=PatchType.MERGE,
        )

    async def delete_snapshot(self, snapshot: Any) -> None:
        name = str((snapshot.get("status") or {}).get("boundVolumeSnapshotContentName") or "")
        client = self.ctx.client
        content = (
            await kube.get_or_none(client, classes.VolumeSnapshotContent, name) if name else None
        )
        if content is not None and content["spec"].get("deletionPolicy") == "Delete":
            await kube.delete_ignoring_missing(client, classes.VolumeSnapshotContent, name)
            await self.delete_content(name)
        await kube.remove_finalizer(
            client,
            classes.VolumeSnapshot,
            snapshot.metadata.name,
            SNAPSHOT_FINALIZER,
            namespace=snapshot.metadata.namespace,
        )

    async def delete_content(self, name: str) -> None:
        client = self.ctx.client
        content = await kube.get_or_none(client, classes.VolumeSnapshotContent, name)
        if content is None:
            return
        if content["spec"].get("deletionPolicy") == "Delete":
            handle = (content.get("status") or {}).get("snapshotHandle") or name
            await kube.remove_tree(self.ctx.settings.layout.snapshot_dir(handle))
        await kube.remove_finalizer(
            client, classes.VolumeSnapshotContent, name, CONTENT_FINALIZER, namespace=None
        )
