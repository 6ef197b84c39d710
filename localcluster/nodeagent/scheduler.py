"""The scheduler for a one-node cluster: bind each schedulable pod to the agent's node.

A pod is bound (through the ``pods/binding`` subresource, as kube-scheduler does) once its
nodeSelector and required node affinity match the node and each claim it uses exists and is
bound or has a WaitForFirstConsumer class. For those the scheduler first writes the
``volume.kubernetes.io/selected-node`` annotation, which provisioners and volume populators
wait for. Otherwise the pod stays Pending with ``PodScheduled=False, reason=Unschedulable``.
"""

from __future__ import annotations

import logging
from typing import Any

import lightkube
import msgspec
from lightkube.models import core_v1 as core_models
from lightkube.models import meta_v1
from lightkube.resources import core_v1
from lightkube.types import PatchType

from localcluster.nodeagent import context, kube, provisioner

LOG = logging.getLogger(__name__)
SCHEDULER_NAME = "default-scheduler"


def node_labels(node_name: str) -> dict[str, str]:
    return {
        "kubernetes.io/hostname": node_name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
    }


def compare_numbers(label: str | None, values: list[str], sign: int) -> bool:
    """Gt (sign 1) and Lt (sign -1): the label as an integer against the single value."""
    try:
        difference = int(label or "") - int(values[0])
    except (ValueError, IndexError):
        return False
    return difference * sign > 0


def expression_matches(expression: Any, labels: dict[str, str]) -> bool:
    values = list(expression.values or [])
    label = labels.get(expression.key)
    tests = {
        "In": lambda: label is not None and label in values,
        "NotIn": lambda: label is None or label not in values,
        "Exists": lambda: label is not None,
        "DoesNotExist": lambda: label is None,
        "Gt": lambda: compare_numbers(label, values, 1),
        "Lt": lambda: compare_numbers(label, values, -1),
    }
    test = tests.get(expression.operator)
    return test is not None and test()


def node_matches(pod: core_v1.Pod, node_name: str) -> bool:
    """nodeSelector and requiredDuringScheduling node affinity against the single node."""
    assert pod.spec is not None
    labels = node_labels(node_name)
    if any(labels.get(key) != value for key, value in (pod.spec.nodeSelector or {}).items()):
        return False
    affinity = pod.spec.affinity.nodeAffinity if pod.spec.affinity else None
    required = affinity.requiredDuringSchedulingIgnoredDuringExecution if affinity else None
    if required is None:
        return True
    fields = {"metadata.name": node_name}
    for term in required.nodeSelectorTerms:
        label_ok = all(expression_matches(e, labels) for e in term.matchExpressions or [])
        field_ok = all(expression_matches(e, fields) for e in term.matchFields or [])
        if label_ok and field_ok:
            return True
    return False


def claim_names(pod: core_v1.Pod) -> list[str]:
    assert pod.spec is not None
    return [
        volume.persistentVolumeClaim.claimName
        for volume in pod.spec.volumes or []
        if volume.persistentVolumeClaim is not None
    ]


class Scheduler:
    def __init__(self, ctx: context.Context) -> None:
        self.ctx = ctx
        self.reported: dict[str, str] = {}

    async def reconcile(self) -> None:
        for pod in self.ctx.caches.pods.values():
            assert pod.metadata is not None and pod.spec is not None
            if pod.spec.nodeName or pod.metadata.deletionTimestamp:
                continue
            if (pod.spec.schedulerName or SCHEDULER_NAME) != SCHEDULER_NAME:
                continue
            if pod.status is not None and pod.status.phase in {"Succeeded", "Failed"}:
                continue
            await self.schedule(pod)

    def unschedulable_reason(self, pod: core_v1.Pod) -> str | None:
        assert pod.metadata is not None
        if not node_matches(pod, self.ctx.settings.node_name):
            return "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."
        for name in claim_names(pod):
            claim = self.ctx.caches.claims.get(name, pod.metadata.namespace or "")
            if claim is None:
                return f'persistentvolumeclaim "{name}" not found'
            if claim.metadata is not None and claim.metadata.deletionTimestamp:
                return f'persistentvolumeclaim "{name}" is being deleted'
            if claim.spec is not None and not claim.spec.volumeName and not self.waits(claim):
                return "0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims."
        return None

    def waits(self, claim: core_v1.PersistentVolumeClaim) -> bool:
        """True for an unbound claim whose class binds at first consumer."""
        assert claim.spec is not None
        storage_class = self.ctx.caches.storage_classes.get(claim.spec.storageClassName or "")
        return (
            storage_class is not None and storage_class.volumeBindingMode == "WaitForFirstConsumer"
        )

    async def schedule(self, pod: core_v1.Pod) -> None:
        assert pod.metadata is not None and pod.metadata.name is not None
        namespace, name = pod.metadata.namespace or "", pod.metadata.name
        reason = self.unschedulable_reason(pod)
        if reason is not None:
            await self.report_unschedulable(pod, reason)
            return
        for claim_name in claim_names(pod):
            claim = self.ctx.caches.claims.get(claim_name, namespace)
            if claim is not None and claim.spec is not None and not claim.spec.volumeName:
                await self.select_node(claim)
        binding = core_v1.Binding(
            metadata=meta_v1.ObjectMeta(name=name, namespace=namespace),
            target=core_models.ObjectReference(kind="Node", name=self.ctx.settings.node_name),
        )
        try:
            await self.ctx.client.create(binding)
        except lightkube.ApiError as error:
            if error.status.code in {404, 409}:
                return
            raise
        except msgspec.ValidationError:
            pass  # the API answers a Binding with a Status, which lightkube cannot decode
        self.reported.pop(pod.metadata.uid or "", None)
        message = f"Successfully assigned {namespace}/{name} to {self.ctx.settings.node_name}"
        await self.ctx.event(pod, "Scheduled", message)

    async def select_node(self, claim: core_v1.PersistentVolumeClaim) -> None:
        assert claim.metadata is not None
        annotations = claim.metadata.annotations or {}
        if annotations.get(provisioner.SELECTED_NODE) == self.ctx.settings.node_name:
            return
        patch = {
            "metadata": {"annotations": {provisioner.SELECTED_NODE: self.ctx.settings.node_name}}
        }
        await self.ctx.client.patch(
            core_v1.PersistentVolumeClaim,
            kube.name_of(claim),
            patch,
            namespace=claim.metadata.namespace,
            patch_type=PatchType.MERGE,
        )

    async def report_unschedulable(self, pod: core_v1.Pod, reason: str) -> None:
        assert pod.metadata is not None
        uid = pod.metadata.uid or ""
        if self.reported.get(uid) == reason:
            return
        self.reported[uid] = reason
        condition = {
            "type": "PodScheduled",
            "status": "False",
            "reason": "Unschedulable",
            "message": reason,
            "lastTransitionTime": context.now_text(),
        }
        await self.ctx.client.patch(
            core_v1.Pod.Status,
            kube.name_of(pod),
            {"status": {"conditions": [condition]}},
            namespace=pod.metadata.namespace,
            patch_type=PatchType.STRATEGIC,
        )
        await self.ctx.event(pod, "FailedScheduling", reason, warning=True)
