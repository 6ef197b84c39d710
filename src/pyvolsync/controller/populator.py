"""The volume populator: a PVC whose dataSourceRef names a ReplicationDestination gets its data.

This is how the spec's bootstrap works: an app's PVC points at ``<app>-bootstrap``; when that
destination has restored the latest backup and published it as ``status.latestImage`` (a
VolumeSnapshot), the populator provisions a "prime" PVC ``vs-prime-<pvc UID>`` from the snapshot,
moves the resulting PersistentVolume over to the app's PVC, and deletes the prime PVC, exactly
as upstream does, so the app starts on a full volume.

Unlike upstream, it never hands out an empty volume when a backup may exist: until the
destination has a published image, the PVC stays Pending and a Warning event on it repeats the
destination's own reason (repository unreachable, wrong password, invalid restoreAsOf). Only a
destination that found no repository or no snapshot publishes an (empty) image.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from pyvolsync.api import conditions, resources
from pyvolsync.kube import client as kube_client
from pyvolsync.kube import errors as kube_errors
from pyvolsync.planning import metadata, volumes

logger = logging.getLogger(__name__)

Kind = kube_client.Kind
JsonObject = dict[str, Any]

PRIME_PREFIX = "vs-prime-"
PRIME_FOR_LABEL = "volsync.backube/populator-pvc-for"
SNAPSHOT_IN_USE_PREFIX = "volsync.backube/volpop-pvc-"
POPULATED_FROM_ANNOTATION = "volsync.backube/populated-from"
SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
POPULATOR_NAME = "volsync-replicationdestination"


def wants_population(claim: Mapping[str, Any]) -> str | None:
    """Return the ReplicationDestination a PVC is to be populated from, or None."""
    reference = claim.get("spec", {}).get("dataSourceRef") or {}
    if reference.get("apiGroup") == resources.GROUP and (
        reference.get("kind") == resources.DESTINATION_KIND
    ):
        name = reference.get("name")
        return str(name) if name else None
    return None


def prime_claim(claim: Mapping[str, Any], image: Mapping[str, Any]) -> JsonObject:
    """Return the prime PVC that provisions a copy of ``image`` for ``claim``."""
    meta = claim["metadata"]
    spec = claim["spec"]
    annotations = {}
    selected = (meta.get("annotations") or {}).get(SELECTED_NODE_ANNOTATION)
    if selected:
        annotations[SELECTED_NODE_ANNOTATION] = selected
    prime_spec: JsonObject = {
        "accessModes": list(spec.get("accessModes") or []),
        "resources": spec.get("resources") or {},
        "dataSourceRef": {
            "apiGroup": image.get("apiGroup") or volumes.SNAPSHOT_GROUP,
            "kind": image["kind"],
            "name": image["name"],
        },
    }
    for field in ("storageClassName", "volumeMode"):
        if spec.get(field):
            prime_spec[field] = spec[field]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {
            "name": PRIME_PREFIX + meta["uid"],
            "namespace": meta["namespace"],
            "labels": {
                PRIME_FOR_LABEL: meta["name"][:63],
                metadata.CREATED_BY_LABEL: metadata.CREATED_BY_VALUE,
            },
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "PersistentVolumeClaim",
                    "name": meta["name"],
                    "uid": meta["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": prime_spec,
    }


@dataclasses.dataclass
class Populator:
    """Populates PVCs from ReplicationDestinations; one ``reconcile`` per PVC key."""

    kube: kube_client.Kube
    _last_event: dict[str, str] = dataclasses.field(default_factory=dict)
    claims_by_destination: dict[str, set[str]] = dataclasses.field(default_factory=dict)

    def remember(self, claim: Mapping[str, Any]) -> None:
        """Index a PVC by the destination it waits for, so destination changes wake it."""
        destination = wants_population(claim)
        meta = claim.get("metadata", {})
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        for claims in self.claims_by_destination.values():
            claims.discard(key)
        if destination and not claim.get("spec", {}).get("volumeName"):
            target = f"{meta.get('namespace')}/{destination}"
            self.claims_by_destination.setdefault(target, set()).add(key)

    async def reconcile(self, namespace: str, name: str) -> float | None:
        """Move one PVC along; return seconds until the next look, or None when done."""
        claim = await self.kube.get(Kind.CLAIM, name, namespace=namespace)
        if claim is None or wants_population(claim) is None:
            self._last_event.pop(f"{namespace}/{name}", None)
            return None
        if claim["spec"].get("volumeName"):
            await self._finish(claim)
            return None
        if not await self._ready_to_provision(claim):
            return 10.0
        prime = await self.kube.get(
            Kind.CLAIM, PRIME_PREFIX + claim["metadata"]["uid"], namespace=namespace
        )
        if prime is None:
            prime = await self._create_prime(claim)
            if prime is None:
                return 30.0
        return await self._rebind(claim, prime)

    async def _ready_to_provision(self, claim: JsonObject) -> bool:
        class_name = claim["spec"].get("storageClassName")
        if not class_name:
            return True
        storage_class = await self.kube.get(Kind.STORAGE_CLASS, class_name)
        if storage_class is None:
            await self._warn(
                claim,
                "VolSyncPopulatorStorageClassMissing",
                f"StorageClass {class_name} does not exist",
            )
            return False
        if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer":
            annotations = claim["metadata"].get("annotations") or {}
            return SELECTED_NODE_ANNOTATION in annotations
        return True

    async def _create_prime(self, claim: JsonObject) -> JsonObject | None:
        meta = claim["metadata"]
        destination_name = wants_population(claim) or ""
        destination = await self.kube.get(
            Kind.REPLICATION_DESTINATION, destination_name, namespace=meta["namespace"]
        )
        if destination is None:
            await self._warn(
                claim,
                "VolSyncPopulatorReplicationDestinationMissing",
                f"ReplicationDestination {destination_name} does not exist",
            )
            return None
        image = (destination.get("status") or {}).get("latestImage")
        if not image:
            await self._warn(
                claim,
                "VolSyncPopulatorReplicationDestinationNoLatestImage",
                _waiting_reason(destination),
            )
            return None
        if image.get("kind") != "VolumeSnapshot":
            await self._warn(
                claim,
                "VolSyncPopulatorError",
                f"ReplicationDestination {destination_name} publishes a {image.get('kind')}, not a "
                "VolumeSnapshot: set its engine section's copyMethod (spec.restic or spec.kopia) "
                "to Snapshot",
            )
            return None
        snapshot = await self.kube.get(
            Kind.VOLUME_SNAPSHOT, image["name"], namespace=meta["namespace"]
        )
        if snapshot is None:
            await self._warn(
                claim,
                "VolSyncPopulatorSnapshotMissing",
                f"VolumeSnapshot {image['name']} does not exist yet",
            )
            return None
        await self._hold_snapshot(snapshot, claim)
        prime = await self.kube.create(prime_claim(claim, image))
        await self._hold_snapshot(snapshot, claim, prime=prime)
        await self._note(
            claim,
            "Normal",
            "VolSyncPopulatorPVCCreated",
            f"populating from VolumeSnapshot {image['name']} of {destination_name}",
        )
        return prime

    async def _hold_snapshot(
        self, snapshot: JsonObject, claim: JsonObject, *, prime: JsonObject | None = None
    ) -> None:
        """Label the snapshot as in use for this PVC and, once it exists, owned by the prime PVC."""
        meta = claim["metadata"]
        patch: JsonObject = {
            "metadata": {"labels": {SNAPSHOT_IN_USE_PREFIX + meta["uid"]: meta["name"][:63]}}
        }
        if prime is not None:
            references = list(snapshot["metadata"].get("ownerReferences") or [])
            if all(item.get("uid") != prime["metadata"]["uid"] for item in references):
                references.append(
                    {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "name": prime["metadata"]["name"],
                        "uid": prime["metadata"]["uid"],
                    }
                )
            patch["metadata"]["ownerReferences"] = references
        await self.kube.patch(
            Kind.VOLUME_SNAPSHOT, snapshot["metadata"]["name"], patch, namespace=meta["namespace"]
        )

    async def _rebind(self, claim: JsonObject, prime: JsonObject) -> float | None:
        volume_name = prime["spec"].get("volumeName")
        if not volume_name:
            return 2.0
        volume = await self.kube.get(Kind.VOLUME, volume_name)
        if volume is None:
            return 2.0
        meta = claim["metadata"]
        claim_ref = volume["spec"].get("claimRef") or {}
        if claim_ref.get("uid") != meta["uid"]:
            image = prime["spec"]["dataSourceRef"]["name"]
            patch = {
                "metadata": {
                    "annotations": {POPULATED_FROM_ANNOTATION: f"{meta['namespace']}/{image}"}
                },
                "spec": {
                    "claimRef": {
                        "apiVersion": "v1",
                        "kind": "PersistentVolumeClaim",
                        "namespace": meta["namespace"],
                        "name": meta["name"],
                        "uid": meta["uid"],
                        "resourceVersion": meta["resourceVersion"],
                    }
                },
            }
            await self.kube.patch(Kind.VOLUME, volume_name, patch)
            return 1.0
        if (prime.get("status") or {}).get("phase") == "Lost":
            await self._finish(claim)
            return None
        return 1.0

    async def _finish(self, claim: JsonObject) -> None:
        """Delete the prime PVC and release the snapshot once the PVC has its volume."""
        meta = claim["metadata"]
        prime_name = PRIME_PREFIX + meta["uid"]
        prime = await self.kube.get(Kind.CLAIM, prime_name, namespace=meta["namespace"])
        if prime is None or prime["metadata"].get("deletionTimestamp"):
            return
        image = (prime["spec"].get("dataSourceRef") or {}).get("name")
        if image:
            label = SNAPSHOT_IN_USE_PREFIX + meta["uid"]
            snapshot = await self.kube.get(Kind.VOLUME_SNAPSHOT, image, namespace=meta["namespace"])
            if snapshot is not None and label in (snapshot["metadata"].get("labels") or {}):
                await self.kube.patch(
                    Kind.VOLUME_SNAPSHOT,
                    image,
                    {"metadata": {"labels": {label: None}}},
                    namespace=meta["namespace"],
                )
        await self.kube.delete(Kind.CLAIM, prime_name, namespace=meta["namespace"])
        await self._note(
            claim, "Normal", "VolSyncPopulatorFinished", f"populated from VolumeSnapshot {image}"
        )
        self._last_event.pop(f"{meta['namespace']}/{meta['name']}", None)

    async def _warn(self, claim: JsonObject, reason: str, note: str) -> None:
        await self._note(claim, "Warning", reason, note)

    async def _note(self, claim: JsonObject, type_: str, reason: str, note: str) -> None:
        """Record an event about the PVC, once per distinct reason and note."""
        key = f"{claim['metadata']['namespace']}/{claim['metadata']['name']}"
        if self._last_event.get(key) == reason + note:
            return
        self._last_event[key] = reason + note
        logger.info("[%s] %s: %s", key, reason, note)
        await self.kube.event(claim, type_=type_, reason=reason, action="PopulateVolume", note=note)


def _waiting_reason(destination: Mapping[str, Any]) -> str:
    """Say why a destination has no image yet, in its own words."""
    name = destination["metadata"]["name"]
    for condition in (destination.get("status") or {}).get("conditions") or []:
        if condition.get("type") == conditions.SYNCHRONIZING:
            return (
                f"waiting for ReplicationDestination {name} to restore the latest backup "
                f"({condition.get('reason')}: {condition.get('message')})"
            )
    return f"waiting for ReplicationDestination {name} to restore the latest backup"


async def register(kube: kube_client.Kube) -> None:
    """Create the VolumePopulator object, when the cluster serves that API (as upstream)."""
    populator = {
        "apiVersion": "populator.storage.k8s.io/v1beta1",
        "kind": "VolumePopulator",
        "metadata": {
            "name": POPULATOR_NAME,
            "labels": {metadata.CREATED_BY_LABEL: metadata.CREATED_BY_VALUE},
        },
        "sourceKind": {"group": resources.GROUP, "kind": resources.DESTINATION_KIND},
    }
    try:
        await kube.create(populator)
    except kube_errors.KubeError as error:  # the API is optional; its absence is normal
        logger.info("VolumePopulator not registered (%s)", error)
