"""The kubelet: keep one worker per pod bound to this node, and remove deleted pods.

Deleting a pod sends SIGTERM to its containers, SIGKILL after the grace period, and then removes
the pod object (grace 0), as a kubelet does. Scratch directories of pods that no longer exist are
swept, with any process an earlier agent left behind. It also tells the exec endpoint
(``execserver.py``) which process a running container is.
"""

from __future__ import annotations

import asyncio
import collections.abc
import logging
from typing import Any

import lightkube
from lightkube.resources import core_v1
from lightkube.types import PatchType

from localcluster.nodeagent import context, execserver, faults, kube, podworker

LOG = logging.getLogger(__name__)


class Kubelet:
    """Keeps one worker per pod bound to this node, and removes deleted pods."""

    def __init__(self, ctx: context.Context) -> None:
        self.ctx = ctx
        self.workers: dict[str, podworker.PodWorker] = {}
        self.finalizing: dict[str, asyncio.Task[None]] = {}
        self._background: set[asyncio.Task[Any]] = set()
        self.removed: set[str] = set()

    def running_container(self, namespace: str, pod: str, container: str) -> bool:
        for worker in self.workers.values():
            if worker.namespace == namespace and worker.name == pod:
                return any(
                    s.name == container and s.running for s in [*worker.init_states, *worker.states]
                )
        return False

    def exec_target(self, namespace: str, pod: str, container: str) -> execserver.Target:
        """The running container an exec goes into; raise UnavailableError when there is none."""
        worker = next(
            (w for w in self.workers.values() if (w.namespace, w.name) == (namespace, pod)), None
        )
        if worker is None:
            raise execserver.UnavailableError(404, f'pod "{pod}" does not exist on this node')
        states = [*worker.init_states, *worker.states]
        state = next((state for state in states if state.name == container), None)
        if state is None:
            raise execserver.UnavailableError(
                404, f'container "{container}" not found in pod "{pod}"'
            )
        process = state.process
        if not state.running or process is None or process.returncode is not None:
            raise execserver.UnavailableError(
                400, f'container "{container}" in pod "{pod}" is not running'
            )
        plan = worker.directory / "containers" / container / "plan.json"
        return execserver.Target(pid=process.pid, plan=plan)

    async def reconcile(self) -> None:
        present: set[str] = set()
        for pod in self.ctx.caches.pods.values():
            assert pod.metadata is not None and pod.spec is not None
            if pod.spec.nodeName != self.ctx.settings.node_name:
                continue
            uid = pod.metadata.uid or ""
            present.add(uid)
            if pod.metadata.deletionTimestamp:
                if uid not in self.finalizing and uid not in self.removed:
                    self.finalizing[uid] = asyncio.create_task(self.remove(pod))
                continue
            worker = self.workers.get(uid)
            if worker is not None:
                worker.update(pod)
                self.inject_kills(pod, worker)
                if worker.unpublished:
                    worker.in_background(worker.publish())
                continue
            if pod.status is not None and pod.status.phase in {"Succeeded", "Failed"}:
                continue
            worker = podworker.PodWorker(self.ctx, pod)
            self.workers[uid] = worker
            worker.start()
        await self.forget(present)

    def inject_kills(self, pod: core_v1.Pod, worker: podworker.PodWorker) -> None:
        names = faults.containers_to_kill(kube.annotations_of(pod).get(faults.KILL_CONTAINER))
        if not names:
            return
        worker.kill_containers(names)
        assert pod.metadata is not None
        patch = {"metadata": {"annotations": {faults.KILL_CONTAINER: None}}}
        self.in_background(
            self.ctx.client.patch(
                core_v1.Pod,
                kube.name_of(pod),
                patch,
                namespace=pod.metadata.namespace,
                patch_type=PatchType.MERGE,
            )
        )

    def in_background(self, work: collections.abc.Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def forget(self, present: set[str]) -> None:
        """Stop workers of pods that vanished; drop bookkeeping and scratch dirs of gone pods."""
        for uid in list(self.workers):
            if uid not in present and uid not in self.finalizing:
                worker = self.workers.pop(uid)
                await worker.stop(0)
                await kube.remove_tree(self.ctx.settings.layout.pod_dir(uid))
        self.removed &= present
        for uid in [uid for uid, task in self.finalizing.items() if task.done()]:
            del self.finalizing[uid]
        await self.sweep(present)

    async def sweep(self, present: set[str]) -> None:
        """Scratch dirs of pods that no longer exist (e.g. deleted while the agent was down)."""
        pods = self.ctx.settings.layout.root / "pods"
        for directory in pods.iterdir() if pods.is_dir() else []:
            uid = directory.name
            if uid in present or uid in self.workers or uid in self.finalizing:
                continue
            podworker.kill_recorded_processes(directory)
            await kube.remove_tree(directory)

    async def remove(self, pod: core_v1.Pod) -> None:
        """Kill the pod's containers within its grace period, then delete it for good."""
        assert pod.metadata is not None
        uid = pod.metadata.uid or ""
        worker = self.workers.get(uid)
        try:
            if worker is not None:
                grace = pod.metadata.deletionGracePeriodSeconds
                await worker.stop(float(grace if grace is not None else 30))
                if worker.task is not None:
                    await asyncio.wait([worker.task], timeout=5)
                codes = [state.exit_code for state in worker.states]
                await worker.finish("Succeeded" if all(c == 0 for c in codes) else "Failed")
            try:
                await self.ctx.client.delete(
                    core_v1.Pod, kube.name_of(pod), namespace=pod.metadata.namespace, grace_period=0
                )
            except lightkube.ApiError as error:
                if error.status.code != 404:
                    raise
            self.removed.add(uid)
            self.workers.pop(uid, None)
            await kube.remove_tree(self.ctx.settings.layout.pod_dir(uid))
        except Exception:
            LOG.exception("removing pod %s/%s failed", pod.metadata.namespace, pod.metadata.name)

    async def shutdown(self) -> None:
        """Agent exit: stop every container (SIGTERM, then SIGKILL after 5 s)."""
        workers = list(self.workers.values())
        stops = (worker.stop(5.0, announce=False) for worker in workers)
        await asyncio.gather(*stops, return_exceptions=True)
        for worker in workers:
            if worker.task is not None:
                worker.task.cancel()
        await asyncio.gather(*(w.task for w in workers if w.task), return_exceptions=True)
