"""The parts the custom resources share: trigger, volume and mover pod settings, status blocks.

ReplicationSource and ReplicationDestination have the same trigger, the same volume options and
knobs for the mover pod (security context, service account, resources, affinity, labels, extra
volumes) in every mover section, and most of their status. Upstream defines these once and
embeds them; so do we, and every engine's section (restic, kopia) builds on `EngineSpecBase`.
KopiaMaintenance reuses the trigger, the cache options and the condition. The pyvolsync additions
(`SyncResult`, `SyncProgress` and the failure counters in `CommonStatus`) are all optional, so a
status written by upstream VolSync still parses.
"""

from __future__ import annotations

from typing import Annotated, Literal

import pydantic

from pyvolsync.api import wire

# How the mover gets at the volume. "None" is upstream's deprecated spelling of "Direct".
CopyMethod = Literal["Direct", "None", "Clone", "Snapshot"]
COPY_METHODS: tuple[CopyMethod, ...] = ("Direct", "None", "Clone", "Snapshot")

# The cron pattern upstream's CRD enforces on `trigger.schedule`, kept verbatim so that the
# API server accepts exactly the schedules it accepts there (see docs/api.md).
SCHEDULE_PATTERN = (
    r"^(@(annually|yearly|monthly|weekly|daily|hourly))"
    r"|((((\d+,)*\d+|(\d+(\/|-)\d+)|\*(\/\d+)?)\s?){5})$"
)

AccessModes = Annotated[list[wire.Str], pydantic.Field(min_length=1)]
Schedule = Annotated[wire.Str, pydantic.Field(json_schema_extra={"pattern": SCHEDULE_PATTERN})]


def set_sections(spec: pydantic.BaseModel, names: tuple[str, ...]) -> tuple[str, ...]:
    """Return the wire names of those of `names` whose section is set on `spec`."""
    return tuple(wire.wire_name(name) for name in names if getattr(spec, name) is not None)


class Trigger(wire.FrozenWireModel):
    """When to run. Unset or empty on a sync: start again as soon as the previous one is done."""

    schedule: Schedule | None = None
    """A cron expression (5 fields, or @hourly, @daily, ...) saying when runs start."""
    manual: wire.Str | None = None
    """Run once each time this value changes; on a sync it wins over `schedule`."""


class CustomCA(wire.FrozenWireModel):
    """A CA certificate the mover trusts when it talks to the repository."""

    secret_name: wire.Str | None = None
    """Secret holding the certificate; wins over configMapName when both are set."""
    config_map_name: wire.Str | None = None
    """ConfigMap holding the certificate."""
    key: wire.Str | None = None
    """Key of the certificate in the Secret or ConfigMap; no CA is used while this is empty."""


class MoverVolumeSource(wire.FrozenWireModel):
    """The volume to mount into the mover pod; set exactly one of the sources."""

    secret: Annotated[wire.KubeObject, wire.kube_type("SecretVolumeSource")] | None = None
    """A Secret in the object's namespace."""
    nfs: Annotated[wire.KubeObject, wire.kube_type("NFSVolumeSource")] | None = None
    """An NFS export."""
    persistent_volume_claim: (
        Annotated[wire.KubeObject, wire.kube_type("PersistentVolumeClaimVolumeSource")] | None
    ) = None
    """A PersistentVolumeClaim in the object's namespace."""


class MoverVolume(wire.FrozenWireModel):
    """An extra volume for the mover pod, mounted at /mnt/<mountPath>."""

    mount_path: wire.Str
    """Directory under /mnt where the volume is mounted."""
    volume_source: MoverVolumeSource
    """Where the volume comes from."""


class BasicMoverConfig(wire.FrozenWireModel):
    """The mover pod settings every mover section has (upstream's rsync has only these)."""

    mover_service_account: wire.Str | None = None
    """Existing ServiceAccount to run the mover as, instead of a generated one."""
    mover_pod_labels: wire.StringMap | None = None
    """Extra labels for the mover pod."""
    mover_resources: Annotated[wire.KubeObject, wire.kube_type("ResourceRequirements")] | None = (
        None
    )
    """CPU and memory requests and limits of the mover container."""


