"""An in-place restore's plan and journal: which workloads mount a PVC, and how far a restore got.

``pyvolsync restore NAME --path P --in-place`` stops the workloads that mount the source's PVC,
takes a pinned safety copy, restores the paths and starts the workloads again;
``pyvolsync undo NAME`` puts the paths back from the safety copy. Either may be interrupted at
any step (a closed laptop, a killed command), so each step is written down before it is taken:
the journal is an annotation on the PVC (``JOURNAL_ANNOTATION``), which a cluster that goes back
to upstream VolSync ignores, and each stopped workload carries ``STOPPED_ANNOTATION`` saying why
it is at zero and how many replicas it had. A rerun reads both and finishes, or rolls back.

Everything here is pure: the CLI reads the objects, these functions decide.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

JOURNAL_ANNOTATION = "pyvolsync.dev/in-place-restore"
STOPPED_ANNOTATION = "pyvolsync.dev/stopped-for-restore"
SCALABLE_KINDS = ("Deployment", "StatefulSet")


class Phase(enum.StrEnum):
    """How far an in-place restore (or its undo) got; each is written before the next step."""

    STOPPING = "stopping"
    """The workloads are recorded and being scaled to zero; the volume is untouched."""
    STOPPED = "stopped"
    """No pod mounts the PVC any more; the volume is untouched."""
    SAFETY_COPIED = "safety-copied"
    """The pinned safety copy exists; the paths are being restored."""
    RESTORED = "restored"
    """The paths are restored; the workloads are being started again."""
    DONE = "done"
    """Finished; ``pyvolsync undo`` can put the paths back from the safety copy."""
    UNDOING = "undoing"
    """The workloads are stopped again and the paths are being put back."""
    UNDONE = "undone"
    """The paths are what they were before the restore; the workloads run again."""

    @property
    def finished(self) -> bool:
        """Return True when nothing is left to do (a new restore may start)."""
        return self in (Phase.DONE, Phase.UNDONE)

    @property
    def volume_untouched(self) -> bool:
        """Return True while the restore has not written to the volume yet."""
        return self in (Phase.STOPPING, Phase.STOPPED)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Workload:
    """A Deployment or StatefulSet that mounts the PVC, and the replicas it had."""

    kind: str
    name: str
    replicas: int

    def __str__(self) -> str:
        plural = "" if self.replicas == 1 else "s"
        return f"{self.kind} {self.name} ({self.replicas} replica{plural})"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Journal:
    """What an in-place restore does and how far it got (the PVC's annotation)."""

    source: str
    snapshot: str
    paths: tuple[str, ...]
    phase: Phase
    workloads: tuple[Workload, ...] = ()
    safety_copy: str = ""
    """The pinned snapshot of the volume as it was ("" before it is taken, or when the volume
    was empty: undo then removes the paths)."""
    volume_snapshot_class: str = ""
    """When set, the safety copy is a VolumeSnapshot of this class instead of a backup."""
    volume_snapshot: str = ""
    """The name of that VolumeSnapshot, once it is ready."""
    started_at: str = ""

    def annotation(self) -> str:
        """Return the journal as the annotation's JSON value."""
        document = dataclasses.asdict(self)
        document["paths"] = list(self.paths)
        document["workloads"] = [dataclasses.asdict(item) for item in self.workloads]
        return json.dumps(document, ensure_ascii=False, sort_keys=True)

    def at(self, phase: Phase, **changes: Any) -> Journal:
        """Return the journal moved to ``phase``."""
        return dataclasses.replace(self, phase=phase, **changes)


def _workload(document: Mapping[str, Any]) -> Workload:
    return Workload(
        kind=str(document["kind"]), name=str(document["name"]), replicas=int(document["replicas"])
    )


class JournalError(ValueError):
    """The annotation is not a journal this version can read."""


def read_journal(claim: Mapping[str, Any]) -> Journal | None:
    """Return the PVC's journal, None when it has none; raise JournalError when unreadable."""
    annotations = (claim.get("metadata") or {}).get("annotations") or {}
    text = annotations.get(JOURNAL_ANNOTATION)
    if not text:
        return None
    try:
        document = json.loads(text)
        return Journal(
            source=str(document["source"]),
            snapshot=str(document["snapshot"]),
            paths=tuple(str(path) for path in document["paths"]),
            phase=Phase(document["phase"]),
            workloads=tuple(_workload(item) for item in document.get("workloads") or ()),
            safety_copy=str(document.get("safety_copy", "")),
            volume_snapshot_class=str(document.get("volume_snapshot_class", "")),
            volume_snapshot=str(document.get("volume_snapshot", "")),
            started_at=str(document.get("started_at", "")),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise JournalError(
            f"annotation {JOURNAL_ANNOTATION} cannot be read ({error}); remove it once the "
            "workloads run again"
        ) from None


def journal_patch(journal: Journal | None) -> dict[str, Any]:
    """Return the merge patch that writes (or, given None, removes) the PVC's journal."""
    value = None if journal is None else journal.annotation()
    return {"metadata": {"annotations": {JOURNAL_ANNOTATION: value}}}


def scale_patch(replicas: int, *, note: str | None) -> dict[str, Any]:
    """Return the merge patch that sets a workload's replicas and its stop note (None: removed)."""
    return {
        "metadata": {"annotations": {STOPPED_ANNOTATION: note}},
        "spec": {"replicas": replicas},
    }


def stop_note(workload: Workload, *, claim: str, since: str) -> str:
    """Return the note a stopped workload carries: why it is at zero, and how to get it back."""
    return (
        f"stopped at {since} by `pyvolsync restore --in-place` of PVC {claim}; it had "
        f"{workload.replicas} replicas: the same command (or `pyvolsync undo`) starts it again"
    )


DEFAULT_SNAPSHOT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"


def snapshot_class(
    claim: Mapping[str, Any],
    *,
    storage_classes: Sequence[Mapping[str, Any]],
    snapshot_classes: Sequence[Mapping[str, Any]],
    wanted: str = "",
) -> str:
    """Return the VolumeSnapshotClass that can snapshot ``claim`` ("" when none can): ``wanted``
    (the source's ``volumeSnapshotClassName``) if its driver matches, else the driver's default
    class, else its only one."""
    class_name = (claim.get("spec") or {}).get("storageClassName")
    drivers = {str(item["metadata"]["name"]): item.get("provisioner") for item in storage_classes}
    driver = drivers.get(str(class_name))
    matching = [item for item in snapshot_classes if driver and item.get("driver") == driver]
    names_found = [str(item["metadata"]["name"]) for item in matching]
    if wanted:
        return wanted if wanted in names_found else ""
    defaults = [
        str(item["metadata"]["name"])
        for item in matching
        if ((item["metadata"].get("annotations") or {}).get(DEFAULT_SNAPSHOT_CLASS_ANNOTATION))
        == "true"
    ]
    if defaults:
        return defaults[0]
    return names_found[0] if len(names_found) == 1 else ""


def clone_claim(claim: Mapping[str, Any], *, name: str, volume_snapshot: str) -> dict[str, Any]:
    """Return a PVC made from ``volume_snapshot``, shaped like ``claim`` (the undo reads it)."""
    spec = claim.get("spec") or {}
    size = ((claim.get("status") or {}).get("capacity") or {}).get("storage") or (
        (spec.get("resources") or {}).get("requests") or {}
    ).get("storage")
    clone_spec: dict[str, Any] = {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
        "dataSource": {
            "apiGroup": "snapshot.storage.k8s.io",
            "kind": "VolumeSnapshot",
            "name": volume_snapshot,
        },
    }
    if spec.get("storageClassName"):
        clone_spec["storageClassName"] = spec["storageClassName"]
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "namespace": claim["metadata"]["namespace"],
                     "labels": {"app.kubernetes.io/created-by": "pyvolsync-cli"}},
        "spec": clone_spec,
    }  # fmt: skip


