"""The identity a mover pod runs as: a ServiceAccount with its own (empty) Role, as upstream.

Each ReplicationSource and ReplicationDestination gets a ServiceAccount, Role and RoleBinding of
the same name, so a mover never borrows the namespace's default account. The Role grants nothing
unless the namespace allows privileged movers, where it grants the use of OpenShift's
privileged SecurityContextConstraints (harmless elsewhere), again as upstream does.
"""

from __future__ import annotations

from typing import Any

from pyvolsync.planning import metadata

PRIVILEGED_SCC = "volsync-privileged-mover"

JsonObject = dict[str, Any]


def service_account(owner: metadata.Owner, name: str) -> JsonObject:
    """Return the mover's ServiceAccount."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata.object_metadata(owner, name),
    }


def role(owner: metadata.Owner, name: str, *, privileged: bool) -> JsonObject:
    """Return the mover's Role: no rules, or the privileged SCC's use when allowed."""
    rules: list[JsonObject] = []
    if privileged:
        rules.append(
            {
                "apiGroups": ["security.openshift.io"],
                "resources": ["securitycontextconstraints"],
                "resourceNames": [PRIVILEGED_SCC],
                "verbs": ["use"],
            }
        )
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": metadata.object_metadata(owner, name),
        "rules": rules,
    }


def role_binding(owner: metadata.Owner, name: str) -> JsonObject:
    """Return the RoleBinding that gives the mover's ServiceAccount its Role."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": metadata.object_metadata(owner, name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": owner.namespace}],
    }
