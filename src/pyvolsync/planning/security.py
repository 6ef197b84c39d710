"""Who a mover runs as: an ordinary user with no capabilities, unless its namespace opts in.

A mover reads every file of an application's volume and holds the repository's password, so it
gets as little as the job allows. In a namespace without the annotation
``volsync.backube/privileged-movers: "true"`` the mover container is locked down the way the Pod
Security Standards' ``restricted`` profile asks: not root (``runAsNonRoot``; the mover image's
user 65532 unless ``moverSecurityContext`` names another), every capability dropped, no privilege
escalation, a read-only root filesystem and the runtime's default seccomp profile. An opted-in
namespace gets upstream's privileged mover: root with the three capabilities restic needs to
read any file and restore owners and modes (``DAC_OVERRIDE``, ``CHOWN``, ``FOWNER``).

``moverSecurityContext`` is the pod's security context, as upstream; the container's own context
sets only what the pod's leaves open, so a user's ``runAsUser``, ``runAsGroup`` or
``seccompProfile`` always wins, except that root stays reserved to opted-in namespaces
(``root_requested`` lets the operator refuse it with a clear message instead of a pod that never
starts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MOVER_USER = 65532
"""The mover image's user and group (``USER 65532:65532`` in deploy/docker/Dockerfile.mover)."""
PRIVILEGED_CAPABILITIES = ("DAC_OVERRIDE", "CHOWN", "FOWNER")
RUNTIME_DEFAULT_SECCOMP = {"type": "RuntimeDefault"}

JsonObject = dict[str, Any]


def container_security_context(
    *, privileged: bool, pod_context: Mapping[str, Any] | None
) -> JsonObject:
    """Return the mover container's security context, given the pod's (``moverSecurityContext``)."""
    pod = pod_context or {}
    context: JsonObject = {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "privileged": False,
        "readOnlyRootFilesystem": True,
    }
    if "seccompProfile" not in pod:
        context["seccompProfile"] = dict(RUNTIME_DEFAULT_SECCOMP)
    if privileged:
        context["capabilities"]["add"] = list(PRIVILEGED_CAPABILITIES)
        context["runAsUser"] = 0
        return context
    context["runAsNonRoot"] = True
    for field in ("runAsUser", "runAsGroup"):
        if pod.get(field) is None:
            context[field] = MOVER_USER
    return context


def root_requested(pod_context: Mapping[str, Any] | None) -> bool:
    """Return whether ``moverSecurityContext`` asks for user 0 (only opted-in namespaces may)."""
    return (pod_context or {}).get("runAsUser") == 0
