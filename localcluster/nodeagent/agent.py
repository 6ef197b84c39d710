"""Wire the node agent together: caches, controllers, the kubelet server, and clean shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pathlib
import signal
import sys
import urllib.parse

import lightkube
from lightkube.config.kubeconfig import KubeConfig

from localcluster.nodeagent import (
    classes,
    context,
    execserver,
    informer,
    kubelet,
    layout,
    logserver,
    node,
    provisioner,
    scheduler,
    snapshots,
)

LOG = logging.getLogger(__name__)
SYNC_TIMEOUT_SECONDS = 60.0


TOOL_VERSIONS = (("restic", "RESTIC_VERSION", "0.18.1"), ("kopia", "KOPIA_VERSION", "0.23.1"))


def default_tool_dirs() -> tuple[pathlib.Path, ...]:
    """The cached restic and kopia directories the movers find on their PATH."""
    cache = os.environ.get("PYVOLSYNC_CACHE") or os.path.expanduser("~/.cache/pyvolsync")
    return tuple(
        pathlib.Path(cache) / f"{tool}-{os.environ.get(variable, version)}"
        for tool, variable, version in TOOL_VERSIONS
    )


def settings_for(
    kubeconfig: KubeConfig,
    *,
    state_dir: pathlib.Path,
    node_name: str,
    tool_dirs: tuple[pathlib.Path, ...],
) -> context.Settings:
    single = kubeconfig.get()
    assert single is not None, "the kubeconfig has no current context"
    server = urllib.parse.urlsplit(single.cluster.server)
    venv_bin = pathlib.Path(sys.prefix) / "bin"
    # The interpreter, the venv, restic, and every import path (an editable install's source
    # tree may sit under /tmp, which containers do not see).
    imports = {path for path in sys.path if path and os.path.isdir(path) and path != "/"}
    tools = {sys.prefix, sys.base_prefix, *map(str, tool_dirs), *imports}
    return context.Settings(
        node_name=node_name,
        layout=layout.StateLayout(state_dir.resolve()),
        venv_bin=venv_bin,
        tool_dirs=tool_dirs,
        tool_paths=tuple(sorted(os.path.realpath(path) for path in tools)),
        api_host=server.hostname or "127.0.0.1",
        api_port=str(server.port or 443),
    )


class Agent:
    def __init__(self, settings: context.Settings, client: lightkube.AsyncClient) -> None:
        self.loops: list[informer.Loop] = []
        self.ctx = context.Context(settings, client, context.Caches(client, self.wake))
        self.kubelet = kubelet.Kubelet(self.ctx)
        self.provisioner = provisioner.Provisioner(self.ctx, on_done=self.wake)
        self.snapshotter = snapshots.Snapshotter(self.ctx, on_done=self.wake)
        self.scheduler = scheduler.Scheduler(self.ctx)
        self.loops = [
            informer.Loop("scheduler", self.scheduler.reconcile),
            informer.Loop("kubelet", self.kubelet.reconcile, period=2.0),
            informer.Loop("provisioner", self.provisioner.reconcile),
            informer.Loop("snapshotter", self.snapshotter.reconcile),
        ]
        self.logs = logserver.LogServer(
            settings.layout,
            node_name=settings.node_name,
            is_running=self.kubelet.running_container,
            routes=execserver.ExecServer(self.kubelet.exec_target).routes(),
        )

    def wake(self) -> None:
        for loop in self.loops:
            loop.wake()

    async def run(self, *, kubelet_port: int, stop: asyncio.Event) -> None:
        self.ctx.settings.layout.create()
        port = await self.logs.start(kubelet_port)
        await node.register(self.ctx, kubelet_port=port)
        await classes.install(self.ctx.client)
        tasks = [asyncio.create_task(cache.run()) for cache in self.ctx.caches.all()]
        tasks.append(asyncio.create_task(node.heartbeat(self.ctx, kubelet_port=port)))
        await asyncio.wait_for(
            asyncio.gather(*(cache.synced.wait() for cache in self.ctx.caches.all())),
            SYNC_TIMEOUT_SECONDS,
        )
        tasks += [asyncio.create_task(loop.run()) for loop in self.loops]
        LOG.info("node %s ready (kubelet port %d)", self.ctx.settings.node_name, port)
        try:
            await stop.wait()
        finally:
            LOG.info("stopping: terminating containers")
            await self.kubelet.shutdown()
            await self.provisioner.tasks.cancel_all()
            await self.snapshotter.tasks.cancel_all()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await self.logs.stop()


async def main(
    *,
    kubeconfig: pathlib.Path,
    state_dir: pathlib.Path,
    node_name: str,
    kubelet_port: int,
    tool_dirs: tuple[pathlib.Path, ...],
) -> None:
    config = KubeConfig.from_file(str(kubeconfig))
    settings = settings_for(config, state_dir=state_dir, node_name=node_name, tool_dirs=tool_dirs)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stop.set)
    client = lightkube.AsyncClient(config, field_manager=classes.FIELD_MANAGER)
    try:
        await Agent(settings, client).run(kubelet_port=kubelet_port, stop=stop)
    finally:
        with contextlib.suppress(Exception):
            await client.close()
