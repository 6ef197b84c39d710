"""Wait for an object's condition, the one way the demo, the local cluster and the tests do it.

`kubectl wait --for=condition=X` fails at once ("status.conditions accessor error") when the
object has no conditions yet, which is how every CRD, Job and Pod starts: a race the demo lost
on a fresh machine. `wait_for_condition` polls with a deadline instead and reads an absent
object, an absent or null status and an empty conditions list all as "not yet". Where a
condition means the wait can never succeed (a Job's Failed), it stops at once and says why.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Mapping
from typing import Any

POLL_SECONDS = 0.25
DEFAULT_TIMEOUT_SECONDS = 60.0
KUBECTL_TIMEOUT_SECONDS = 30.0

# The condition whose truth ends a wait for another one of the same kind for good.
HOPELESS = {("job", "Complete"): "Failed", ("job", "SuccessCriteriaMet"): "Failed"}

Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


class WaitError(RuntimeError):
    """The condition did not become true in time, or can no longer become true."""


def condition_of(document: Mapping[str, Any] | None, kind: str) -> Mapping[str, Any] | None:
    """The condition of type ``kind`` in ``document``'s status, None when it has none (yet)."""
    status = (document or {}).get("status") or {}
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == kind:
            return condition
    return None


def is_true(document: Mapping[str, Any] | None, kind: str) -> bool:
    """Whether ``document`` has condition ``kind`` with status True."""
    condition = condition_of(document, kind)
    return condition is not None and condition.get("status") == "True"


def read(kubectl: Kubectl, resource: str, name: str, namespace: str) -> dict[str, Any] | None:
    """The object as a dict, or None while it does not exist."""
    scope = ["-n", namespace] if namespace else []
    result = kubectl(
        "get", resource, name, *scope, "-o", "json", check=False, timeout=KUBECTL_TIMEOUT_SECONDS
    )
    if result.returncode != 0:
        if "NotFound" in result.stderr:
            return None
        raise WaitError(f"kubectl get {resource}/{name} failed: {result.stderr.strip()}")
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def wait_for_condition(
    kubectl: Kubectl,
    resource: str,
    name: str,
    condition: str,
    *,
    namespace: str = "",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> dict[str, Any]:
    """Wait until ``resource``/``name`` has ``condition``=True; return the object.

    ``resource`` is what kubectl takes (``crd``, ``job``, ``pod``...). ``kubectl`` is a
    ``ControlPlane.kubectl``-like callable. Raises WaitError on timeout, naming the object and
    its conditions at the end, or at once when a hopeless condition (a Job's Failed) is true.
    """
    hopeless = HOPELESS.get((resource.split(".", maxsplit=1)[0].rstrip("s"), condition))
    deadline = time.monotonic() + timeout
    found: dict[str, Any] | None = None
    while True:
        found = read(kubectl, resource, name, namespace)
        if is_true(found, condition):
            assert found is not None
            return found
        if hopeless and is_true(found, hopeless):
            failed = condition_of(found, hopeless) or {}
            raise WaitError(
                f"{resource}/{name} will not become {condition}: {hopeless} "
                f"({failed.get('reason', '')}: {failed.get('message', '')})"
            )
        if time.monotonic() >= deadline:
            raise WaitError(
                f"timed out after {timeout:.0f} s waiting for {resource}/{name} to be "
                f"{condition}; {_describe(found)}"
            )
        time.sleep(POLL_SECONDS)


def wait_for_all(
    kubectl: Kubectl,
    resource: str,
    names: list[str],
    condition: str,
    *,
    namespace: str = "",
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> None:
    """``wait_for_condition`` for each of ``names``, within one deadline for them all."""
    deadline = time.monotonic() + timeout
    for name in names:
        remaining = max(deadline - time.monotonic(), POLL_SECONDS)
        wait_for_condition(
            kubectl, resource, name, condition, namespace=namespace, timeout=remaining
        )


def _describe(found: Mapping[str, Any] | None) -> str:
    if found is None:
        return "it does not exist"
    conditions = (found.get("status") or {}).get("conditions") or []
    if not conditions:
        return "it has no conditions yet"
    listed = ", ".join(f"{item.get('type')}={item.get('status')}" for item in conditions)
    return f"its conditions: {listed}"
