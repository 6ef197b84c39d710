"""What every part of the agent shares: settings, the API client, the caches, and Events."""

from __future__ import annotations

import dataclasses
import datetime
import logging
import pathlib
from typing import Any

import httpx2
import lightkube
from lightkube.models import core_v1 as core_models
from lightkube.models import meta_v1
from lightkube.resources import core_v1, storage_v1

from localcluster.nodeagent import classes, informer, layout

LOG = logging.getLogger(__name__)
COMPONENT = "localcluster-nodeagent"


@dataclasses.dataclass(frozen=True)
class Settings:
    node_name: str
    layout: layout.StateLayout
    venv_bin: pathlib.Path
    tool_dirs: tuple[pathlib.Path, ...]
    tool_paths: tuple[str, ...]
    api_host: str
    api_port: str


class Caches:
    """Informers for every resource the controllers read."""

    def __init__(self, client: lightkube.AsyncClient, wake: Any) -> None:
        self.pods = informer.Informer(client, core_v1.Pod, on_change=wake)
        self.claims = informer.Informer(client, core_v1.PersistentVolumeClaim, on_change=wake)
        self.volumes = informer.Informer(client, core_v1.PersistentVolume, on_change=wake)
        self.storage_classes = informer.Informer(client, storage_v1.StorageClass, on_change=wake)
        self.namespaces = informer.Informer(client, core_v1.Namespace, on_change=wake)
        self.snapshots: informer.Informer[Any] = informer.Informer(
            client, classes.VolumeSnapshot, on_change=wake
        )
        self.contents: informer.Informer[Any] = informer.Informer(
            client, classes.VolumeSnapshotContent, on_change=wake
        )
        self.snapshot_classes: informer.Informer[Any] = informer.Informer(
            client, classes.VolumeSnapshotClass, on_change=wake
        )

    def all(self) -> list[informer.Informer[Any]]:
        return [
            self.pods,
            self.claims,
            self.volumes,
            self.storage_classes,
            self.namespaces,
            self.snapshots,
            self.contents,
            self.snapshot_classes,
        ]


@dataclasses.dataclass
class Context:
    settings: Settings
    client: lightkube.AsyncClient
    caches: Caches

    async def event(self, target: Any, reason: str, message: str, *, warning: bool = False) -> None:
        """Record a core/v1 Event about ``target`` (best effort, like a kubelet)."""
        metadata = target.metadata
        now = datetime.datetime.now(datetime.UTC)
        api_version = target.apiVersion or "v1"
        kind = target.kind or type(target).__name__
        namespace = metadata.namespace or "default"
        event = core_v1.Event(
            metadata=meta_v1.ObjectMeta(generateName=f"{metadata.name}.", namespace=namespace),
            involvedObject=core_models.ObjectReference(
                apiVersion=api_version,
                kind=kind,
                name=metadata.name,
                namespace=metadata.namespace,
                uid=metadata.uid,
            ),
            reason=reason,
            message=message[:1024],
            type="Warning" if warning else "Normal",
            source=core_models.EventSource(component=COMPONENT, host=self.settings.node_name),
            firstTimestamp=now,
            lastTimestamp=now,
            count=1,
        )
        try:
            await self.client.create(event)
        except httpx2.HTTPError as error:
            LOG.debug("event %s on %s not recorded: %s", reason, metadata.name, error)


def now_text() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