def volume_snapshot(claim: Mapping[str, Any], *, name: str, class_name: str) -> dict[str, Any]:
    """Return the VolumeSnapshot of ``claim`` that is an in-place restore's safety copy."""
    return {
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": claim["metadata"]["namespace"],
                     "labels": {"app.kubernetes.io/created-by": "pyvolsync-cli"}},
        "spec": {
            "volumeSnapshotClassName": class_name,
            "source": {"persistentVolumeClaimName": claim["metadata"]["name"]},
        },
    }  # fmt: skip


def _claims_of(template: Mapping[str, Any]) -> set[str]:
    volumes = ((template.get("spec") or {}).get("volumes")) or []
    return {
        str(volume["persistentVolumeClaim"]["claimName"])
        for volume in volumes
        if (volume.get("persistentVolumeClaim") or {}).get("claimName")
    }


def _stateful_claims(stateful_set: Mapping[str, Any]) -> set[str]:
    """Return the PVC names a StatefulSet's claim templates give its pods (any ordinal is
    matched by prefix in ``_mounts``)."""
    name = stateful_set["metadata"]["name"]
    templates = (stateful_set.get("spec") or {}).get("volumeClaimTemplates") or []
    return {f"{template['metadata']['name']}-{name}-" for template in templates}


def _mounts(kind: str, workload: Mapping[str, Any], claim: str) -> bool:
    spec = workload.get("spec") or {}
    if claim in _claims_of(spec.get("template") or {}):
        return True
    return kind == "StatefulSet" and any(
        claim.startswith(prefix) and claim[len(prefix) :].isdigit()
        for prefix in _stateful_claims(workload)
    )


