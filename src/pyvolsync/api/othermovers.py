"""The sections of the movers pyvolsync does not run: rsync, rsync-TLS, rclone and syncthing.

pyvolsync stores these sections and reports the object as using a mover it does not run; it
never acts on their values. They are still modelled field for field, with upstream's names,
types and bounds, because the CRDs are generated from the models: that way the API server
accepts exactly the manifests upstream's CRDs accept and refuses the ones they refuse (a port
out of range, a copy method upstream does not know, a syncthing peer without an ID), and an
object moved between the two keeps every field.
"""

from __future__ import annotations

from typing import Annotated

import pydantic

from pyvolsync.api import common, wire

# A TCP port as upstream bounds it.
Port = Annotated[wire.Int32, pydantic.Field(ge=0, le=65535)]


class RsyncConnection(wire.FrozenWireModel):
    """Where an rsync-over-SSH mover connects and as whom."""

    ssh_keys: wire.Str | None = None
    """Secret with the SSH keys; generated when unset."""
    service_type: wire.Str | None = None
    """Type of the Service that receives incoming SSH connections."""
    address: wire.Str | None = None
    """Remote address to connect to."""
    port: Port | None = None
    """Remote SSH port (22 when unset)."""
    path: wire.Str | None = None
    """Unused; upstream ignores it."""
    ssh_user: wire.Str | None = None
    """User of outgoing SSH connections (root when unset)."""


class RsyncSourceSpec(common.VolumeOptions, common.BasicMoverConfig, RsyncConnection):
    """Replicate with rsync over SSH (not run by pyvolsync)."""


class RsyncDestinationSpec(
    common.DestinationVolumeOptions, common.BasicMoverConfig, RsyncConnection
):
    """Receive with rsync over SSH (not run by pyvolsync)."""

    volume_mode: wire.Str | None = None
    """Volume mode of the volume the operator creates (Filesystem when unset)."""
    service_annotations: wire.StringMap | None = None
    """Annotations of the Service that receives incoming SSH connections."""


class RsyncTLSSourceSpec(common.VolumeOptions, common.MoverConfig):
    """Replicate with rsync over TLS (not run by pyvolsync)."""

    key_secret: wire.Str | None = None
    """Secret with the TLS pre-shared key; generated when unset."""
    address: wire.Str | None = None
    """Remote address to connect to."""
    port: Port | None = None
    """Remote port (8000 when unset)."""


class RsyncTLSDestinationSpec(common.DestinationVolumeOptions, common.MoverConfig):
    """Receive with rsync over TLS (not run by pyvolsync)."""

    volume_mode: wire.Str | None = None
    """Volume mode of the volume the operator creates (Filesystem when unset)."""
    key_secret: wire.Str | None = None
    """Secret with the TLS pre-shared key; generated when unset."""
    service_type: wire.Str | None = None
    """Type of the Service that receives incoming TLS connections."""
    service_annotations: wire.StringMap | None = None
    """Annotations of the Service that receives incoming TLS connections."""


class RcloneSettings(common.MoverConfig):
    """The rclone remote to copy to or from."""

    rclone_config_section: wire.Str | None = None
    """Section of the rclone configuration file to use."""
    rclone_dest_path: wire.Str | None = None
    """Path on the remote."""
    rclone_config: wire.Str | None = None
    """Secret holding the rclone configuration file."""
    custom_ca: common.CustomCA | None = None
    """CA certificate to trust when talking to the remote."""


class RcloneSourceSpec(common.VolumeOptions, RcloneSettings):
    """Copy to an rclone remote (not run by pyvolsync)."""


class RcloneDestinationSpec(common.DestinationVolumeOptions, RcloneSettings):
    """Copy from an rclone remote (not run by pyvolsync)."""


class SyncthingPeer(wire.FrozenWireModel):
    """A Syncthing device to share the volume with."""

    address: wire.Str
    """Address the local Syncthing connects to."""
    id: wire.Str = pydantic.Field(alias="ID")
    """The peer's device ID."""
    introducer: wire.Bool
    """Whether this peer introduces other peers sharing the volume."""


class SyncthingSourceSpec(common.MoverConfig):
    """Keep the volume in sync with Syncthing peers (not run by pyvolsync)."""

    peers: list[SyncthingPeer] | None = None
    """Peers to connect to."""
    service_type: wire.Str | None = None
    """Type of the Service that exposes the local Syncthing."""
    config_capacity: wire.Quantity | None = None
    """Size of the Syncthing configuration volume."""
    config_storage_class_name: wire.Str | None = None
    """StorageClass of the Syncthing configuration volume."""
    config_access_modes: list[wire.Str] | None = None
    """Access modes of the Syncthing configuration volume."""


class RsyncStatus(wire.WireModel):
    """What an rsync mover published: its keys and where it listens."""

    ssh_keys: wire.Str | None = None
    """Secret with the SSH keys in use."""
    address: wire.Str | None = None
    """Address that receives incoming connections."""
    port: wire.Int32 | None = None
    """Port that receives incoming connections."""


class RsyncTLSSourceStatus(wire.WireModel):
    """What an rsync-TLS source published."""

    key_secret: wire.Str | None = None
    """Secret with the TLS pre-shared key in use."""


class RsyncTLSDestinationStatus(RsyncTLSSourceStatus):
    """What an rsync-TLS destination published: its key and where it listens."""

    address: wire.Str | None = None
    """Address that receives incoming connections."""
    port: wire.Int32 | None = None
    """Port that receives incoming connections."""


class SyncthingPeerStatus(wire.WireModel):
    """The state of one Syncthing peer."""

    address: wire.Str
    """The peer's address."""
    id: wire.Str = pydantic.Field(alias="ID")
    """The peer's device ID."""
    connected: wire.Bool
    """Whether the peer is connected now."""
    introduced_by: wire.Str | None = None
    """Device ID of the peer that introduced this one."""
    name: wire.Str | None = None
    """A friendly name of the device."""


class SyncthingSourceStatus(wire.WireModel):
    """The state of the local Syncthing device and its peers."""

    peers: list[SyncthingPeerStatus] | None = None
    """Peers and whether they are connected."""
    id: wire.Str | None = pydantic.Field(default=None, alias="ID")
    """Device ID of the local Syncthing."""
    address: wire.Str | None = None
    """Address where the local Syncthing is exposed."""
