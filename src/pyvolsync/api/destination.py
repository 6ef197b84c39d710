"""The ReplicationDestination resource: restore a restic repository into a volume.

Field for field the same as upstream's `volsync.backube/v1alpha1` ReplicationDestination. A
destination restores into an existing PVC (`destinationPVC`) or into one the operator creates
(`capacity` + `accessModes`), then publishes the result in `status.latestImage` (the PVC, or a
VolumeSnapshot of it) for the volume populator and for PVCs that name it as their data source.
"""

from __future__ import annotations

from typing import Annotated, Any

import pydantic

from pyvolsync.api import common, resources, wire


class ResticDestinationSpec(common.EngineSpecBase):
    """Restore with restic."""

    destination_pvc: wire.Str | None = None
    """Existing PersistentVolumeClaim to restore into, instead of a created one."""
    cleanup_temp_pvc: wire.Bool | None = None
    """Delete the created volume after each successful restore (not destinationPVC)."""
    cleanup_cache_pvc: wire.Bool | None = None
    """Delete the cache volume after each restore."""
    previous: wire.Int32 | None = None
    """Restore the snapshot this many places before the newest eligible one (default 0)."""
    restore_as_of: (
        Annotated[wire.Str, pydantic.WithJsonSchema({"type": "string", "format": "date-time"})]
        | None
    ) = None
    """Only snapshots taken at or before this RFC 3339 time are eligible."""
    enable_file_deletion: wire.Bool | None = None
    """Delete files in the volume that the snapshot does not have."""


class ReplicationDestinationSpec(wire.FrozenWireModel):
    """Where to restore from, when, and with which mover (exactly one mover section)."""

    trigger: common.Trigger | None = None
    """When to restore."""
    paused: wire.Bool | None = None
    """Hold the mover: no new transfer starts while true."""
    restic: ResticDestinationSpec | None = None
    """Restore with restic (the mover pyvolsync runs)."""
    rsync: wire.PreservedObject | None = None
    """The rsync mover (accepted as data; pyvolsync does not run it)."""
    rsync_tls: wire.PreservedObject | None = None
    """The rsync-TLS mover (accepted as data; pyvolsync does not run it)."""
    rclone: wire.PreservedObject | None = None
    """The rclone mover (accepted as data; pyvolsync does not run it)."""
    external: common.ExternalSpec | None = None
    """Handled by another controller; pyvolsync leaves such objects alone."""

    def mover_sections(self) -> tuple[str, ...]:
        """Return the wire names of the mover sections that are set, in field order."""
        return common.set_sections(self, ("restic", "rsync", "rsync_tls", "rclone"))


class LatestImage(wire.WireModel):
    """The restored data: a PersistentVolumeClaim or a VolumeSnapshot in this namespace."""

    model_config = pydantic.ConfigDict(
        json_schema_extra={wire.KUBE_TYPE_KEY: "TypedLocalObjectReference"}
    )

    api_group: wire.Str | None = None
    kind: wire.Str
    name: wire.Str


class ReplicationDestinationStatus(common.CommonStatus):
    """Observed state of a ReplicationDestination."""

    latest_image: LatestImage | None = None
    """The volume or snapshot holding the latest restored data."""


class ReplicationDestination(wire.WireModel):
    """Restores a restic repository into a volume, once, on a schedule or on demand."""

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