class MoverConfig(BasicMoverConfig):
    """Settings of the mover pod, shared by every mover section but rsync."""

    mover_security_context: (
        Annotated[wire.KubeObject, wire.kube_type("PodSecurityContext")] | None
    ) = None
    """Pod security context of the mover (user, group, fsGroup, ...)."""
    mover_affinity: Annotated[wire.KubeObject, wire.kube_type("Affinity")] | None = None
    """Scheduling affinity of the mover pod."""
    mover_volumes: list[MoverVolume] | None = None
    """Extra volumes mounted into the mover pod."""


class VolumeOptions(wire.FrozenWireModel):
    """How the mover gets at the data: the volume itself, or a copy the operator makes."""

    copy_method: CopyMethod | None = None
    """Direct uses the volume itself; Clone/Snapshot copy a source first (None means Direct)."""
    capacity: wire.Quantity | None = None
    """Size of the volume the operator creates (a source's copy, a destination's target)."""
    storage_class_name: wire.Str | None = None
    """StorageClass of the volume the operator creates."""
    access_modes: AccessModes | None = None
    """Access modes of the volume the operator creates."""
    volume_snapshot_class_name: wire.Str | None = None
    """VolumeSnapshotClass for copyMethod Snapshot; defaults to the cluster default."""


class DestinationVolumeOptions(VolumeOptions):
    """A destination's volume options: an existing volume, or one the operator creates."""

    destination_pvc: wire.Str | None = None
    """Existing PersistentVolumeClaim to restore into, instead of a created one."""
    cleanup_temp_pvc: wire.Bool | None = None
    """Delete the created volume after each successful restore (not destinationPVC)."""


class CacheOptions(wire.FrozenWireModel):
    """The volume an engine keeps its repository cache on."""

    cache_capacity: wire.Quantity | None = None
    """Size of the cache volume (restic: 1Gi when unset; kopia: see docs/api.md)."""
    cache_storage_class_name: wire.Str | None = None
    """StorageClass of the cache volume (restic: storageClassName, else the cluster default)."""
    cache_access_modes: list[wire.Str] | None = None
    """Access modes of the cache volume (restic: accessModes, else the data volume's)."""


class EngineSpecBase(MoverConfig, VolumeOptions, CacheOptions):
    """What every engine's section (restic, kopia) has: the repository Secret and the volumes."""

    repository: wire.Str | None = None
    """Secret in this namespace with the repository's location, password and backend keys."""
    custom_ca: CustomCA | None = None
    """CA certificate to trust when talking to the repository."""


class ExternalSpec(wire.FrozenWireModel):
    """A replication handled by another controller; VolSync-compatible operators leave it be."""

    provider: wire.Str | None = None
    """Name of the controller that handles this object."""
    parameters: wire.StringMap | None = None
    """Settings for that controller."""


class Condition(wire.WireModel):
    """One aspect of the object's state (metav1.Condition)."""

    model_config = pydantic.ConfigDict(json_schema_extra={wire.KUBE_TYPE_KEY: "Condition"})

    type: wire.Str
    status: Literal["True", "False", "Unknown"]
    reason: wire.Str
    message: wire.Str
    last_transition_time: wire.Time
    observed_generation: wire.Int64 | None = None


class MoverStatus(wire.WireModel):
    """How the latest mover run ended and the log lines that tell its story."""

    result: wire.Str | None = None
    """Successful or Failed."""
    logs: wire.Str | None = None
    """The last lines of the mover's log that matter (a kilobyte at most)."""