@dataclasses.dataclass(frozen=True, kw_only=True)
class Discovery:
    """The workloads to stop, and why stopping is impossible (pods nobody can scale)."""

    workloads: tuple[Workload, ...]
    blockers: tuple[str, ...]


def _owner(obj: Mapping[str, Any]) -> tuple[str, str] | None:
    for reference in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if reference.get("controller"):
            return str(reference["kind"]), str(reference["name"])
    return None


def _running(pod: Mapping[str, Any]) -> bool:
    return (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def pods_mounting(pods: Iterable[Mapping[str, Any]], claim: str) -> list[Mapping[str, Any]]:
    """Return the pods that mount ``claim`` and have not ended."""
    return [pod for pod in pods if claim in _claims_of(pod) and _running(pod)]


def discover(
    claim: str,
    *,
    deployments: Sequence[Mapping[str, Any]],
    stateful_sets: Sequence[Mapping[str, Any]],
    replica_sets: Sequence[Mapping[str, Any]],
    pods: Sequence[Mapping[str, Any]],
) -> Discovery:
    """Return the Deployments and StatefulSets that mount ``claim``, and a sentence for each
    running pod that mounts it but none of them owns (a plain pod, a DaemonSet's, a Job's)."""
    found = [
        Workload(
            kind=kind,
            name=str(item["metadata"]["name"]),
            replicas=int((item.get("spec") or {}).get("replicas", 1)),
        )
        for kind, listed in (("Deployment", deployments), ("StatefulSet", stateful_sets))
        for item in listed
        if _mounts(kind, item, claim)
    ]
    covered = {(item.kind, item.name) for item in found}
    set_owners = {
        str(item["metadata"]["name"]): _owner(item) for item in replica_sets if _owner(item)
    }
    blockers = []
    for pod in pods_mounting(pods, claim):
        owner = _owner(pod)
        if owner and owner[0] == "ReplicaSet":
            owner = set_owners.get(owner[1]) or owner
        if owner in covered:
            continue
        held_by = f"{owner[0]} {owner[1]}" if owner else "no controller"
        blockers.append(f"pod {pod['metadata']['name']} ({held_by}) mounts PVC {claim}")
    return Discovery(workloads=tuple(found), blockers=tuple(blockers))
