"""Kubeconfigs that log in as a ServiceAccount, for tests of what a less privileged user sees.

The admin kubeconfig of the local cluster names the API server and its CA; these reuse that and
log in with a fresh token of the account instead (``kubectl create token``), as a user given a
ServiceAccount's kubeconfig would.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from localcluster import controlplane
from localcluster.testing import apply

TOKEN_DURATION = "12h"
"""Long enough for a whole test session."""


def for_account(
    plane: controlplane.ControlPlane,
    account: str,
    namespace: str,
    path: Path,
    *,
    context_namespace: str | None = None,
) -> Path:
    """Write a kubeconfig at ``path`` that logs in as ServiceAccount ``namespace/account``,
    its context's namespace ``context_namespace`` (None: none, as kubectl's default)."""
    token = token_of(plane, account, namespace)
    admin = yaml.safe_load(plane.kubeconfig.read_text())
    context = {"cluster": "local", "user": account}
    if context_namespace:
        context["namespace"] = context_namespace
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "local", "context": context}],
        "current-context": "local",
    }
    path.write_text(json.dumps(config))
    path.chmod(0o600)
    return path


def token_of(plane: controlplane.ControlPlane, account: str, namespace: str) -> str:
    """Return a fresh token of ServiceAccount ``namespace/account``."""
    return plane.kubectl(
        "create", "token", account, "-n", namespace, f"--duration={TOKEN_DURATION}"
    ).stdout.strip()


def grant(
    plane: controlplane.ControlPlane, account: str, namespace: str, rules: list[dict[str, Any]]
) -> None:
    """Create ServiceAccount ``account`` in ``namespace`` with a Role of ``rules`` (both named
    ``account``)."""
    rbac = "rbac.authorization.k8s.io/v1"
    role = {"apiVersion": rbac, "kind": "Role", "metadata": {"name": account}, "rules": rules}
    binding = {
        "apiVersion": rbac,
        "kind": "RoleBinding",
        "metadata": {"name": account},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": account},
        "subjects": [{"kind": "ServiceAccount", "name": account, "namespace": namespace}],
    }
    service_account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": account}}
    apply(plane, service_account, role, binding, namespace=namespace)


def for_role(
    plane: controlplane.ControlPlane,
    account: str,
    namespace: str,
    rules: list[dict[str, Any]],
    path: Path,
    *,
    context_namespace: str | None = None,
) -> Path:
    """Create ServiceAccount ``account`` in ``namespace`` with a Role of ``rules`` (both named
    ``account``) and write a kubeconfig that logs in as it."""
    grant(plane, account, namespace, rules)
    return for_account(plane, account, namespace, path, context_namespace=context_namespace)