class SyncResult(wire.WireModel):
    """What the latest finished sync did, as the mover reported it (a pyvolsync addition).

    The values mirror the mover's result document (pyvolsync.contract.MoverResult).
    """

    outcome: wire.Str | None = None
    """How it ended, e.g. succeeded, succeeded-with-warnings, source-empty, failed."""
    error_kind: wire.Str | None = None
    """For a failure, why: e.g. repository-locked, wrong-password, repository-unreachable."""
    message: wire.Str | None = None
    """One line for humans saying what happened and, on failure, what to do."""
    snapshot_id: wire.Str | None = None
    """The restic snapshot written by a backup or read by a restore."""
    files_new: wire.Int64 | None = None
    """Files a backup found new."""
    files_changed: wire.Int64 | None = None
    """Files a backup found changed."""
    files_unmodified: wire.Int64 | None = None
    """Files a backup found unchanged."""
    bytes_added: wire.Int64 | None = None
    """Bytes a backup added to the repository (before compression)."""
    bytes_processed: wire.Int64 | None = None
    """Bytes a backup read from the volume."""
    files_restored: wire.Int64 | None = None
    """Files a restore wrote."""
    bytes_restored: wire.Int64 | None = None
    """Bytes a restore wrote."""
    warnings: list[wire.Str] | None = None
    """Warnings of a sync that succeeded anyway (e.g. files that could not be read)."""


class SyncRecord(wire.WireModel):
    """One finished sync, for the history a person looks at (a pyvolsync addition)."""

    time: wire.Time
    """When it ended."""
    result: wire.Str
    """Successful or Failed."""
    duration_seconds: wire.Number | None = None
    """How long it took."""
    bytes_added: wire.Int64 | None = None
    """Bytes a backup added to the repository."""
    bytes_processed: wire.Int64 | None = None
    """Bytes a backup read from the volume (the volume's size, for a full read)."""


class SyncProgress(wire.WireModel):
    """How far the running sync is (a pyvolsync addition); cleared when the sync ends."""

    percent: wire.Number | None = None
    """Share of the work done, 0 to 100."""
    bytes_done: wire.Int64 | None = None
    """Bytes processed so far."""
    bytes_total: wire.Int64 | None = None
    """Bytes to process in total, once known."""
    files_done: wire.Int64 | None = None
    """Files processed so far."""
    files_total: wire.Int64 | None = None
    """Files to process in total, once known."""
    eta_seconds: wire.Int64 | None = None
    """Estimated seconds until the transfer finishes."""
    updated_at: wire.Time | None = None
    """When these numbers were read from the mover."""


class CommonStatus(wire.WireModel):
    """Status fields of both kinds. All optional: an empty status is a new object."""

    last_sync_time: wire.Time | None = None
    """When the latest successful sync finished."""
    last_sync_start_time: wire.Time | None = None
    """When the running sync started; unset while no sync runs."""
    last_sync_duration: wire.Str | None = None
    """How long the latest sync took, as a Go duration (e.g. 1m33.5s)."""
    next_sync_time: wire.Time | None = None
    """When the next scheduled sync is due (schedule triggers only)."""
    last_manual_sync: wire.Str | None = None
    """The `trigger.manual` value the latest sync answered."""
    latest_mover_status: MoverStatus | None = None
    """Result and log lines of the latest mover run."""
    conditions: list[Condition] | None = None
    """Current state; type Synchronizing."""
    external: wire.StringMap | None = None
    """Status written by an external provider."""
    observed_generation: wire.Int64 | None = None
    """The metadata.generation this status describes (a pyvolsync addition)."""
    last_sync_result: SyncResult | None = None
    """Details of the latest finished sync (a pyvolsync addition)."""
    progress: SyncProgress | None = None
    """Progress of the running sync (a pyvolsync addition)."""
    last_failure_time: wire.Time | None = None
    """When the latest failed mover run ended (a pyvolsync addition)."""
    consecutive_failures: wire.Int32 | None = None
    """Failed mover runs since the latest success (a pyvolsync addition)."""
    recent_syncs: list[SyncRecord] | None = None
    """The latest finished syncs, oldest first, at most 24 (a pyvolsync addition): what the
    console's history chart draws."""
