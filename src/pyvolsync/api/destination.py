"""The ReplicationDestination resource: restore a restic or kopia repository into a volume.

Field for field the same as upstream's `volsync.backube/v1alpha1` ReplicationDestination plus
the perfectra1n/volsync fork's `spec.kopia`. A
destination restores into an existing PVC (`destinationPVC`) or into one the operator creates
(`capacity` + `accessModes`), then publishes the result in `status.latestImage` (the PVC, or a
VolumeSnapshot of it) for the volume populator and for PVCs that name it as their data source.
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic

from pyvolsync.api import common, kopia, othermovers, resources, wire

# restoreAsOf is a string in the API (the validator checks it), shown as a date-time.
RestoreTime = Annotated[
    wire.Str, pydantic.WithJsonSchema({"type": "string", "format": "date-time"})
]


class RestoreSelection(common.DestinationVolumeOptions):
    """What both engines' destination sections have: which snapshot, and volume clean-up."""

    cleanup_cache_pvc: wire.Bool | None = None
    """Delete the cache volume after each restore."""
    previous: wire.Int32 | None = None
    """Restore the snapshot this many places before the newest eligible one (default 0)."""
    restore_as_of: RestoreTime | None = None
    """Only snapshots taken at or before this RFC 3339 time are eligible."""
    enable_file_deletion: wire.Bool | None = None
    """Delete files in the volume that the snapshot does not have."""


class ResticDestinationSpec(common.EngineSpecBase, RestoreSelection):
    """Restore with restic."""


class KopiaSourceIdentity(wire.FrozenWireModel):
    """The ReplicationSource whose snapshots to restore, when it is not this object's twin."""

    source_name: wire.Str | None = None
    """Name of the ReplicationSource that wrote the snapshots (needed when this is set)."""
    source_namespace: wire.Str | None = None
    """Its namespace (this object's namespace when unset)."""
    source_pvc_name: wire.Str | None = None
    """The PersistentVolumeClaim it backs up (looked up from the source when unset)."""
    source_path_override: kopia.AbsolutePath | None = None
    """Its sourcePathOverride (looked up from the source when unset)."""


class KopiaDestinationSpec(kopia.KopiaSpecBase, RestoreSelection):
    """Restore with kopia."""

    shallow: wire.Int32 | None = None
    """Restore from a shallow listing of this many most recent snapshots."""
    source_identity: KopiaSourceIdentity | None = None
    """Restore the snapshots of this ReplicationSource (its user@host and path)."""


class ReplicationDestinationSpec(wire.FrozenWireModel):
    """Where to restore from, when, and with which mover (exactly one mover section)."""

    trigger: common.Trigger | None = None
    """When to restore."""
    paused: wire.Bool | None = None
    """Hold the mover: no new transfer starts while true."""
    restic: ResticDestinationSpec | None = None
    """Restore with restic (the mover pyvolsync runs)."""
    kopia: KopiaDestinationSpec | None = None
    """Restore with kopia (the fork's engine, which pyvolsync runs too)."""
    rsync: othermovers.RsyncDestinationSpec | None = None
    """The rsync mover (stored; pyvolsync does not run it)."""
    rsync_tls: othermovers.RsyncTLSDestinationSpec | None = None
    """The rsync-TLS mover (stored; pyvolsync does not run it)."""
    rclone: othermovers.RcloneDestinationSpec | None = None
    """The rclone mover (stored; pyvolsync does not run it)."""
    external: common.ExternalSpec | None = None
    """Handled by another controller; pyvolsync leaves such objects alone."""

    def mover_sections(self) -> tuple[str, ...]:
        """Return the wire names of the mover sections that are set, in field order."""
        return common.set_sections(self, ("restic", "kopia", "rsync", "rsync_tls", "rclone"))


class LatestImage(wire.WireModel):
    """The restored data: a PersistentVolumeClaim or a VolumeSnapshot in this namespace."""

    model_config = pydantic.ConfigDict(
        json_schema_extra={wire.KUBE_TYPE_KEY: "TypedLocalObjectReference"}
    )

    api_group: wire.Str | None = None
    kind: wire.Str
    name: wire.Str


class KopiaIdentityInfo(wire.WireModel):
    """One identity (user@host) that has snapshots in the repository."""

    identity: wire.Str
    """The identity, user@host."""
    snapshot_count: wire.Int32
    """How many snapshots it has."""
    latest_snapshot: wire.Time | None = None
    """When its newest snapshot was taken."""


class KopiaDestinationStatus(kopia.KopiaCacheStatus):
    """Kopia-specific state of a destination: what it looked for and what it found."""

    requested_identity: wire.Str | None = None
    """The identity (user@host) whose snapshots the restore looked for."""
    snapshots_found: wire.Int32 | None = None
    """How many snapshots that identity has."""
    available_identities: list[KopiaIdentityInfo] | None = None
    """The identities the repository holds, to find the right one after a miss."""


class ReplicationDestinationStatus(common.CommonStatus):
    """Observed state of a ReplicationDestination."""

    latest_image: LatestImage | None = None
    """The volume or snapshot holding the latest restored data."""
    kopia: KopiaDestinationStatus | None = None
    """Kopia-specific state."""
    rsync: othermovers.RsyncStatus | None = None
    """Status of the rsync mover (not run by pyvolsync; kept as data)."""
    rsync_tls: othermovers.RsyncTLSDestinationStatus | None = None
    """Status of the rsync-TLS mover (not run by pyvolsync; kept as data)."""


class ReplicationDestination(wire.WireModel):
    """Restores a restic or kopia repository into a volume, once, scheduled or on demand."""

    api_version: wire.Str = resources.API_VERSION
    """The API version, volsync.backube/v1alpha1."""
    kind: wire.Str = resources.DESTINATION_KIND
    """The kind, ReplicationDestination."""
    metadata: dict[str, Any] = pydantic.Field(default_factory=dict)
    """Standard object metadata."""
    spec: ReplicationDestinationSpec | None = None
    """What to restore and how."""
    status: ReplicationDestinationStatus | None = None
    """What the operator observed."""
