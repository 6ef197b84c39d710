"""Register the Node and keep it alive (status heartbeat and a Lease in kube-node-lease).

The Node's address is 127.0.0.1 (InternalIP only, so the apiserver never tries to resolve a
hostname) and its kubelet endpoint port is the agent's log server, which is how ``kubectl logs``
reaches the container output and ``kubectl exec`` its containers. The Node declares the
``ExtendWebSocketsToKubelet`` feature, so the API server hands ``kubectl exec``'s v5 WebSocket to
that server unchanged instead of translating it into SPDY (``execserver.py``).
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import os
import platform
import shutil
import uuid
from typing import Any

import httpx2
import lightkube
from lightkube import codecs
from lightkube.resources import coordination_v1, core_v1
from lightkube.types import PatchType

from localcluster.nodeagent import context, envs, scheduler

LOG = logging.getLogger(__name__)
LEASE_SECONDS = 40
RENEW_SECONDS = 10.0
STATUS_EVERY_RENEWALS = 6
KUBELET_VERSION = "v1.36.3-localcluster"
DECLARED_FEATURES = ("ExtendWebSocketsToKubelet",)
"""Node features the API server asks about: v5 exec WebSockets are served by the agent itself."""


def memory_bytes() -> int:
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    return 8 * 2**30


def capacity(ctx: context.Context) -> dict[str, str]:
    disk = shutil.disk_usage(ctx.settings.layout.root)
    return {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{memory_bytes() // 1024}Ki",
        "pods": "110",
        "ephemeral-storage": f"{disk.total // 1024}Ki",
    }


STARTED = context.now_text()


def node_status(ctx: context.Context, *, kubelet_port: int) -> dict[str, Any]:
    """Ready since the agent started; the heartbeat time is now."""
    now = context.now_text()
    ready = {
        "type": "Ready",
        "status": "True",
        "reason": "KubeletReady",
        "message": "localcluster node agent is posting ready status",
        "lastHeartbeatTime": now,
        "lastTransitionTime": STARTED,
    }
    pressure = [
        {
            "type": kind,
            "status": "False",
            "reason": f"KubeletHasNo{kind}",
            "message": "",
            "lastHeartbeatTime": now,
            "lastTransitionTime": STARTED,
        }
        for kind in ("MemoryPressure", "DiskPressure", "PIDPressure")
    ]
    resources = capacity(ctx)
    return {
        "conditions": [ready, *pressure],
        "addresses": [{"type": "InternalIP", "address": envs.NODE_IP}],
        "capacity": resources,
        "allocatable": resources,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
        "declaredFeatures": list(DECLARED_FEATURES),
        "nodeInfo": {
            "machineID": uuid.uuid5(uuid.NAMESPACE_DNS, ctx.settings.node_name).hex,
            "systemUUID": str(uuid.uuid5(uuid.NAMESPACE_DNS, ctx.settings.node_name)),
            "bootID": str(uuid.uuid4()),
            "kernelVersion": platform.release(),
            "osImage": "localcluster node agent",
            "containerRuntimeVersion": "localcluster://1",
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": "amd64",
        },
    }


async def register(ctx: context.Context, *, kubelet_port: int) -> None:
    name = ctx.settings.node_name
    manifest = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": scheduler.node_labels(name)},
    }
    try:
        await ctx.client.create(codecs.from_dict(manifest))
    except lightkube.ApiError as error:
        if error.status.code != 409:
            raise
    await post_status(ctx, kubelet_port=kubelet_port)


async def post_status(ctx: context.Context, *, kubelet_port: int) -> None:
    await ctx.client.patch(
        core_v1.Node.Status,
        ctx.settings.node_name,
        {"status": node_status(ctx, kubelet_port=kubelet_port)},
        patch_type=PatchType.MERGE,
    )


def micro_time() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def renew_lease(ctx: context.Context) -> None:
    name = ctx.settings.node_name
    spec = {
        "holderIdentity": name,
        "leaseDurationSeconds": LEASE_SECONDS,
        "renewTime": micro_time(),
    }
    try:
        await ctx.client.patch(
            coordination_v1.Lease,
            name,
            {"spec": spec},
            namespace="kube-node-lease",
            patch_type=PatchType.MERGE,
        )
    except lightkube.ApiError as error:
        if error.status.code != 404:
            raise
        manifest = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": "kube-node-lease"},
            "spec": spec,
        }
        await ctx.client.create(codecs.from_dict(manifest))


async def heartbeat(ctx: context.Context, *, kubelet_port: int) -> None:
    """Renew the Lease every 10 s and re-post the Ready condition every minute."""
    count = 0
    while True:
        try:
            await renew_lease(ctx)
            if count % STATUS_EVERY_RENEWALS == 0:
                await post_status(ctx, kubelet_port=kubelet_port)
        except (httpx2.HTTPError, OSError) as error:
            LOG.warning("heartbeat failed: %s", error)
        count += 1
        await asyncio.sleep(RENEW_SECONDS)
